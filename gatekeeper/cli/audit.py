"""`gatekeeper audit ...`: the consent log's commands for auditors and operators.

Exit codes as for the whole command: 0 ok, 1 findings (a log that fails verification,
nothing found), 2 usage or configuration error (bad policy, unreachable store, missing
key).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from ..audit.checkpoint import KeyFileError
from ..audit.export import FORMATS, Format, export
from ..audit.log import ConsentLog
from ..audit.offline import verify_export
from ..audit.record import texts_hash
from .audit_heads import add_head_commands
from .audit_support import kept_heads, open_log, print_report, public_keys, query_of, run
from .common import FINDINGS, OK, Usage, guarded, output, policy_arg, range_args


def cmd_verify(args: argparse.Namespace) -> int:
    heads = kept_heads(args.since)
    if args.export is not None:
        if args.policy is not None:
            raise Usage("give --policy (verify the log) or --export (verify an export), not both")
        keys = public_keys(args.public_key)
        try:
            with open(args.export, encoding="utf-8") as lines:
                report = verify_export(lines, keys, args.export, heads=heads)
        except OSError as exc:
            raise Usage(f"{args.export}: cannot read: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise Usage(f"{args.export}: not UTF-8 text") from None
        return print_report(report, args.json)
    if args.policy is None:
        raise Usage("verify needs --policy FILE, or --export FILE.jsonl --public-key KEY.pem")
    if args.public_key is not None:
        raise Usage("--public-key goes with --export; with --policy the policy's key is used")

    return print_report(run(args, lambda log: log.verify(heads)), args.json)


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


def _format(args: argparse.Namespace) -> Format:
    if args.format is not None:
        return args.format
    suffix = Path(args.output or "").suffix.lower()
    return "csv" if suffix == ".csv" else "27560" if suffix == ".json" else "jsonl"


def cmd_export(args: argparse.Namespace) -> int:
    fmt = _format(args)
    query = query_of(args)
    bar = _Bar(sys.stderr) if sys.stderr.isatty() else None

    heads = kept_heads(args.head)
    if heads and fmt != "jsonl":
        raise Usage("--head goes with the jsonl format: only it carries proofs")

    async def work(log: ConsentLog) -> int:
        with output(args.output) as out:
            try:
                return await export(log.store, out, fmt, query, bar, heads=heads)
            finally:
                if bar:
                    bar.close()

    count = run(args, work)
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

    history, texts = run(args, work)
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
    summary = run(args, lambda log: log.stats(query_of(args)))
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
    else:
        print("\n".join(summary.lines()))
    return OK


def cmd_purge(args: argparse.Namespace) -> int:
    async def work(log: ConsentLog) -> tuple[int, int]:
        days = log.retention_days if args.older_than is None else args.older_than
        return await log.purge(days), days

    count, days = run(args, work)
    print(f"purged the personal fields of {count} records older than {days} days")
    return OK


def cmd_texts(args: argparse.Namespace) -> int:
    found = run(args, lambda log: log.texts(args.hash))
    if found is None:
        print(f"no archived texts with hash {args.hash}", file=sys.stderr)
        return FINDINGS
    print(json.dumps(found.to_dict(), indent=2, ensure_ascii=False))
    if texts_hash(found.texts) != found.hash:
        print(f"the archived texts do not match the hash {found.hash} (modified)", file=sys.stderr)
        return FINDINGS
    return OK


def cmd_public_key(args: argparse.Namespace) -> int:
    log = open_log(args)
    try:
        key = log.public_key()
    except KeyFileError as exc:
        raise Usage(str(exc)) from None
    if key is None:
        raise Usage(f"{args.policy}: audit.signing_key is not set; checkpoints are unsigned")
    sys.stdout.write(key.pem())
    return OK


def _add_subcommands(commands: argparse._SubParsersAction) -> None:
    verify = commands.add_parser(
        "verify",
        help="verify the log (--policy) or an export (--export with --public-key)",
        description="Re-hash every record, walk the chain and check every checkpoint "
        "signature. Exit 1 names the first bad record.",
    )
    policy_arg(verify, required=False)
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
    verify.set_defaults(func=guarded("audit verify", cmd_verify))

    exp = commands.add_parser(
        "export",
        help="export records (JSONL verifiable offline, CSV, ISO/IEC TS 27560 JSON)",
    )
    policy_arg(exp)
    exp.add_argument(
        "--format",
        choices=FORMATS,
        help="jsonl (default; carries hashes and checkpoints), csv, or 27560 "
        "(default from --output's suffix: .csv, .json)",
    )
    range_args(exp)
    exp.add_argument("--consent-id", metavar="ID", help="one visitor's records")
    exp.add_argument("--country", metavar="CC", help="records from this country")
    exp.add_argument("--output", "-o", metavar="FILE", help="write here (default: stdout)")
    exp.add_argument(
        "--head",
        action="append",
        metavar="HEAD.json",
        help="a signed head the auditor kept: include a consistency proof from it",
    )
    exp.set_defaults(func=guarded("audit export", cmd_export))

    show = commands.add_parser("show", help="one visitor's whole history (access requests)")
    show.add_argument("consent_id", metavar="CONSENT_ID")
    policy_arg(show)
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=guarded("audit show", cmd_show))

    stats = commands.add_parser("stats", help="decisions by day, mode and choice")
    policy_arg(stats)
    range_args(stats)
    stats.add_argument("--country", metavar="CC")
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(func=guarded("audit stats", cmd_stats))

    purge = commands.add_parser(
        "purge", help="erase personal fields of old records (hashes stay, verify still passes)"
    )
    policy_arg(purge)
    purge.add_argument(
        "--older-than", type=int, metavar="DAYS", help="default: audit.retention_days"
    )
    purge.set_defaults(func=guarded("audit purge", cmd_purge))

    texts = commands.add_parser("texts", help="print the archived texts with this hash")
    texts.add_argument("hash", metavar="HASH")
    policy_arg(texts)
    texts.set_defaults(func=guarded("audit texts", cmd_texts))

    add_head_commands(commands)

    key = commands.add_parser("public-key", help="print the checkpoints' public key (PEM)")
    policy_arg(key)
    key.set_defaults(func=guarded("audit public-key", cmd_public_key))


def register(commands: argparse._SubParsersAction) -> None:
    """Add `audit` and its subcommands to the `gatekeeper` command."""
    audit = commands.add_parser(
        "audit",
        help="the consent log: verify, export, report, show, stats, purge, texts, "
        "checkpoint, head, public-key",
        description="The consent log, for auditors and operators.",
    )
    sub = audit.add_subparsers(dest="audit_command", required=True, metavar="SUBCOMMAND")
    _add_subcommands(sub)
