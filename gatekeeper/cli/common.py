"""What every `gatekeeper` command shares: exit codes, the usage error, loading the
policy, the date range options, plain tables, and output files written whole.

Exit codes: 0 ok, 1 findings (a log that fails verification, nothing found, a check
with warnings), 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TextIO

from ..audit.period import PeriodError, moment
from ..policy import Policy, PolicyError, load_policy

OK, FINDINGS, USAGE = 0, 1, 2
Command = Callable[[argparse.Namespace], int]
Subcommands = argparse._SubParsersAction


class Usage(Exception):
    """A problem with how the command was called or configured: exit 2."""


def guarded(name: str, command: Command) -> Command:
    """`command`, with a Usage error printed as `gatekeeper NAME: message` (exit 2) and a
    reader that went away (`| head`) ending it quietly."""

    def run(args: argparse.Namespace) -> int:
        try:
            return int(command(args))
        except Usage as exc:
            print(f"gatekeeper {name}: {exc}", file=sys.stderr)
            return USAGE
        except BrokenPipeError:
            # As Python's docs advise: stop writing to the closed pipe, quietly.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return FINDINGS

    return run


def policy_arg(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("--policy", required=required, metavar="FILE", help="the policy YAML")


def policy_of(args: argparse.Namespace) -> Policy:
    """The policy named by --policy; a broken one is a Usage error naming file:line:col."""
    try:
        return load_policy(args.policy)
    except PolicyError as exc:
        raise Usage(str(exc)) from None


def since_arg(text: str) -> str:
    try:
        return moment(text)
    except PeriodError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def until_arg(text: str) -> str:
    try:
        return moment(text, until=True)
    except PeriodError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def range_args(parser: argparse.ArgumentParser) -> None:
    """--since and --until, read the same way by every command and the auditor view."""
    parser.add_argument(
        "--since", type=since_arg, metavar="WHEN", help="from this day or time (UTC), inclusive"
    )
    parser.add_argument(
        "--until",
        type=until_arg,
        metavar="WHEN",
        help="up to this day, inclusive (or before this time)",
    )


def day_range(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """--since and --until as whole days for counts kept per day: (first day, first day
    after); an --until time within a day includes that day."""
    since = args.since[:10] if args.since else None
    until = None
    if args.until:
        day, time_of_day = args.until[:10], args.until[11:]
        until = day if time_of_day.startswith("00:00:00.000000") else _next_day(day)
    return since, until


def _next_day(day: str) -> str:
    import datetime as dt

    return (dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat()


def table(header: Sequence[str], rows: Sequence[Sequence[str]], keys: int = 1) -> str:
    """A plain text table: the first `keys` columns left-aligned, the rest right-aligned."""
    lines = [list(header), *map(list, rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for line in lines:
        cells = [
            cell.ljust(width) if i < keys else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(line, widths, strict=True))
        ]
        out.append("  ".join(cells).rstrip())
    return "\n".join(out)


@contextlib.contextmanager
def output(path: str | None) -> Iterator[TextIO]:
    """Standard output for None or "-", else the file, written beside the target and
    renamed: a failed write never looks like a whole one."""
    if path is None or path == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    try:
        try:
            with open(partial, "w", encoding="utf-8", newline="") as handle:
                yield handle
        except OSError as exc:
            raise Usage(f"{path}: cannot write: {exc.strerror}") from None
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
