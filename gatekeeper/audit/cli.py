"""`gatekeeper audit ...`: the consent log's commands for auditors and operators.

Exit codes as for the whole command: 0 ok, 1 findings (a log that fails verification,
nothing found), 2 usage or configuration error (bad policy, unreachable store, missing
key).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO, TypeVar

from ..html.render import Renderer
from ..policy import Policy, PolicyError, load_policy
from .checkpoint import Checkpoint, KeyFileError, KeyRing, PublicKey
from .evidence import gather, render
from .export import FORMATS, Format, export
from .findings import Report
from .heads import HeadError, WitnessError, load_heads
from .log import ConsentLog
from .offline import verify_export
from .period import PeriodError, moment
from .record import texts_hash
from .store import LogUnavailable, Query

OK, FINDINGS, USAGE = 0, 1, 2
T = TypeVar("T")


class _Usage(Exception):
    """A problem with how the command was called or configured: exit 2."""


def _since(text: str) -> str:
    try:
        return moment(text)
    except PeriodError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _until(text: str) -> str:
    try:
        return moment(text, until=True)
    except PeriodError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _policy_of(args: argparse.Namespace) -> Policy:
    try:
        return load_policy(args.policy)
    except PolicyError as exc:
        raise _Usage(str(exc)) from None


def _open(args: argparse.Namespace) -> ConsentLog:
    policy = _policy_of(args)
    try:
        # Never autostart: reading or verifying the log must not sign anything.
        return ConsentLog.from_policy(policy, create=False, autostart=False)
    except ValueError as exc:
        raise _Usage(f"{args.policy}: {exc}") from None


def _heads(paths: Sequence[str] | None) -> list[Checkpoint]:
    heads: list[Checkpoint] = []
    for path in paths or ():
        try:
            heads += load_heads(Path(path))
        except HeadError as exc:
            raise _Usage(str(exc)) from None
    return heads


def _keys(paths: Sequence[str] | None) -> KeyRing | None:
    if not paths:
        return None
    try:
        return KeyRing(PublicKey.load(Path(path)) for path in paths)
    except KeyFileError as exc:
        raise _Usage(str(exc)) from None


def _run(args: argparse.Namespace, work: Callable[[ConsentLog], Awaitable[T]]) -> T:
    log = _open(args)

    async def main() -> T:
        try:
            return await work(log)
        finally:
            await log.close()

    try:
        return asyncio.run(main())
    except LogUnavailable as exc:
        raise _Usage(str(exc)) from None
    except KeyFileError as exc:
        raise _Usage(str(exc)) from None
    except WitnessError as exc:
        raise _Usage(f"the witness did not take the head: {exc}") from None


def _query(args: argparse.Namespace) -> Query:
    return Query(
        since=args.since,
        until=args.until,
        consent_id=getattr(args, "consent_id", None),
        country=getattr(args, "country", None),
    )


def _report(report: Report, as_json: bool) -> int:
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print("\n".join(report.lines()))
    return OK if report.ok else FINDINGS


def cmd_verify(args: argparse.Namespace) -> int:
    heads = _heads(args.since)
    if args.export is not None:
        if args.policy is not None:
            raise _Usage("give --policy (verify the log) or --export (verify an export), not both")
        keys = _keys(args.public_key)
        try:
            with open(args.export, encoding="utf-8") as lines:
                report = verify_export(lines, keys, args.export, heads=heads)
        except OSError as exc:
            raise _Usage(f"{args.export}: cannot read: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise _Usage(f"{args.export}: not UTF-8 text") from None
        return _report(report, args.json)
    if args.policy is None:
        raise _Usage("verify needs --policy FILE, or --export FILE.jsonl --public-key KEY.pem")
    if args.public_key is not None:
        raise _Usage("--public-key goes with --export; with --policy the policy's key is used")

    return _report(_run(args, lambda log: log.verify(heads)), args.json)


class _Bar:
    """A progress line on stderr, redrawn at most every 0.2 s; only on a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.last = 0.0
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.2 and done < total:
            return
        self.last = now
        share = done / total if total else 1.0
        filled = int(share * 30)
        bar = "#" * filled + "-" * (30 - filled)
        self.stream.write(f"\rexporting [{bar}] {done}/{total} ({share:.0%})")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[TextIO]:
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
            raise _Usage(f"{path}: cannot write: {exc.strerror}") from None
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def _format(args: argparse.Namespace) -> Format:
    if args.format is not None:
        return args.format  # type: ignore[no-any-return]
    suffix = Path(args.output or "").suffix.lower()
    return "csv" if suffix == ".csv" else "27560" if suffix == ".json" else "jsonl"


def cmd_export(args: argparse.Namespace) -> int:
    fmt = _format(args)
    query = _query(args)
    bar = _Bar(sys.stderr) if sys.stderr.isatty() else None

    heads = _heads(args.head)
    if heads and fmt != "jsonl":
        raise _Usage("--head goes with the jsonl format: only it carries proofs")

    async def work(log: ConsentLog) -> int:
        with _output(args.output) as out:
            try:
                return await export(log.store, out, fmt, query, bar, heads=heads)
            finally:
                if bar:
                    bar.close()

    count = _run(args, work)
    where = f" to {args.output}" if args.output and args.output != "-" else ""
    print(f"exported {count} records ({fmt}){where}", file=sys.stderr)
    return OK


def _categories(categories: dict[str, bool]) -> str:
    return " ".join(f"{name}={'yes' if allowed else 'no'}" for name, allowed in categories.items())


def cmd_show(args: argparse.Namespace) -> int:
    async def work(log: ConsentLog) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
        history = await log.history(args.consent_id)
        texts: dict[str, dict[str, Any]] = {}
        for entry in history:
            digest = entry["texts_hash"]
            if digest not in texts:
                found = await log.texts(digest)
                texts[digest] = found.to_dict() if found else {}
        return history, texts

    history, texts = _run(args, work)
    if args.json:
        print(
            json.dumps(
                {"consent_id": args.consent_id, "records": history, "texts": texts},
                indent=2,
                ensure_ascii=False,
            )
        )
        return OK if history else FINDINGS
    if not history:
        print(f"no records for consent id {args.consent_id} (never seen, or purged)")
        return FINDINGS
    print(f"consent id {args.consent_id}: {len(history)} records")
    for r in history:
        place = "-".join(p for p in (r["country"], r["subdivision"]) if p) or "unknown place"
        print(
            f"{r['time']}  {r['event']:<9} {r['method']}  revision {r['revision']}  "
            f"{r['language']}  {r['mode']}  {place}"
        )
        print(f"    categories: {_categories(r['categories'])}")
        print(f"    valid until {r['valid_until']}  ip {r['ip'] or '-'}  path {r['path'] or '-'}")
        print(f"    user agent: {r['user_agent'] or '-'}")
        shown = "archived" if texts.get(r["texts_hash"]) else "NOT archived"
        print(f"    texts shown: {r['texts_hash']} ({shown})")
        print(f"    event id {r['event_id']}  seq {r['seq']}  leaf {r['leaf']}")
    return OK


def cmd_stats(args: argparse.Namespace) -> int:
    summary = _run(args, lambda log: log.stats(_query(args)))
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
    else:
        print("\n".join(summary.lines()))
    return OK


def cmd_purge(args: argparse.Namespace) -> int:
    async def work(log: ConsentLog) -> tuple[int, int]:
        days = log.retention_days if args.older_than is None else args.older_than
        return await log.purge(days), days

    count, days = _run(args, work)
    print(f"purged the personal fields of {count} records older than {days} days")
    return OK


def cmd_texts(args: argparse.Namespace) -> int:
    found = _run(args, lambda log: log.texts(args.hash))
    if found is None:
        print(f"no archived texts with hash {args.hash}", file=sys.stderr)
        return FINDINGS
    print(json.dumps(found.to_dict(), indent=2, ensure_ascii=False))
    if texts_hash(found.texts) != found.hash:
        print(f"the archived texts do not match the hash {found.hash} (modified)", file=sys.stderr)
        return FINDINGS
    return OK


def cmd_public_key(args: argparse.Namespace) -> int:
    log = _open(args)
    try:
        key = log.public_key()
    except KeyFileError as exc:
        raise _Usage(str(exc)) from None
    if key is None:
        raise _Usage(f"{args.policy}: audit.signing_key is not set; checkpoints are unsigned")
    sys.stdout.write(key.pem())
    return OK


def cmd_report(args: argparse.Namespace) -> int:
    try:
        since = moment(args.since) if args.since else None
        until = moment(args.until, until=True) if args.until else None
    except PeriodError as exc:
        raise _Usage(str(exc)) from None
    policy = _policy_of(args)
    heads = _heads(args.head)
    renderer = Renderer(
        default_language=policy.languages.default, directory=policy.templates.directory
    )

    async def work(log: ConsentLog) -> Report:
        evidence = await gather(
            log,
            policy.site.name,
            since=since,
            until=until,
            shown_since=args.since,
            shown_until=args.until,
            heads=heads,
        )
        with _output(args.output) as out:
            out.write(render(evidence, renderer))
        return evidence.report

    report = _run(args, work)
    verdict = "OK" if report.ok else f"FAIL ({len(report.findings)} findings)"
    print(f"wrote the evidence report to {args.output}: verification {verdict}", file=sys.stderr)
    return OK if report.ok else FINDINGS


def cmd_checkpoint(args: argparse.Namespace) -> int:
    async def work(log: ConsentLog) -> tuple[Checkpoint | None, Checkpoint | None, str | None]:
        signed = await log.periodic.checkpoint(force=True)
        newest = signed or await log.signed_head()
        problem = None
        if log.witness is not None:
            try:
                await log.publish()
            except WitnessError as exc:
                problem = str(exc)
        return signed, newest, problem

    signed, newest, problem = _run(args, work)
    if signed is None:
        where = f"the newest checkpoint, at size {newest.size}," if newest else "nothing:"
        print(f"nothing new to sign: {where} covers every record", file=sys.stderr)
    if newest is not None:
        print(json.dumps(newest.head(), indent=2))
    if problem is not None:
        print(f"the witness did not take the head (retried later): {problem}", file=sys.stderr)
        return FINDINGS
    return OK


def cmd_head(args: argparse.Namespace) -> int:
    async def work(log: ConsentLog) -> tuple[Checkpoint | None, int]:
        return await log.signed_head(), (await log.head()).size

    newest, size = _run(args, work)
    if newest is None:
        print("no signed head yet: `gatekeeper audit checkpoint` signs one", file=sys.stderr)
        return FINDINGS
    print(json.dumps(newest.head(), indent=2))
    if newest.signature is None:
        print("note: this head is not signed (audit.signing_key is not set)", file=sys.stderr)
    if size > newest.size:
        print(
            f"note: {size - newest.size} newer records are not under it yet "
            "(the next checkpoint covers them)",
            file=sys.stderr,
        )
    return OK


def _guarded(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except _Usage as exc:
            print(f"gatekeeper audit {args.audit_command}: {exc}", file=sys.stderr)
            return USAGE
        except BrokenPipeError:
            # The reader went away (`| head`): stop quietly, as Python's docs advise.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return FINDINGS

    return run


def _policy(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("--policy", required=required, metavar="FILE", help="the policy YAML")


def _range(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--since", type=_since, metavar="WHEN", help="from this day or time (UTC), inclusive"
    )
    parser.add_argument(
        "--until",
        type=_until,
        metavar="WHEN",
        help="up to this day, inclusive (or before this time)",
    )


def _add_subcommands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    verify = commands.add_parser(
        "verify",
        help="verify the log (--policy) or an export (--export with --public-key)",
        description="Re-hash every record, walk the chain and check every checkpoint "
        "signature. Exit 1 names the first bad record.",
    )
    _policy(verify, required=False)
    verify.add_argument("--export", metavar="FILE.jsonl", help="verify this export offline")
    verify.add_argument(
        "--public-key",
        action="append",
        metavar="KEY.pem",
        help="the log's public key (repeat for keys it was signed with before a rotation)",
    )
    verify.add_argument(
        "--since",
        action="append",
        metavar="HEAD.json",
        help="a signed head kept from earlier (a file, a file of heads, or a directory): "
        "prove the log extends it (repeatable)",
    )
    verify.add_argument("--json", action="store_true", help="machine-readable report")
    verify.set_defaults(func=_guarded(cmd_verify))

    exp = commands.add_parser(
        "export",
        help="export records (JSONL verifiable offline, CSV, ISO/IEC TS 27560 JSON)",
    )
    _policy(exp)
    exp.add_argument(
        "--format",
        choices=FORMATS,
        help="jsonl (default; carries hashes and checkpoints), csv, or 27560 "
        "(default from --output's suffix: .csv, .json)",
    )
    _range(exp)
    exp.add_argument("--consent-id", metavar="ID", help="one visitor's records")
    exp.add_argument("--country", metavar="CC", help="records from this country")
    exp.add_argument("--output", "-o", metavar="FILE", help="write here (default: stdout)")
    exp.add_argument(
        "--head",
        action="append",
        metavar="HEAD.json",
        help="a signed head the auditor kept: include a consistency proof from it",
    )
    exp.set_defaults(func=_guarded(cmd_export))

    show = commands.add_parser("show", help="one visitor's whole history (access requests)")
    show.add_argument("consent_id", metavar="CONSENT_ID")
    _policy(show)
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=_guarded(cmd_show))

    stats = commands.add_parser("stats", help="decisions by day, mode and choice")
    _policy(stats)
    _range(stats)
    stats.add_argument("--country", metavar="CC")
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(func=_guarded(cmd_stats))

    purge = commands.add_parser(
        "purge", help="erase personal fields of old records (hashes stay, verify still passes)"
    )
    _policy(purge)
    purge.add_argument(
        "--older-than", type=int, metavar="DAYS", help="default: audit.retention_days"
    )
    purge.set_defaults(func=_guarded(cmd_purge))

    texts = commands.add_parser("texts", help="print the archived texts with this hash")
    texts.add_argument("hash", metavar="HASH")
    _policy(texts)
    texts.set_defaults(func=_guarded(cmd_texts))

    report = commands.add_parser(
        "report",
        help="write the evidence report for a period: one printable HTML file",
        description="Verify the log and write one self-contained HTML file: the result, "
        "the signed heads of the period, the texts shown per revision, decision "
        "statistics and charts. Exit 1 when the log fails verification.",
    )
    _policy(report)
    report.add_argument("--since", metavar="DAY", help="from this day (UTC), inclusive")
    report.add_argument("--until", metavar="DAY", help="up to this day (UTC), inclusive")
    report.add_argument("--output", "-o", required=True, metavar="FILE.html")
    report.add_argument(
        "--head",
        action="append",
        metavar="HEAD.json",
        help="a signed head kept from earlier: the report says whether the log extends it",
    )
    report.set_defaults(func=_guarded(cmd_report))

    checkpoint = commands.add_parser(
        "checkpoint",
        help="sign a checkpoint over the records after the newest one, now",
        description="Sign a checkpoint now (the site also does this every "
        "audit.checkpoint_interval) and print it as a signed head; hand it to "
        "audit.witness if set.",
    )
    _policy(checkpoint)
    checkpoint.set_defaults(func=_guarded(cmd_checkpoint))

    head = commands.add_parser(
        "head",
        help="print the newest signed head (JSON) for auditors to keep",
        description="Print the newest signed tree head: size, root, time, key id and "
        "signature. Keep it outside the database and check the log later with "
        "`verify --since`.",
    )
    _policy(head)
    head.set_defaults(func=_guarded(cmd_head))

    key = commands.add_parser("public-key", help="print the checkpoints' public key (PEM)")
    _policy(key)
    key.set_defaults(func=_guarded(cmd_public_key))


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `audit` and its subcommands to the `gatekeeper` command."""
    audit = commands.add_parser(
        "audit",
        help="the consent log: verify, export, report, show, stats, purge, texts, "
        "checkpoint, head, public-key",
        description="The consent log, for auditors and operators.",
    )
    sub = audit.add_subparsers(dest="audit_command", required=True, metavar="SUBCOMMAND")
    _add_subcommands(sub)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gatekeeper audit", description="The consent log, for auditors and operators."
    )
    sub = parser.add_subparsers(dest="audit_command", required=True, metavar="SUBCOMMAND")
    _add_subcommands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `gatekeeper audit` with these arguments (those after `audit`)."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
