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
from typing import Any

from ..consent import GPC_SIGNALS
from ..counters import Filter, Row, StoreUnavailable, open_counter_store
from ..geoblock import BLOCKS
from .common import (
    FINDINGS,
    OK,
    Subcommands,
    Usage,
    day_range,
    guarded,
    policy_arg,
    policy_of,
    range_args,
    table,
)

GPC_KINDS = ("pending", "recorded", "deferred")


def gpc_rows(rows: list[Row]) -> list[dict[str, Any]]:
    """One row per (day, country): how many GPC signals were pending, recorded, deferred."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for day, country, kind, count in rows:
        row = out.setdefault(
            (day, country), {"day": day, "country": country or "-", **dict.fromkeys(GPC_KINDS, 0)}
        )
        row[kind] = row.get(kind, 0) + count
    return list(out.values())


def cmd_counts(args: argparse.Namespace) -> int:
    policy = policy_of(args)
    try:
        store = open_counter_store(policy.audit.store, create=False)
    except ValueError as exc:
        raise Usage(f"{args.policy}: {exc}") from None
    since, until = day_range(args)
    where = Filter(since=since, until=until, country=args.country)

    async def read() -> tuple[list[Row], list[Row]]:
        return await store.rows(BLOCKS, where), await store.rows(GPC_SIGNALS, where)

    try:
        blocks, signals = asyncio.run(read())
    except StoreUnavailable as exc:
        raise Usage(str(exc)) from None
    blocked = [{"day": d, "country": c or "-", "rule": r, "requests": n} for d, c, r, n in blocks]
    gpc = gpc_rows(signals)
    if args.json:
        print(json.dumps({"blocked": blocked, "gpc": gpc}, indent=2))
    elif blocked or gpc:
        sections = []
        if blocked:
            rows = [[b["day"], b["country"], b["rule"], str(b["requests"])] for b in blocked]
            header = ["day", "country", "rule", "requests"]
            sections.append("requests blocked by country rules\n" + table(header, rows, keys=3))
        if gpc:
            rows = [[g["day"], g["country"], *(str(g[k]) for k in GPC_KINDS)] for g in gpc]
            title = "GPC signals honoured (pending: no consent cookie yet, nothing written)"
            sections.append(title + "\n" + table(["day", "country", *GPC_KINDS], rows, keys=2))
        print("\n\n".join(sections))
    else:
        print(f"nothing counted in {store.display_url}", file=sys.stderr)
    return OK if blocked or gpc else FINDINGS


def register(commands: Subcommands) -> None:
    """Add `counts` to the `gatekeeper` command."""
    counts = commands.add_parser(
        "counts",
        help="requests blocked by country rules and GPC signals, per day and country",
        description="Counts every process and host added to the policy's database: "
        "requests blocked by country rules, and GPC signals (pending, recorded, deferred).",
    )
    policy_arg(counts)
    range_args(counts)
    counts.add_argument("--country", metavar="CC", help="only visitors from this country")
    counts.add_argument("--json", action="store_true", help="machine-readable output")
    counts.set_defaults(func=guarded("counts", cmd_counts))
