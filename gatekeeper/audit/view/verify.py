"""The verification page: the same checks as `gatekeeper audit verify`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ...endpoints import Request, Response
from ...i18n import builtin
from .. import present
from ..record import iso
from .frame import Frame


async def verify(frame: Frame, request: Request) -> Response:
    async with frame.verifying:
        report = await frame.log.verify()
    first = report.first_bad
    bad: dict[str, Any] | None = None
    if first is not None and first.seq is not None:
        page = await frame.log.records(after=first.seq - 1, limit=1)
        if page and page[0].seq == first.seq:
            bad = frame.row(page[0])
    findings = [
        {
            "seq": f.seq,
            "message": f.message,
            "url": frame.url(after=f.seq - 1, limit=1) if f.seq is not None else None,
        }
        for f in report.findings
    ]
    return frame.page(
        "audit_verify.html",
        title=builtin("Verification"),
        current="/verify",
        report=report,
        ok=report.ok,
        findings=findings,
        first=first,
        bad=bad,
        checked_at=present.when(iso(datetime.now(UTC))),
    )
