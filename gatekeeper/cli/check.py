"""`gatekeeper check` and `gatekeeper schema`: is a policy file good, and what may it say.

`check` loads each file as start-up does and then opens what it names (GeoIP readers,
the consent log's folder, the signing key, templates), so a policy `check` passes is one
the app starts with; it also warns about country rules that cannot work as written and
texts missing for a listed language.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import replace

from ..geoblock import geo_findings
from ..policy import LoadedPolicy, PolicyError, PolicyIssue, read_policy
from ..policy.schema import Policy
from ..startup import startup_findings
from .common import FINDINGS, OK, Subcommands
from .languages import language_findings


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
    from ..middleware import Gatekeeper

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


def register(commands: Subcommands) -> None:
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
