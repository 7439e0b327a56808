"""What every page of the auditor view shares: the log, the layout, links, record rows.

The view speaks the auditor's language: the browser's Accept-Language, matched against
every language gatekeeper bundles (not only the site's), or else the policy's default
language. Titles and labels set here and in the page modules are built-in texts
(`builtin(...)`), translated when the page is rendered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from ...endpoints import Request, Response
from ...html.render import Renderer
from ...i18n import BuiltinText, builtin, bundled, has_catalogue
from ...language import LanguageNegotiator
from ...policy import Policy
from .. import present
from ..log import ConsentLog
from ..record import Record

LANGUAGE = "en"
HTML = b"text/html; charset=utf-8"
NAV = (
    ("", builtin("Records")),
    ("/consent", builtin("Consent history")),
    ("/verify", builtin("Verification")),
    ("/stats", builtin("Statistics")),
    ("/adblock", builtin("Adblock")),
    ("/cookies", builtin("Cookie inventory")),
)


def auditor_languages(policy: Policy) -> LanguageNegotiator:
    """Every bundled language; the policy's default language when none is asked for."""
    default = policy.languages.default
    return LanguageNegotiator(bundled(), default if has_catalogue(default) else LANGUAGE)


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
    languages: LanguageNegotiator | None = None
    language: str = LANGUAGE
    cookie_inventory: Callable[[str], Awaitable[Mapping[str, Any]]] | None = None

    def speaking(self, request: Request) -> Frame:
        """This frame in the auditor's language; the same log, lock and links."""
        if self.languages is None:
            return self
        language = self.languages.choose(request.visitor.header(b"accept-language"))
        return self if language == self.language else replace(self, language=language)

    def text(self, value: Any) -> Any:
        """A built-in text in this frame's language; anything else as it is."""
        if isinstance(value, BuiltinText):
            return self.renderer.catalogue(self.language).gettext(value.msgid)
        return value

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
        title: str | BuiltinText,
        current: str | None = None,
        nav: bool = True,
        **context: Any,
    ) -> Response:
        if "message" in context:
            context["message"] = self.text(context["message"])
        body = self.renderer.render(
            template,
            self.language,
            title=self.text(title),
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
