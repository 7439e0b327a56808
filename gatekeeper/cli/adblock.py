"""`gatekeeper adblock stats`: verdict counts and blocked rates, for operators.

Exit codes: 0 ok, 1 nothing recorded (for the filters given), 2 usage or configuration
error (bad policy, unreachable or missing database). The rates: gatekeeper.adblock.rates.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence

from ..adblock.rates import GROUPINGS, VerdictTally, summarise
from ..adblock.store import Filter, StoreUnavailable, open_store
from ..adblock.verdict import VERDICTS
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


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1%}"


def verdict_table(
    groups: dict[tuple[str, ...], VerdictTally], total: VerdictTally, columns: Sequence[str]
) -> str:
    header = [*(c if c != "path" else "path group" for c in columns), *VERDICTS]
    header += ["views", "blocked rate"]

    def cells(tally: VerdictTally) -> list[str]:
        counts = [str(tally.counts[v]) for v in VERDICTS]
        return [*counts, str(tally.views), _percent(tally.rate)]

    rows = [[*key, *cells(tally)] for key, tally in groups.items()]
    rows.append(["total", *([""] * (len(columns) - 1)), *cells(total)])
    return table(header, rows, keys=len(columns))


def cmd_stats(args: argparse.Namespace) -> int:
    policy = policy_of(args)
    try:
        store = open_store(policy.audit.store, create=False)
    except ValueError as exc:
        raise Usage(f"{args.policy}: {exc}") from None
    since, until = day_range(args)
    where = Filter(since=since, until=until, country=args.country)
    try:
        rows = asyncio.run(store.rows(where))
    except StoreUnavailable as exc:
        raise Usage(str(exc)) from None
    columns = GROUPINGS[args.by]
    groups, total = summarise(rows, columns)
    if args.json:
        data = {
            "by": list(columns),
            "rows": [
                {**dict(zip(columns, key, strict=True)), **tally.to_dict()}
                for key, tally in groups.items()
            ],
            "total": total.to_dict(),
        }
        print(json.dumps(data, indent=2))
    elif rows:
        print(verdict_table(groups, total, columns))
    else:
        print(f"no adblock verdicts recorded in {store.display_url}", file=sys.stderr)
    return OK if rows else FINDINGS


def register(commands: Subcommands) -> None:
    """Add `adblock` and its subcommands to the `gatekeeper` command."""
    adblock = commands.add_parser(
        "adblock", help="adblock detection: stats", description="Adblock detection, for operators."
    )
    sub = adblock.add_subparsers(dest="adblock_command", required=True, metavar="SUBCOMMAND")
    stats = sub.add_parser(
        "stats",
        help="verdicts by day, country and path group, with the blocked rate",
        description="Adblock verdicts counted per page view, from the consent log's "
        "database. Blocked rate = blocked / (blocked + allowed).",
    )
    policy_arg(stats)
    range_args(stats)
    stats.add_argument("--country", metavar="CC", help="only visitors from this country")
    stats.add_argument(
        "--by", choices=sorted(GROUPINGS), default="all",
        help="rows per day, country and path group (all, the default) or fewer columns",
    )  # fmt: skip
    stats.add_argument("--json", action="store_true", help="machine-readable output")
    stats.set_defaults(func=guarded("adblock stats", cmd_stats))
