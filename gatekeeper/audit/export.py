"""Exports for auditors: JSONL (verifiable offline), CSV, and ISO/IEC TS 27560-shaped JSON.

A JSONL export carries everything verification needs, and no more records than asked
for. It spans whole checkpoint intervals around the matching records: it starts at the
last checkpoint at or before the first match (whose signed frontier lets the tree be
continued without the records before it) and ends at the first checkpoint after the
last match, so every exported record sits under a signature. Records in that span that
do not match the filters appear as their hashes only.

Lines, in order: `header`; then `record` or `leaf` lines by seq, with each `checkpoint`
after the record that completes it; `texts` for the texts the records reference; `end`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from .chain import ChainState
from .checkpoint import Checkpoint, PublicKey
from .record import Record, iso
from .store import ArchivedTexts, Query, Store
from .verify import PAGE, Report, Verifier

Format = Literal["jsonl", "csv", "27560"]
FORMATS: tuple[Format, ...] = ("jsonl", "csv", "27560")
EXPORT_FORMAT = "gatekeeper-consent-log"
EXPORT_VERSION = 1
Progress = Callable[[int, int], None]

CSV_COLUMNS = (
    "seq",
    "event_id",
    "time",
    "consent_id",
    "event",
    "categories",
    "method",
    "revision",
    "texts_hash",
    "language",
    "mode",
    "country",
    "subdivision",
    "ip",
    "user_agent",
    "path",
    "valid_until",
    "purged",
    "leaf",
    "chain",
)
# Visitors choose these; a spreadsheet would run "=cmd|..." as a formula.
_FREE_TEXT = ("user_agent", "path", "method", "consent_id", "language", "revision")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class Span:
    start: int  # first seq in the export
    end: int  # one past the last seq
    anchor: Checkpoint | None
    checkpoints: dict[int, Checkpoint]


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _filters(query: Query) -> dict[str, str]:
    return {
        k: v
        for k, v in (
            ("since", query.since),
            ("until", query.until),
            ("consent_id", query.consent_id),
            ("country", query.country),
        )
        if v is not None
    }


async def _span(store: Store, query: Query, size: int, checkpoints: list[Checkpoint]) -> Span:
    if query.is_empty():
        start, end = 0, size
    else:
        found = await store.seq_range(query)
        if found is None:
            return Span(0, 0, None, {})
        low, high, _ = found
        start = max((c.size for c in checkpoints if c.size <= low), default=0)
        end = min((c.size for c in checkpoints if c.size > high), default=size)
    by_size = {c.size: c for c in checkpoints}
    inside = {s: c for s, c in by_size.items() if start < s <= end}
    return Span(start, end, by_size.get(start) if start else None, inside)


async def export_jsonl(
    store: Store, out: TextIO, query: Query, progress: Progress | None = None
) -> int:
    head = await store.head()
    span = await _span(store, query, head.size, await store.checkpoints())
    out.write(
        _dump(
            {
                "type": "header",
                "format": EXPORT_FORMAT,
                "version": EXPORT_VERSION,
                "log_id": head.log_id,
                "exported_at": iso(datetime.now(UTC)),
                "log_size": head.size,
                "filters": _filters(query),
                "start": span.start,
                "end": span.end,
                "anchor": span.anchor.to_dict() if span.anchor else None,
            }
        )
        + "\n"
    )
    matched = leaves = 0
    texts: set[str] = set()
    after = span.start - 1
    while after < span.end - 1:
        page = await store.records(Query(), after=after, before=span.end, limit=PAGE)
        if not page:
            break
        for record in page:
            if query.matches(record):
                matched += 1
                texts.add(record.texts_hash)
                out.write(_dump({"type": "record", **record.to_dict()}) + "\n")
            else:
                leaves += 1
                line = {
                    "type": "leaf",
                    "seq": record.seq,
                    "leaf": record.leaf,
                    "chain": record.chain,
                }
                out.write(_dump(line) + "\n")
            checkpoint = span.checkpoints.get(record.seq + 1)
            if checkpoint is not None:
                out.write(_dump({"type": "checkpoint", **checkpoint.to_dict()}) + "\n")
        after = page[-1].seq
        if progress:
            progress(after + 1 - span.start, span.end - span.start)
    for entry in await store.texts(sorted(texts)) if texts else []:
        out.write(_dump({"type": "texts", **entry.to_dict()}) + "\n")
    out.write(_dump({"type": "end", "records": matched, "leaves": leaves}) + "\n")
    return matched


async def _matching(store: Store, query: Query, progress: Progress | None) -> AsyncIterator[Record]:
    found = await store.seq_range(query)
    total = found[2] if found else 0
    done = 0
    after = -1
    while total:
        page = await store.records(query, after=after, limit=PAGE)
        for record in page:
            yield record
        done += len(page)
        if progress:
            progress(done, total)
        if len(page) < PAGE:
            break
        after = page[-1].seq


def _cell(name: str, value: Any) -> Any:
    if value is None:
        return ""
    if name == "categories":
        return _dump(value)
    if name in _FREE_TEXT and isinstance(value, str) and value[:1] in _FORMULA:
        return "'" + value
    return value


async def export_csv(
    store: Store, out: TextIO, query: Query, progress: Progress | None = None
) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    count = 0
    async for record in _matching(store, query, progress):
        data = record.to_dict()
        writer.writerow([_cell(name, data[name]) for name in CSV_COLUMNS])
        count += 1
    return count


_STATE = {
    "given": "given",
    "refused": "refused",
    "updated": "renewed",
    "withdrawn": "withdrawn",
    "expired": "expired",
    "gpc": "refused",
}
_BY = {"expired": "system", "gpc": "signal"}


def iso27560(record: Record, log_id: str) -> dict[str, Any]:
    """One record in the shape of ISO/IEC TS 27560's consent record elements."""

    def status(allowed: bool) -> str:
        if record.event in ("withdrawn", "expired"):
            return record.event
        return "given" if allowed else "refused"

    return {
        "schema_version": "gatekeeper-27560/1",
        "record_id": record.event_id,
        "pii_principal_id": record.consent_id,
        "consent_record_controller": {"log_id": log_id},
        "notice": {
            "notice_id": record.texts_hash,
            "notice_hash_algorithm": "sha-256 of canonical JSON",
            "policy_revision": record.revision,
            "language": record.language,
        },
        "purposes": [
            {"purpose_id": name, "consent_status": status(allowed)}
            for name, allowed in sorted(record.categories.items())
        ],
        "event": {
            "event_time": record.time,
            "event_state": _STATE[record.event],
            "event_source": record.event,
            "event_by": _BY.get(record.event, "pii_principal"),
            "collection_method": record.method,
            "validity_until": record.valid_until,
        },
        "jurisdiction": {
            "consent_mode": record.mode,
            "country": record.country,
            "subdivision": record.subdivision,
        },
        "collection_context": {
            "ip": record.ip,
            "user_agent": record.user_agent,
            "page_path": record.path,
            "purged": record.purged,
        },
        "integrity": {"seq": record.seq, "leaf": record.leaf, "chain": record.chain},
    }


async def export_27560(
    store: Store, out: TextIO, query: Query, progress: Progress | None = None
) -> int:
    head = await store.head()
    header = {
        "conforms_to": "ISO/IEC TS 27560:2023 consent record information structure (shape)",
        "generator": "gatekeeper",
        "log_id": head.log_id,
        "exported_at": iso(datetime.now(UTC)),
        "filters": _filters(query),
    }
    # Streamed: the records array is written one element at a time.
    opening = json.dumps(header, ensure_ascii=False, indent=1)[:-2]
    out.write(opening + ',\n "records": [')
    count = 0
    async for record in _matching(store, query, progress):
        out.write(("," if count else "") + "\n  " + _dump(iso27560(record, head.log_id)))
        count += 1
    out.write("\n ]\n}\n")
    return count


async def export(
    store: Store, out: TextIO, fmt: Format, query: Query, progress: Progress | None = None
) -> int:
    """Write the export; return the number of matching records."""
    writers = {"jsonl": export_jsonl, "csv": export_csv, "27560": export_27560}
    return await writers[fmt](store, out, query, progress)


def verify_export(lines: Iterable[str], public_key: PublicKey | None, source: str) -> Report:
    """Verify a JSONL export with nothing but the file and the public key."""
    report = Report(source=source)
    verifier = Verifier(report, public_key=public_key)
    ended = False
    started = False
    archived: set[str] = set()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            kind = item.get("type")
            if not started:
                if kind != "header" or item.get("format") != EXPORT_FORMAT:
                    verifier.finding(None, "not a gatekeeper consent log export (no header)")
                    return report
                if item.get("version") != EXPORT_VERSION:
                    verifier.finding(None, f"export version {item.get('version')} is unknown")
                    return report
                started = True
                report.log_id = str(item["log_id"])
                anchor = item.get("anchor")
                if anchor is not None:
                    checkpoint = Checkpoint.from_dict(anchor)
                    if checkpoint.log_id != report.log_id or not verifier.anchor(checkpoint):
                        verifier.finding(
                            None,
                            "the checkpoint the export starts from does not "
                            "verify; nothing after it can be trusted",
                        )
                        return report
                    state = ChainState.restore(
                        checkpoint.size, checkpoint.chain, checkpoint.frontier
                    )
                    verifier = Verifier(report, public_key=public_key, start=state)
                elif item.get("start", 0) != 0:
                    verifier.finding(None, "the export starts mid-log without a checkpoint")
                    return report
                continue
            if ended:
                verifier.finding(None, f"line {number}: content after the end line")
            elif kind == "record":
                verifier.record(Record.from_dict(item))
            elif kind == "leaf":
                verifier.leaf(int(item["seq"]), item["leaf"], item["chain"])
            elif kind == "checkpoint":
                verifier.checkpoint(Checkpoint.from_dict(item))
            elif kind == "texts":
                entry = ArchivedTexts(str(item["hash"]), item["texts"], (), "")
                verifier.archived(entry)
                archived.add(entry.hash)
            elif kind == "end":
                ended = True
                counts = (item.get("records"), item.get("leaves"))
                if counts != (report.records, report.leaves_only):
                    verifier.finding(
                        None,
                        "the end line's counts differ from the lines above "
                        "(lines removed or added)",
                    )
            else:
                verifier.finding(None, f"line {number}: unknown line type {kind!r}")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            verifier.finding(None, f"line {number}: malformed ({exc})")
    if not started:
        verifier.finding(None, "the export is empty")
    elif not ended:
        verifier.finding(None, "the export is cut short (no end line)")
    return verifier.finish(archived)
