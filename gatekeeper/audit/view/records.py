"""The records page: the log in chain order, filtered, paged by sequence number."""

from __future__ import annotations

from ...endpoints import Request, Response
from ...i18n import builtin
from ..record import EVENT_TYPES, MODES, Record
from .filters import Filters, number
from .frame import Frame

PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
SCAN_PAGE = 500
SCAN_MAX = 20_000  # records one request reads looking for event/mode matches


async def scan(
    frame: Frame, filters: Filters, after: int, limit: int
) -> tuple[list[Record], int | None, bool]:
    """Up to `limit` matching records after `after`; the seq to continue after (None
    at the end of the log); whether the scan stopped early at SCAN_MAX."""
    query = filters.query()
    found: list[Record] = []
    cursor = after
    scanned = 0
    while len(found) < limit:
        size = SCAN_PAGE if filters.in_python else limit - len(found)
        page = await frame.log.records(query, after=cursor, limit=size)
        for record in page:
            cursor = record.seq
            if filters.matches(record):
                found.append(record)
                if len(found) == limit:
                    break
        scanned += len(page)
        if len(page) < size and len(found) < limit:
            return found, None, False
        if len(found) < limit and scanned >= SCAN_MAX:
            return found, cursor, True
    return found, cursor, False


async def records(frame: Frame, request: Request) -> Response:
    params = request.query()
    filters = Filters.parse(params)
    after = number(params.get("after"), "after", -1, -1, 2**62)
    limit = number(params.get("limit"), "limit", PAGE_SIZE, 1, MAX_PAGE_SIZE)
    found, next_after, stopped = await scan(frame, filters, after, limit)
    head = await frame.log.head()
    keep = filters.params()
    if limit != PAGE_SIZE:
        keep["limit"] = str(limit)
    return frame.page(
        "audit_records.html",
        title=builtin("Consent records"),
        current="",
        filters=filters,
        events=EVENT_TYPES,
        modes=MODES,
        rows=[frame.row(r) for r in found],
        log_size=head.size,
        after=after,
        stopped=stopped,
        scanned_to=next_after,
        next_url=frame.url(after=next_after, **keep) if next_after is not None else None,
        first_url=frame.url(**keep) if after >= 0 else None,
        exports={
            "jsonl": frame.url("/export.jsonl", **filters.params(store_only=True)),
            "csv": frame.url("/export.csv", **filters.params(store_only=True)),
        },
    )
