"""`gatekeeper counts`: country blocks and GPC signals, added up across every process and
host that writes to the policy's database.

Exit codes: 0 ok, 1 nothing recorded (for the filters given), 2 usage or configuration
error (bad policy, unreachable or missing database). Adblock counts have their own
command, `gatekeeper adblock stats`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import date
from typing import Any

from ..consent import GPC_SIGNALS
from ..geoblock import BLOCKS
from ..policy import PolicyError, load_policy
from .store import Filter, Row, StoreUnavailable, open_counter_store

OK, FINDINGS, USAGE = 0, 1, 2
GPC_KINDS = ("pending", "recorded", "deferred")


def _day(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date such as 2026-11-01") from None


def gpc_rows(rows: list[Row]) -> list[dict[str, Any]]:
    """One row per (day, country): how many GPC signals were pending, recorded, deferred."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for day, country, kind, count in rows:
        row = out.setdefault(
            (day, country), {"day": day, "country": country or "-", **dict.fromkeys(GPC_KINDS, 0)}
        )
        row[kind] = row.get(kind, 0) + count
    return list(out.values())


def _table(title: str, header: list[str], rows: list[list[str]]) -> str:
    lines = [header, *rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = [title]
    for line in lines:
        cells = [
            cell.rjust(width) if cell.isdigit() else cell.ljust(width)
            for cell, width in zip(line, widths, strict=True)
        ]
        out.append("  ".join(cells).rstrip())
    return "\n".join(out)


def cmd_counts(args: argparse.Namespace) -> int:
    try:
        policy = load_policy(args.policy)
        store = open_counter_store(policy.audit.store, create=False)
    except (PolicyError, ValueError) as exc:
        print(f"gatekeeper counts: {exc}", file=sys.stderr)
        return USAGE
    where = Filter(since=args.since, until=args.until, country=args.country)

    async def read() -> tuple[list[Row], list[Row]]:
        return await store.rows(BLOCKS, where), await store.rows(GPC_SIGNALS, where)

    try:
        blocks, signals = asyncio.run(read())
    except StoreUnavailable as exc:
        print(f"gatekeeper counts: {exc}", file=sys.stderr)
        return USAGE
    blocked = [{"day": d, "country": c or "-", "rule": r, "requests": n} for d, c, r, n in blocks]
    gpc = gpc_rows(signals)
    if args.json:
        print(json.dumps({"blocked": blocked, "gpc": gpc}, indent=2))
    elif blocked or gpc:
        sections = []
        if blocked:
            rows = [[b["day"], b["country"], b["rule"], str(b["requests"])] for b in blocked]
            header = ["day", "country", "rule", "requests"]
            sections.append(_table("requests blocked by country rules", header, rows))
        if gpc:
            rows = [[g["day"], g["country"], *(str(g[k]) for k in GPC_KINDS)] for g in gpc]
            title = "GPC signals honoured (pending: no consent cookie yet, nothing written)"
            sections.append(_table(title, ["day", "country", *GPC_KINDS], rows))
        print("\n\n".join(sections))
    else:
        print(f"nothing counted in {store.display_url}", file=sys.stderr)
    return OK if blocked or gpc else FINDINGS


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `counts` to the `gatekeeper` command."""
    counts = commands.add_parser(
        "counts",
        help="requests blocked by country rules and GPC signals, per day and country",
        description="Counts every process and host added to the policy's database: "
        "requests blocked by country rules, and GPC signals (pending, recorded, deferred).",
    )
    counts.add_argument("--policy", required=True, metavar="FILE", help="the policy YAML")
    counts.add_argument("--since", type=_day, metavar="DAY", help="from this day (UTC)")
    counts.add_argument("--until", type=_day, metavar="DAY", help="before this day (exclusive)")
    counts.add_argument("--country", metavar="CC", help="only visitors from this country")
    counts.add_argument("--json", action="store_true", help="machine-readable output")
    counts.set_defaults(func=cmd_counts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gatekeeper")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["counts", *(argv or [])])
    return int(args.func(args))
