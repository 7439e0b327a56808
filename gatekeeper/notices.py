"""Which notices a page carries, composed into the snippets the HTML injector splices in.

Each feature contributes `Parts` through a `NoticeSource`; this module owns the shared
pieces (stylesheet, script, the notification bar and the offline notice) and the
per-request slots (CSP nonce, the `next` path of no-JavaScript forms). Markup is rendered
once per language at start-up; a request only selects and concatenates bytes.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

from .endpoints import Request, Response, Route, json_response, redirect, safe_next
from .html import ResponseHead, Snippets
from .html.assets import Assets
from .html.render import Renderer, stamp_nonce
from .html.stream import Transform
from .i18n import builtin
from .policy import Policy, path_matches
from .policy.codes import expand
from .policy.schema import Notification
from .visitor import SCOPE_KEY, Visitor

NEXT_SLOT = "__gk_next__"
NEXT_QUERY_SLOT = "__gk_next_q__"  # the same, inside a URL's query (percent-encoded)
_NEXT_SLOT_BYTES = NEXT_SLOT.encode()
_NEXT_QUERY_SLOT_BYTES = NEXT_QUERY_SLOT.encode()
TOKEN_SLOT = "__gk_token__"
DISMISSED_COOKIE = "gk_dismissed"
_SPLIT = b"\x00gk\x00"  # never in rendered markup: templates are text

# Words of gatekeeper's own chrome, for templates that write `t(ui.dismiss)` (operators'
# copies of older templates): each is a built-in text, translated into the visitor's
# language by the catalogue (gatekeeper/i18n). The built-in templates write `_("Dismiss")`.
UI: dict[str, dict[str, str]] = {
    "dismiss": builtin("Dismiss"),
    "notices": builtin("Site notices"),
    "privacy_policy": builtin("Privacy policy"),
    "categories": builtin("Categories"),
    "reference": builtin("Reference"),
    "withdraw": builtin("Withdraw my consent"),
    "back": builtin("Back to the site"),
    "consent_id": builtin("Consent ID"),
}


@dataclass(frozen=True, slots=True)
class Parts:
    """One feature's contribution to a page."""

    head: bytes = b""
    top: bytes = b""
    """Before everything else in the body: bars that push the page down."""
    body: bytes = b""


class NoticeSource(Protocol):
    def parts(self, scope: dict[str, Any], visitor: Visitor) -> Parts | None: ...


Gate = Callable[[Visitor], Transform | None]
"""A feature's per-response rewriter of the app's markup (script gating), or None."""


def here(scope: dict[str, Any]) -> str:
    """The current page, as a same-site path to come back to."""
    path = quote(scope.get("path", "/"), safe="/-._~!$&'()*+,;=:@%")
    query = scope.get("query_string", b"")
    if query:
        path += "?" + query.decode("latin-1")
    return safe_next(path)


def fill_slots(markup: bytes, scope: dict[str, Any], nonce: str | None) -> bytes:
    """Per-request values of pre-rendered markup: the nonce and the page to return to."""
    markup = stamp_nonce(markup, nonce)
    if _NEXT_SLOT_BYTES in markup:
        markup = markup.replace(_NEXT_SLOT_BYTES, html.escape(here(scope)).encode())
    if _NEXT_QUERY_SLOT_BYTES in markup:
        value = html.escape(quote(here(scope), safe="/")).encode()
        markup = markup.replace(_NEXT_QUERY_SLOT_BYTES, value)
    return markup


def today_utc(clock: Callable[[], float] = time.time) -> int:
    """Days since the epoch: compared against notification dates without datetime work."""
    return int(clock() // 86400)


class NotificationBar:
    """The policy's notifications: scheduled, targeted, dismissible, stacked by priority."""

    def __init__(
        self,
        notes: Sequence[Notification],
        renderer: Renderer,
        languages: Iterable[str],
        prefix: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock
        self.ids = frozenset(note.id for note in notes)
        ordered = sorted(notes, key=lambda n: -n.priority)  # stable: file order breaks ties
        self.notes = [
            (
                note,
                note.starts.toordinal() - 719163 if note.starts else None,
                note.ends.toordinal() - 719163 if note.ends else None,
                expand(note.countries) if note.countries else None,
            )
            for note in ordered
        ]
        self.rendered: dict[tuple[str, str], bytes] = {}
        self.wrappers: dict[str, tuple[bytes, bytes]] = {}
        for language in languages:
            for note in ordered:
                markup = renderer.render(
                    "notification.html",
                    language,
                    note=note,
                    prefix=prefix,
                    next_slot=NEXT_SLOT,
                    ui=UI,
                )
                self.rendered[(note.id, language)] = markup.encode()
            bar = renderer.render("notification_bar.html", language, notes="\x00", ui=UI).encode()
            opening, _, closing = bar.partition(b"\x00")
            self.wrappers[language] = (opening, closing)

    def selected(self, scope: dict[str, Any], visitor: Visitor) -> list[Notification]:
        day = today_utc(self.clock)
        dismissed = _dismissed(visitor)
        places = visitor.places
        chosen = []
        for note, starts, ends, audience in self.notes:
            if (starts is not None and day < starts) or (ends is not None and day > ends):
                continue
            if audience is not None and not any(place in audience for place in places):
                continue
            if note.paths and not path_matches(scope["path"], note.paths):
                continue
            if note.languages and visitor.language not in note.languages:
                continue
            if note.dismissible and note.id in dismissed:
                continue
            chosen.append(note)
        return chosen

    def parts(self, scope: dict[str, Any], visitor: Visitor) -> Parts | None:
        notes = self.selected(scope, visitor)
        if not notes:
            return None
        opening, closing = self.wrappers[visitor.language]
        inner = b"".join(self.rendered[(note.id, visitor.language)] for note in notes)
        return Parts(top=opening + inner + closing)

    async def dismiss(self, request: Request) -> Response:
        """POST {prefix}/notifications/dismiss: remember a dismissal in a necessary cookie."""
        note = request.field("id")
        if note not in self.ids:
            return json_response({"error": f"unknown notification {note!r}"}, 400)
        kept = [i for i in _dismissed(request.visitor) if i in self.ids and i != note]
        value = ".".join([*kept, note])
        response = (
            json_response({"dismissed": note})
            if request.wants_json
            else redirect(safe_next(request.field("next")))
        )
        secure = "; Secure" if request.secure else ""
        response.set_cookie(
            f"{DISMISSED_COOKIE}={value}; Path=/; Max-Age=31536000; SameSite=Lax{secure}"
        )
        return response

    def routes(self) -> dict[str, Route]:
        return {"/notifications/dismiss": Route(frozenset({"POST"}), self.dismiss)}


def _dismissed(visitor: Visitor) -> set[str]:
    cookie = visitor.headers.get("cookie", "")
    if DISMISSED_COOKIE not in cookie:
        return set()
    for item in cookie.split(";"):
        name, _, value = item.strip().partition("=")
        if name == DISMISSED_COOKIE:
            return set(value.split("."))
    return set()


class OfflineNotice:
    def __init__(self, policy: Policy, renderer: Renderer) -> None:
        self.rendered = {
            language: renderer.render(
                "offline.html", language, notice=policy.offline_notice
            ).encode()
            for language in policy.languages.available
        }

    def parts(self, scope: dict[str, Any], visitor: Visitor) -> Parts | None:
        return Parts(body=self.rendered[visitor.language])


class BlockPage:
    """The page shown to visitors from blocked places, pre-rendered per language."""

    def __init__(self, policy: Policy, renderer: Renderer, assets: Assets) -> None:
        self.rendered = {
            language: renderer.render(
                "block.html",
                language,
                page=policy.geoblock.page,
                site=policy.site,
                css_url=assets.url("gatekeeper.css"),
                reference="",
                ui=UI,
            ).encode()
            for language in policy.languages.available
        }

    def render(self, visitor: Visitor) -> bytes:
        return self.rendered[visitor.language]


class Notices:
    """The snippet provider of the HTML injector: every notice of one page, composed."""

    def __init__(
        self,
        sources: Sequence[NoticeSource],
        renderer: Renderer,
        assets: Assets,
        languages: Iterable[str],
        gates: Sequence[Gate] = (),
    ) -> None:
        self.sources = list(sources)
        self.gates = list(gates)
        self.head = {
            language: renderer.render(
                "head.html", language, css_url=assets.url("gatekeeper.css")
            ).encode()
            for language in languages
        }
        self.script = renderer.render(
            "scripts.html", "en", js_url=assets.url("gatekeeper.js")
        ).encode()

    def __call__(self, scope: dict[str, Any], response: ResponseHead) -> Snippets | None:
        visitor: Visitor = scope[SCOPE_KEY]
        head: list[bytes] = [self.head[visitor.language]]
        top: list[bytes] = []
        body: list[bytes] = []
        for source in self.sources:
            parts = source.parts(scope, visitor)
            if parts is not None:
                head.append(parts.head)
                top.append(parts.top)
                body.append(parts.body)
        transforms = tuple(t for t in (gate(visitor) for gate in self.gates) if t is not None)
        if not any(top) and not any(body):
            if not transforms:
                return None
            return Snippets(transforms=transforms)
        body.append(self.script)
        # One pass of slot filling over all three parts, split again afterwards.
        filled = fill_slots(
            b"".join(head) + _SPLIT + b"".join(top) + _SPLIT + b"".join(body),
            scope,
            response.nonce,
        )
        head_bytes, top_bytes, body_bytes = filled.split(_SPLIT)
        return Snippets(head=head_bytes, top=top_bytes, body=body_bytes, transforms=transforms)
