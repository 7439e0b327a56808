"""`gatekeeper adblock stats`: verdict counts and blocked rates, for operators.

Exit codes as for the whole command: 0 ok, 1 nothing recorded (for the filters given),
2 usage or configuration error (bad policy, unreachable or missing database).

The blocked rate is blocked / (blocked + allowed): the share of checked views whose
visitor blocks ads. Views without JavaScript (no_js) and views that could not be judged
(unknown: the visitor left early, a crawler that runs scripts, a lost beacon) are shown
but left out of the rate, since they say nothing either way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..policy import PolicyError, load_policy
from .store import Filter, StoreUnavailable, VerdictRow, open_store
from .verdict import VERDICTS

OK, FINDINGS, USAGE = 0, 1, 2
GROUPINGS = {
    "all": ("day", "country", "path"),
    "day": ("day",),
    "country": ("country",),
    "path": ("path",),
    "day-country": ("day", "country"),
}


class _Usage(Exception):
    """A problem with how the command was called or configured: exit 2."""


@dataclass(slots=True)
class Tally:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(VERDICTS, 0))

    def add(self, verdict: str, n: int) -> None:
        self.counts[verdict] = self.counts.get(verdict, 0) + n

    @property
    def views(self) -> int:
        return sum(self.counts.values())

    @property
    def rate(self) -> float | None:
        judged = self.counts["blocked"] + self.counts["allowed"]
        return self.counts["blocked"] / judged if judged else None

    def to_dict(self) -> dict[str, Any]:
        return {**self.counts, "views": self.views, "blocked_rate": self.rate}


def _day(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date such as 2026-11-01") from None


def _key(row: VerdictRow, columns: Sequence[str]) -> tuple[str, ...]:
    values = {"day": row.day, "country": row.country or "-", "path": row.group}
    return tuple(values[c] for c in columns)


def verdicts(counts: dict[str, int]) -> dict[str, int]:
    """The verdicts of the views counted under one (day, country, path group).

    Beacons are counted as judged (blocked, allowed, unknown) when they arrive. The rest
    is derived: a view whose image bait arrived but that never reported ran no JavaScript
    (no_js = images - judged views that saw their image, at most opened - judged); a view
    that did neither is unknown (opened - judged - no_js). Rows written before views were
    counted this way hold final verdicts and add in as they are.
    """
    out = {verdict: counts.get(verdict, 0) for verdict in VERDICTS}
    judged = out["blocked"] + out["allowed"] + out["unknown"]
    opened = counts.get("opened", 0)
    # Never more no_js views than views that did not report: image bait requests sent
    # again to other processes (each dedupes its own) cannot inflate it past that.
    images = counts.get("image", 0) - counts.get("judged_image", 0)
    no_js = max(0, min(images, opened - judged))
    out["no_js"] += no_js
    out["unknown"] += max(0, opened - judged - no_js)
    return out


def summarise(
    rows: Iterable[VerdictRow], columns: Sequence[str]
) -> tuple[dict[tuple[str, ...], Tally], Tally]:
    finest: dict[tuple[str, str, str], tuple[VerdictRow, dict[str, int]]] = {}
    for row in rows:
        entry = finest.setdefault((row.day, row.country, row.group), (row, {}))
        entry[1][row.verdict] = entry[1].get(row.verdict, 0) + row.count
    groups: dict[tuple[str, ...], Tally] = {}
    total = Tally()
    for row, counts in finest.values():
        group = groups.setdefault(_key(row, columns), Tally())
        for verdict, n in verdicts(counts).items():
            group.add(verdict, n)
            total.add(verdict, n)
    return dict(sorted(groups.items())), total


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1%}"


def table(groups: dict[tuple[str, ...], Tally], total: Tally, columns: Sequence[str]) -> str:
    header = [*(c if c != "path" else "path group" for c in columns), *VERDICTS]
    header += ["views", "blocked rate"]
    lines = [header]
    for key, tally in groups.items():
        lines.append(
            [
                *key,
                *(str(tally.counts[v]) for v in VERDICTS),
                str(tally.views),
                _percent(tally.rate),
            ]
        )
    lines.append(
        ["total", *([""] * (len(columns) - 1)), *(str(total.counts[v]) for v in VERDICTS),
         str(total.views), _percent(total.rate)]
    )  # fmt: skip
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    keys = len(columns)
    out = []
    for line in lines:
        cells = [
            cell.ljust(width) if i < keys else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        ]
        out.append("  ".join(cells).rstrip())
    return "\n".join(out)


def cmd_stats(args: argparse.Namespace) -> int:
    try:
        policy = load_policy(args.policy)
    except PolicyError as exc:
        raise _Usage(str(exc)) from None
    try:
        store = open_store(policy.audit.store, create=False)
    except ValueError as exc:
        raise _Usage(f"{args.policy}: {exc}") from None
    where = Filter(since=args.since, until=args.until, country=args.country)
    try:
        rows = asyncio.run(store.rows(where))
    except StoreUnavailable as exc:
        raise _Usage(str(exc)) from None
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
        print(table(groups, total, columns))
    else:
        print(f"no adblock verdicts recorded in {store.display_url}", file=sys.stderr)
    return OK if rows else FINDINGS


def _add_subcommands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    stats = commands.add_parser(
        "stats",
        help="verdicts by day, country and path group, with the blocked rate",
        description="Adblock verdicts counted per page view, from the consent log's "
        "database. Blocked rate = blocked / (blocked + allowed).",
    )
    stats.add_argument("--policy", required=True, metavar="FILE", help="the policy YAML")
    stats.add_argument("--since", type=_day, metavar="DAY", help="from this day (UTC)")
    stats.add_argument("--until", type=_day, metavar="DAY", help="before this day (exclusive)")
    stats.add_argument("--country", metavar="CC", help="only visitors from this country")
    stats.add_argument(
        "--by", choices=sorted(GROUPINGS), default="all",
        help="rows per day, country and path group (all, the default) or fewer columns",
    )  # fmt: skip
    stats.add_argument("--json", action="store_true", help="machine-readable output")
    stats.set_defaults(func=_guarded(cmd_stats))


def _guarded(
    command: Callable[[argparse.Namespace], int],
) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return int(command(args))
        except _Usage as exc:
            print(f"gatekeeper adblock {args.adblock_command}: {exc}", file=sys.stderr)
            return USAGE

    return run


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `adblock` and its subcommands to the `gatekeeper` command."""
    adblock = commands.add_parser(
        "adblock",
        help="adblock detection: stats",
        description="Adblock detection, for operators.",
    )
    sub = adblock.add_subparsers(dest="adblock_command", required=True, metavar="SUBCOMMAND")
    _add_subcommands(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gatekeeper adblock", description="Adblock detection, for operators."
    )
    sub = parser.add_subparsers(dest="adblock_command", required=True, metavar="SUBCOMMAND")
    _add_subcommands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `gatekeeper adblock` with these arguments (those after `adblock`)."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
