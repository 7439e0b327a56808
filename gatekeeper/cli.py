"""The `gatekeeper` command. Exit codes: 0 ok, 1 findings, 2 usage or configuration error."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from .adblock.cli import register as register_adblock
from .audit.cli import register as register_audit
from .counters.cli import register as register_counts
from .geo.cli import register as register_geoip
from .geoblock import decide_address, geo_findings
from .i18n.coverage import language_findings
from .policy import LoadedPolicy, PolicyError, PolicyIssue, load_policy, read_policy
from .policy.schema import Policy
from .startup import startup_findings
from .tcf.cli import register as register_tcf

OK, FINDINGS, USAGE = 0, 1, 2


def cmd_check(args: argparse.Namespace) -> int:
    # Checks usually run where the deployment's secrets are not (a laptop, a lint job), so
    # unset variables are noted, not failed, unless --require-env.
    status = OK
    for file in args.files:
        placeholders: set[str] | None = None if args.require_env else set()
        try:
            loaded = read_policy(file, placeholders=placeholders)
        except PolicyError as exc:
            for issue in exc.issues:
                print(issue)
            status = FINDINGS
            continue
        errors: list[PolicyIssue] = []
        if not args.policy_only:
            found = startup_findings(loaded)
            errors = found.errors
            for warning in found.warnings:
                print(f"{warning.file}:{warning.line}:{warning.column}: "
                      f"{warning.path}: warning: {warning.message}")  # fmt: skip
            if not errors and not found.unopened:
                errors = _start(loaded)
        for issue in errors:
            print(issue)
        findings = [f"{file}: {finding}" for finding in geo_findings(loaded.policy)]
        findings += [str(issue) for issue in language_findings(loaded)]
        for finding in findings:
            print(finding)
        if errors or findings:
            status = FINDINGS
            continue
        note = ""
        if placeholders:
            note = f" (checked with placeholders for unset {', '.join(sorted(placeholders))})"
        print(f"{file}: ok{note}")
    return status


def _start(loaded: LoadedPolicy) -> list[PolicyIssue]:
    """Build the middleware as the app's start-up does, and say if that fails."""
    from .middleware import Gatekeeper

    async def no_app(scope: object, receive: object, send: object) -> None:
        """Never called: only the start-up is checked."""

    quiet = logging.getLogger("gatekeeper")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # warnings were printed above, with their positions
    try:
        Gatekeeper(no_app, policy=loaded.policy)
    except PolicyError as exc:  # given a Policy, the middleware cannot name the file
        return [replace(i, file=loaded.source) if i.file == "<policy>" else i for i in exc.issues]
    finally:
        quiet.setLevel(level)
    return []


def cmd_schema(args: argparse.Namespace) -> int:
    print(json.dumps(Policy.model_json_schema(), indent=2))
    return OK


def _policy_or_exit(path: str) -> Policy:
    try:
        return load_policy(path)
    except PolicyError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(USAGE) from None


def served_app() -> object:
    """The app `gatekeeper serve --workers N` runs in each worker process (a uvicorn
    factory): the app and policy named on the command line, wrapped."""
    from uvicorn.importer import import_from_string

    from .middleware import Gatekeeper

    sys.path.insert(0, os.getcwd())
    app = import_from_string(os.environ["GATEKEEPER_SERVE_APP"])
    return Gatekeeper(app, policy=os.environ["GATEKEEPER_SERVE_POLICY"])


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn
    from uvicorn.importer import ImportFromStringError, import_from_string

    from .middleware import Gatekeeper

    _policy_or_exit(args.policy)
    sys.path.insert(0, os.getcwd())
    try:
        app = import_from_string(args.app)
    except ImportFromStringError as exc:
        print(f"gatekeeper serve: {exc}", file=sys.stderr)
        return USAGE
    try:
        wrapped = Gatekeeper(app, policy=args.policy)
    except PolicyError as exc:  # what the policy names cannot be used: one line each
        print(exc, file=sys.stderr)
        return USAGE
    print(f"gatekeeper: serving {args.app} on http://{args.host}:{args.port}/", flush=True)
    # gatekeeper decides the client address from policy.trusted_proxies; uvicorn's own
    # proxy-header handling would rewrite it first, from a trust list we don't control.
    options = {"host": args.host, "port": args.port, "proxy_headers": False, "log_level": "info"}
    if args.workers > 1:
        # Worker processes import the app themselves: they find it through these.
        os.environ["GATEKEEPER_SERVE_APP"] = args.app
        os.environ["GATEKEEPER_SERVE_POLICY"] = str(Path(args.policy).resolve())
        uvicorn.run("gatekeeper.cli:served_app", factory=True, workers=args.workers, **options)
        return OK
    uvicorn.run(wrapped, **options)
    return OK


def cmd_demo(args: argparse.Namespace) -> int:
    import uvicorn

    from .demo import prepare_demo

    try:
        app, policy_path = prepare_demo(Path(args.data), tcf=args.tcf)
    except (PolicyError, OSError) as exc:
        print(f"gatekeeper demo: {exc}", file=sys.stderr)
        return USAGE
    print(f"gatekeeper demo: data and effective policy in {policy_path.parent}", flush=True)
    print(f"gatekeeper demo: open http://{args.host}:{args.port}/", flush=True)
    if args.tcf:
        print(
            "gatekeeper demo: IAB TCF on with the UNREGISTERED test CMP id 4095 and a made-up "
            f"vendor list; vendor tags at http://{args.host}:{args.port}/partners",
            flush=True,
        )
    uvicorn.run(app, host=args.host, port=args.port, proxy_headers=False, log_level="info")
    return OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gatekeeper",
        description="Consent, adblock detection, country blocks and notices for ASGI apps.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="run the demo news site wrapped by gatekeeper")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument(
        "--data", default="gatekeeper-demo-data", help="folder for the log, keys and policy"
    )
    demo.add_argument(
        "--tcf",
        action="store_true",
        help="turn on IAB TCF and GPP with an unregistered test CMP id and a made-up vendor list",
    )
    demo.set_defaults(func=cmd_demo)

    serve = commands.add_parser("serve", help="run an ASGI app wrapped by gatekeeper (uvicorn)")
    serve.add_argument("app", metavar="MODULE:APP")
    serve.add_argument("--policy", required=True, metavar="FILE")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers", type=int, default=1, metavar="N", help="worker processes (default 1)"
    )
    serve.set_defaults(func=cmd_serve)

    check = commands.add_parser(
        "check", help="validate policy files and open what they name, as start-up does"
    )
    check.add_argument("files", nargs="+", metavar="FILE")
    check.add_argument(
        "--require-env",
        action="store_true",
        help="treat unset ${VARIABLES} as errors (run where the deployment's env is set)",
    )
    check.add_argument(
        "--policy-only",
        action="store_true",
        help="check the file alone; do not open the databases, key, log folder and "
        "templates it names (for a lint job away from the deployment)",
    )
    check.set_defaults(func=cmd_check)

    schema = commands.add_parser("schema", help="print the policy's JSON Schema")
    schema.set_defaults(func=cmd_schema)

    register_audit(commands)
    register_geoip(commands, rules=decide_address)
    register_adblock(commands)
    register_tcf(commands)
    register_counts(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
