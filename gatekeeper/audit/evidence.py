"""The evidence report: one self-contained, printable HTML file for a period.

What an auditor files: the verification result of the whole log (with any heads they
kept), the signed heads made in the period, the texts shown per policy revision with how
many decisions were made on each, the decision statistics, and decisions and rates over
time as charts. One file, no script, nothing loaded from anywhere (its own CSP forbids
it): it opens the same in a browser years later, and prints.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..html.render import Renderer
from . import present
from .charts import Chart, charts
from .checkpoint import Checkpoint
from .findings import Report
from .log import ConsentLog
from .period import describe
from .record import iso
from .stats import Summary
from .store import Query

PAGE = 5000
LANGUAGE = "en"


@dataclass(frozen=True, slots=True)
class RevisionTexts:
    revision: str
    language: str
    hash: str
    decisions: int  # records in the period that carry this hash
    texts: tuple[tuple[str, str], ...]  # empty when not archived
    archived: bool


@dataclass(frozen=True, slots=True)
class HeadDay:
    day: str
    count: int
    last: Checkpoint


@dataclass(frozen=True, slots=True)
class EvidenceReport:
    site: str
    source: str
    log_id: str
    period: str
    since: str | None
    until: str | None
    generated: str
    report: Report
    summary: Summary
    charts: list[Chart]
    heads: list[HeadDay]
    newest: Checkpoint | None
    texts: list[RevisionTexts]
    public_keys: list[tuple[str, str]]  # (key id, PEM)
    shown_since: str | None = None  # the period as the auditor gave it, for its title
    shown_until: str | None = None


def _in(time: str, query: Query) -> bool:
    return (query.since is None or time >= query.since) and (
        query.until is None or time < query.until
    )


async def _shown(log: ConsentLog, query: Query) -> list[RevisionTexts]:
    counts: dict[tuple[str, str, str], int] = {}
    after = -1
    while True:
        page = await log.store.records(query, after=after, limit=PAGE)
        for record in page:
            key = (record.revision, record.language, record.texts_hash)
            counts[key] = counts.get(key, 0) + 1
        if len(page) < PAGE:
            break
        after = page[-1].seq
    archived = {
        entry.hash: entry for entry in await log.store.texts(sorted({k[2] for k in counts}))
    }
    shown = []
    for (revision, language, digest), decisions in sorted(counts.items()):
        entry = archived.get(digest)
        shown.append(
            RevisionTexts(
                revision,
                language,
                digest,
                decisions,
                tuple(sorted(entry.texts.items())) if entry else (),
                entry is not None,
            )
        )
    return shown


def _head_days(checkpoints: Sequence[Checkpoint], query: Query) -> list[HeadDay]:
    days: dict[str, list[Checkpoint]] = {}
    for checkpoint in checkpoints:
        if _in(checkpoint.time, query):
            days.setdefault(checkpoint.time[:10], []).append(checkpoint)
    return [HeadDay(day, len(found), found[-1]) for day, found in sorted(days.items())]


async def gather(
    log: ConsentLog,
    site: str,
    *,
    since: str | None,
    until: str | None,
    shown_since: str | None = None,
    shown_until: str | None = None,
    heads: Sequence[Checkpoint] = (),
) -> EvidenceReport:
    """Everything the report shows. `since`/`until` are `iso()` bounds; `shown_*` are the
    period as the auditor gave it (`2026-11-01`), for the title."""
    query = Query(since=since, until=until)
    report = await log.verify(heads)
    summary = await log.stats(query)
    keys = log.checkpointer.trusted() if log.checkpointer.key_path else None
    return EvidenceReport(
        site=site,
        source=log.store.display_url,
        log_id=report.log_id,
        period=describe(shown_since, shown_until),
        since=since,
        until=until,
        generated=iso(datetime.now(UTC)),
        report=report,
        summary=summary,
        charts=charts(summary.days()),
        heads=_head_days(await log.store.checkpoints(), query),
        newest=await log.signed_head(),
        texts=await _shown(log, query),
        public_keys=[(key.key_id, key.pem()) for key in keys.keys.values()] if keys else [],
        shown_since=shown_since,
        shown_until=shown_until,
    )


def render(evidence: EvidenceReport, renderer: Renderer, language: str = LANGUAGE) -> str:
    """The report in `language` (the auditor view's, for a download; English otherwise)."""
    summary = evidence.summary
    context: dict[str, Any] = {
        "e": evidence,
        "when": present.when,
        "total": present.tally("All modes", summary.total),
        "by_mode": [present.tally(mode, t) for mode, t in sorted(summary.by_mode.items())],
        "by_day": [present.tally(day, t) for day, t in summary.days().items()],
        "newest_json": json.dumps(evidence.newest.head(), indent=2) if evidence.newest else "",
    }
    return renderer.render("audit_report.html", language, **context)
