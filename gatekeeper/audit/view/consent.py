"""One consent id's history, with the texts the visitor was shown: an access request."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...endpoints import Request, Response
from ...i18n import builtin
from .. import present
from .filters import consent_id as checked_id
from .frame import Frame

# The banner's own texts as a visitor meets them; the categories' after, in their order.
READING_ORDER = (
    "title",
    "text",
    "notice_text",
    "accept",
    "reject",
    "customise",
    "save",
    "acknowledge",
    "do_not_sell",
    "gpc_honoured",
    "privacy_url",
)


def in_reading_order(texts: Mapping[str, str]) -> list[tuple[str, str]]:
    """The archived texts (keys of gatekeeper/consent/texts.py) in the banner's order."""
    first = [(name, texts[name]) for name in READING_ORDER if name in texts]
    return first + [(name, text) for name, text in texts.items() if name not in READING_ORDER]


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
                    "texts": in_reading_order(archived.texts) if archived else [],
                    "shown": [
                        {"revision": r, "language": lang, "first_seen": present.when(t)}
                        for r, lang, t in (archived.shown if archived else ())
                    ],
                }
            )
    return frame.page(
        "audit_consent.html",
        title=builtin("Consent history"),
        current="/consent",
        consent_id=consent_id,
        rows=[frame.row(entry) for entry in history],
        texts=texts,
        export_url=frame.url("/export.jsonl", consent_id=consent_id),
    )
