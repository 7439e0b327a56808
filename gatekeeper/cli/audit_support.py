"""What the `gatekeeper audit` commands share: opening the log without starting its
periodic work, reading kept heads and keys, the report and the query of a command."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TypeVar

from ..audit.checkpoint import Checkpoint, KeyFileError, KeyRing, PublicKey
from ..audit.findings import Report
from ..audit.heads import HeadError, WitnessError, load_heads
from ..audit.log import ConsentLog
from ..audit.store import LogUnavailable, Query
from .common import FINDINGS, OK, Usage, policy_of

T = TypeVar("T")


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
