"""What every page of the auditor view shares: the log, the layout, links, record rows."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from ...endpoints import Request, Response
from ...html.render import Renderer
from ...policy import Policy
from .. import present
from ..log import ConsentLog
from ..record import Record

LANGUAGE = "en"
HTML = b"text/html; charset=utf-8"
NAV = (
    ("", "Records"),
    ("/consent", "Consent history"),
    ("/verify", "Verification"),
    ("/stats", "Statistics"),
    ("/adblock", "Adblock"),
)

Handler = Callable[["Frame", Request], Awaitable[Response]]


@dataclass
class Frame:
    policy: Policy
    log: ConsentLog
    renderer: Renderer
    css_url: str
    base: str
    adblock_rates: Callable[[], Awaitable[Mapping[str, Any] | None]] | None = None
    # One verification at a time (the verify page and the report): each reads the log.
    verifying: asyncio.Lock = field(default_factory=asyncio.Lock)

    def url(self, page: str = "", **params: Any) -> str:
        query = urlencode({k: v for k, v in params.items() if v is not None and v != ""})
        return f"{self.base}{page}" + (f"?{query}" if query else "")

    def nav(self, current: str) -> list[dict[str, Any]]:
        return [
            {"label": label, "href": self.url(page), "current": page == current}
            for page, label in NAV
        ]

    def page(
        self,
        template: str,
        *,
        status: int = 200,
        title: str,
        current: str | None = None,
        nav: bool = True,
        **context: Any,
    ) -> Response:
        body = self.renderer.render(
            template,
            LANGUAGE,
            title=title,
            site_name=self.policy.site.name,
            css_url=self.css_url,
            base=self.base,
            nav=self.nav(current or "") if nav else [],
            **context,
        )
        return Response(status=status, body=body.encode("utf-8"), content_type=HTML)

    def row(self, record: Record | Mapping[str, Any]) -> dict[str, Any]:
        data = record.to_dict() if isinstance(record, Record) else dict(record)
        place = "-".join(p for p in (data["country"], data["subdivision"]) if p)
        consent_id = data["consent_id"]
        return {
            **data,
            "when": present.when(data["time"]),
            "time_attr": present.machine(data["time"]),
            "valid_until_text": present.when(data["valid_until"]),
            "valid_until_attr": present.machine(data["valid_until"]),
            "place": place,
            "categories": present.categories(data["categories"]),
            "history_url": self.url("/consent", id=consent_id) if consent_id else None,
        }
