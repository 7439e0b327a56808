"""`gatekeeper geoip lookup|update`: what gatekeeper decides for an address, and a fresh
database from MaxMind.

Exit codes follow the `gatekeeper` command: 0 ok, 1 failed, 2 usage or configuration
error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from ..geo.anonymous import AnonymousReader, open_anonymous
from ..geo.reader import GeoDatabaseError, GeoReader
from ..geo.update import (
    Credentials,
    TerminalProgress,
    UpdateError,
    check_edition,
    edition_from_path,
    update_database,
)
from ..geoblock import decide_address
from ..net import parse_ip
from ..policy import Policy, PolicyError, load_policy
from .common import OK, USAGE, Subcommands, Usage

FAILED = 1


def register(commands: Subcommands) -> None:
    """Add `geoip lookup` and `geoip update` to the `gatekeeper` command's subparsers."""
    geoip = commands.add_parser("geoip", help="look addresses up; update the GeoIP database")
    actions = geoip.add_subparsers(dest="geoip_command", required=True, metavar="ACTION")

    lookup = actions.add_parser("lookup", help="what gatekeeper decides for an address")
    lookup.add_argument("ip", metavar="IP")
    lookup.add_argument("--policy", required=True, metavar="FILE")
    lookup.add_argument("--path", default="/", help="request path the rules are checked for")
    lookup.add_argument("--json", action="store_true", help="print the answer as JSON")
    lookup.set_defaults(func=cmd_lookup)

    update = actions.add_parser(
        "update",
        help="download the configured database from MaxMind "
        "(MAXMIND_ACCOUNT_ID and MAXMIND_LICENSE_KEY in the environment)",
    )
    update.add_argument("--policy", required=True, metavar="FILE")
    update.add_argument(
        "--edition",
        help="MaxMind edition id (default: the configured file's name), e.g. GeoLite2-City",
    )
    update.add_argument(
        "--anonymous", action="store_true", help="update geoip.anonymous_database instead"
    )
    update.set_defaults(func=cmd_update)


def _load(path: str) -> Policy:
    # These commands need no secrets, and often run where they are not set (cron, a
    # laptop): unset variables get placeholders instead of failing the load.
    try:
        return load_policy(path, placeholders=set())
    except PolicyError as exc:
        raise Usage(str(exc)) from None


def _fail(command: str, message: str, code: int) -> int:
    print(f"gatekeeper geoip {command}: {message}", file=sys.stderr)
    return code


# --- lookup --------------------------------------------------------------------------------


def cmd_lookup(args: argparse.Namespace) -> int:
    try:
        answer = lookup(_load(args.policy), args.ip, args.path)
    except Usage as exc:
        return _fail("lookup", str(exc), USAGE)
    if args.json:
        print(json.dumps(answer, indent=2))
    else:
        width = max(len(key) for key in answer) + 2
        for key, value in answer.items():
            print(f"{key:<{width}}{_show(value)}")
    return OK


def lookup(policy: Policy, address: str, path: str = "/") -> dict[str, Any]:
    """The location of `address` and the country rules' decision, as the server makes it."""
    ip = parse_ip(address)
    if ip is None:
        raise Usage(f"{address!r} is not an IP address")
    if not path.startswith("/"):
        raise Usage(f"--path {path!r} must start with '/'")
    geo = _open_location(policy)
    anonymous = _open_anonymous(policy) if policy.geoblock.anonymous == "block" else None
    try:
        location = geo.lookup(ip) if geo is not None else None
        decision = decide_address(policy, ip, location, anonymous, path)
        return {
            "address": str(ip),
            "database": _describe(geo, policy.geoip.database),
            "country": location.country if location else None,
            "subdivision": location.subdivision if location else None,
            "anonymous": anonymous.is_anonymous(ip) if anonymous is not None else None,
            "path": path,
            "rule": decision.rule,
            "blocked": decision.blocked,
            "status": policy.geoblock.status if decision.blocked else None,
        }
    finally:
        for reader in (geo, anonymous):
            if reader is not None:
                reader.close()


def _open_location(policy: Policy) -> GeoReader | None:
    config = policy.geoip
    if config.database is None:
        return None
    try:
        return GeoReader(config.database, cache_size=0)
    except GeoDatabaseError as exc:
        if config.on_missing == "error":
            raise Usage(f"{exc} (geoip.on_missing: error, so the server would not start)") from None
        return None  # as the server runs: every location unknown


def _open_anonymous(policy: Policy) -> AnonymousReader | None:
    try:
        return open_anonymous(policy.geoip)
    except GeoDatabaseError as exc:
        raise Usage(f"{exc} (geoip.on_missing: error, so the server would not start)") from None


def _describe(geo: GeoReader | None, configured: Path | None) -> str:
    if configured is None:
        return "none configured"
    if geo is None:
        return f"{configured} unavailable (geoip.on_missing applies)"
    return f"{configured} ({geo.database_type})"


def _show(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


# --- update --------------------------------------------------------------------------------


def cmd_update(args: argparse.Namespace) -> int:
    try:
        policy = _load(args.policy)
        setting = "geoip.anonymous_database" if args.anonymous else "geoip.database"
        target = policy.geoip.anonymous_database if args.anonymous else policy.geoip.database
        if target is None:
            raise Usage(f"{setting} is not set in {args.policy}")
        edition = check_edition(args.edition) if args.edition else edition_from_path(target)
        credentials = Credentials.from_env(os.environ)
    except (Usage, UpdateError) as exc:
        return _fail("update", str(exc), USAGE)
    progress = TerminalProgress(sys.stderr, edition) if sys.stderr.isatty() else None
    try:
        updated = update_database(target, edition, credentials, progress=progress)
    except UpdateError as exc:
        return _fail("update", str(exc), FAILED)
    print(
        f"{updated.path}: {updated.database_type} built {updated.built:%Y-%m-%d %H:%M} UTC, "
        f"{updated.size / 1e6:.1f} MB, sha256 {updated.sha256}; running servers pick it up "
        f"within geoip.check_interval ({policy.geoip.check_interval:g} s)"
    )
    return OK
