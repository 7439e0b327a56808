"""`gatekeeper serve` and `gatekeeper demo`: an ASGI app wrapped by gatekeeper, under
uvicorn (the `server` extra)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ..policy import PolicyError, load_policy
from ..policy.schema import Policy
from .common import OK, USAGE, Subcommands


def _uvicorn() -> Any:
    try:
        import uvicorn
    except ImportError:
        print(
            "gatekeeper: serving needs uvicorn: pip install 'gatekeeper[server]'",
            file=sys.stderr,
        )
        raise SystemExit(USAGE) from None
    return uvicorn


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

    from ..middleware import Gatekeeper

    sys.path.insert(0, os.getcwd())
    app = import_from_string(os.environ["GATEKEEPER_SERVE_APP"])
    return Gatekeeper(app, policy=os.environ["GATEKEEPER_SERVE_POLICY"])


def cmd_serve(args: argparse.Namespace) -> int:
    uvicorn = _uvicorn()
    from uvicorn.importer import ImportFromStringError, import_from_string

    from ..middleware import Gatekeeper

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
        uvicorn.run(
            "gatekeeper.cli.serve:served_app", factory=True, workers=args.workers, **options
        )
        return OK
    uvicorn.run(wrapped, **options)
    return OK


def cmd_demo(args: argparse.Namespace) -> int:
    uvicorn = _uvicorn()

    from ..demo import prepare_demo

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


def register(commands: Subcommands) -> None:
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
