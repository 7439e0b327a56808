"""One consent id's history, with the texts the visitor was shown: an access request."""

from __future__ import annotations

from typing import Any

from ...endpoints import Request, Response
from .. import present
from .filters import consent_id as checked_id
from .frame import Frame


async def consent(frame: Frame, request: Request) -> Response:
    consent_id = checked_id(request.query().get("id", "").strip())
    history: list[dict[str, Any]] = []
    texts: list[dict[str, Any]] = []
    if consent_id:
        history = await frame.log.history(consent_id)
        seen: list[str] = []
        for entry in history:
            if entry["texts_hash"] not in seen:
                seen.append(entry["texts_hash"])
        for digest in seen:
            archived = await frame.log.texts(digest)
            texts.append(
                {
                    "hash": digest,
                    "texts": sorted(archived.texts.items()) if archived else [],
                    "shown": [
                        {"revision": r, "language": lang, "first_seen": present.when(t)}
                        for r, lang, t in (archived.shown if archived else ())
                    ],
                }
            )
    return frame.page(
        "audit_consent.html",
        title="Consent history",
        current="/consent",
        consent_id=consent_id,
        rows=[frame.row(entry) for entry in history],
        texts=texts,
        export_url=frame.url("/export.jsonl", consent_id=consent_id),
    )
