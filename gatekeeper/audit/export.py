"""Exports for auditors: JSONL (verifiable offline), CSV, and ISO/IEC TS 27560-shaped JSON.

A JSONL export carries everything verification needs, and no more records than asked
for. It spans whole checkpoint intervals around the matching records: it starts at the
last checkpoint at or before the first match (whose signed frontier lets the tree be
continued without the records before it) and ends at the first checkpoint after the
last match, so every exported record sits under a signature. Records in that span that
do not match the filters appear as their hashes only.

Lines, in order: `header` (with the log's signed declarations); `consistency` proofs
from signed heads an auditor kept that are older than the export's start (asked for with
`heads`); then `record` or `leaf` lines by seq, with each `checkpoint` after the record
that completes it; `texts` for the texts the records reference; `end`. `offline.py`
verifies it.
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from .checkpoint import Checkpoint
from .consistency import prove
from .record import Record, iso
from .store import Query, Store
from .verify import PAGE

Format = Literal["jsonl", "csv", "27560"]
FORMATS: tuple[Format, ...] = ("jsonl", "csv", "27560")
EXPORT_FORMAT = "gatekeeper-consent-log"
EXPORT_VERSION = 2
EXPORT_VERSIONS = (1, 2)  # version 1: no declarations, checkpoints not chained
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


async def _proofs(store: Store, span: Span, heads: Sequence[Checkpoint]) -> list[dict[str, Any]]:
    """Consistency proofs from the kept heads older than the export's start to its anchor."""
    early = sorted({h.size: h for h in heads if 0 < h.size < span.start}.values(), key=_size)
    if not early or span.anchor is None:
        return []
    leaves: list[bytes] = []
    while len(leaves) < span.start:
        page = await store.leaves(len(leaves) - 1, span.start)
        if not page:
            break
        leaves += [bytes.fromhex(leaf) for _, leaf in page]
    if len(leaves) != span.start:
        return []  # records are missing: the proof cannot be made, and verify will say so
    return [
        {
            "type": "consistency",
            "from_size": head.size,
            "from_root": head.root,
            "to_size": span.start,
            "to_root": span.anchor.root,
            "proof": [node.hex() for node in prove(leaves, head.size)],
        }
        for head in early
    ]


def _size(checkpoint: Checkpoint) -> int:
    return checkpoint.size


async def export_jsonl(
    store: Store,
    out: TextIO,
    query: Query,
    progress: Progress | None = None,
    *,
    heads: Sequence[Checkpoint] = (),
) -> int:
    """`heads`: signed heads the auditor kept; the export proves it extends each one."""
    head = await store.head()
    span = await _span(store, query, head.size, await store.checkpoints())
    declarations = await store.declarations()
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
                "declarations": [d.to_dict() for d in declarations],
            }
        )
        + "\n"
    )
    for proof in await _proofs(store, span, heads):
        out.write(_dump(proof) + "\n")
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
    store: Store,
    out: TextIO,
    fmt: Format,
    query: Query,
    progress: Progress | None = None,
    *,
    heads: Sequence[Checkpoint] = (),
) -> int:
    """Write the export; return the number of matching records."""
    if fmt == "jsonl":
        return await export_jsonl(store, out, query, progress, heads=heads)
    writers = {"csv": export_csv, "27560": export_27560}
    return await writers[fmt](store, out, query, progress)
