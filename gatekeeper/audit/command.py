"""What every `gatekeeper audit` command shares: exit codes, opening the log without
starting its periodic work, reading kept heads and keys, writing output files whole."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import TextIO, TypeVar

from ..policy import Policy, PolicyError, load_policy
from .checkpoint import Checkpoint, KeyFileError, KeyRing, PublicKey
from .findings import Report
from .heads import HeadError, WitnessError, load_heads
from .log import ConsentLog
from .period import PeriodError, moment
from .store import LogUnavailable, Query

OK, FINDINGS, USAGE = 0, 1, 2
T = TypeVar("T")


class Usage(Exception):
    """A problem with how the command was called or configured: exit 2."""


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


def policy_of(args: argparse.Namespace) -> Policy:
    try:
        return load_policy(args.policy)
    except PolicyError as exc:
        raise Usage(str(exc)) from None


def open_log(args: argparse.Namespace) -> ConsentLog:
    policy = policy_of(args)
    try:
        # Never autostart: reading or verifying the log must not sign anything.
        return ConsentLog.from_policy(policy, create=False, autostart=False)
    except ValueError as exc:
        raise Usage(f"{args.policy}: {exc}") from None


def kept_heads(paths: Sequence[str] | None) -> list[Checkpoint]:
    heads: list[Checkpoint] = []
    for path in paths or ():
        try:
            heads += load_heads(Path(path))
        except HeadError as exc:
            raise Usage(str(exc)) from None
    return heads


def public_keys(paths: Sequence[str] | None) -> KeyRing | None:
    if not paths:
        return None
    try:
        return KeyRing(PublicKey.load(Path(path)) for path in paths)
    except KeyFileError as exc:
        raise Usage(str(exc)) from None


def run(args: argparse.Namespace, work: Callable[[ConsentLog], Awaitable[T]]) -> T:
    log = open_log(args)

    async def main() -> T:
        try:
            return await work(log)
        finally:
            await log.close()

    try:
        return asyncio.run(main())
    except LogUnavailable as exc:
        raise Usage(str(exc)) from None
    except KeyFileError as exc:
        raise Usage(str(exc)) from None
    except WitnessError as exc:
        raise Usage(f"the witness did not take the head: {exc}") from None


def query_of(args: argparse.Namespace) -> Query:
    return Query(
        since=args.since,
        until=args.until,
        consent_id=getattr(args, "consent_id", None),
        country=getattr(args, "country", None),
    )


def print_report(report: Report, as_json: bool) -> int:
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print("\n".join(report.lines()))
    return OK if report.ok else FINDINGS


@contextlib.contextmanager
def output(path: str | None) -> Iterator[TextIO]:
    if path is None or path == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    # Written beside the target and renamed: a failed export never looks like a whole one.
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


def guarded(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except Usage as exc:
            print(f"gatekeeper audit {args.audit_command}: {exc}", file=sys.stderr)
            return USAGE
        except BrokenPipeError:
            # The reader went away (`| head`): stop quietly, as Python's docs advise.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return FINDINGS

    return run


def policy_arg(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("--policy", required=required, metavar="FILE", help="the policy YAML")


def range_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--since", type=since_arg, metavar="WHEN", help="from this day or time (UTC), inclusive"
    )
    parser.add_argument(
        "--until",
        type=until_arg,
        metavar="WHEN",
        help="up to this day, inclusive (or before this time)",
    )
