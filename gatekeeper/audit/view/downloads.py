"""Downloads: the filtered records as JSON Lines (verifiable offline) or CSV, and the
evidence report as one HTML file."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from ...endpoints import BadRequest, Request, Response
from ..evidence import gather, render
from ..export import Format
from ..export import export as write_export
from .filters import Filters
from .frame import Frame

EXPORT_MAX = 200_000  # records one download may hold (it is built in memory)
EXPORT_TYPES = {"jsonl": b"application/x-ndjson; charset=utf-8", "csv": b"text/csv; charset=utf-8"}


async def _export(frame: Frame, request: Request, fmt: Format) -> Response:
    filters = Filters.parse(request.query())
    if filters.in_python:
        raise BadRequest(
            "downloads filter by dates, country and consent id only: "
            "remove the event and mode filters"
        )
    query = filters.query()
    found = await frame.log.store.seq_range(query)
    if found is not None and found[2] > EXPORT_MAX:
        raise BadRequest(
            f"{found[2]} records match, more than one download holds ({EXPORT_MAX}): "
            "narrow the dates, or run `gatekeeper audit export` on the server",
            413,
        )
    out = io.StringIO()
    await write_export(frame.log.store, out, fmt, query)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    kind = EXPORT_TYPES[fmt]
    disposition = f'attachment; filename="consent-log-{stamp}.{fmt}"'.encode()
    return Response(
        body=out.getvalue().encode("utf-8"),
        content_type=kind,
        headers=[(b"content-disposition", disposition)],
    )


async def export_jsonl(frame: Frame, request: Request) -> Response:
    return await _export(frame, request, "jsonl")


async def export_csv(frame: Frame, request: Request) -> Response:
    return await _export(frame, request, "csv")


async def report(frame: Frame, request: Request) -> Response:
    """The evidence report for the filtered period, as `gatekeeper audit report` writes it."""
    params = request.query()
    filters = Filters.parse({k: params[k] for k in ("since", "until") if k in params})
    query = filters.query()
    async with frame.verifying:
        evidence = await gather(
            frame.log,
            frame.policy.site.name,
            since=query.since,
            until=query.until,
            shown_since=filters.since or None,
            shown_until=filters.until or None,
        )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    disposition = f'attachment; filename="consent-evidence-{stamp}.html"'.encode()
    return Response(
        body=render(evidence, frame.renderer, frame.language).encode("utf-8"),
        content_type=b"text/html; charset=utf-8",
        headers=[(b"content-disposition", disposition)],
    )
