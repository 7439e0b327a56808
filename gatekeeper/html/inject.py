"""Streaming HTML injection: which responses qualify, and the per-response splice.

`Injection` carries one response's `Snippets` through its body messages: the start
message is held until the first body message; a body that arrives in one message is
spliced whole and gets an exact Content-Length; a streamed body loses its Content-Length
and is spliced chunk by chunk (gatekeeper.html.splice). `Snippets.transforms` (script
gating) rewrite the app's markup first, then `Snippets.top` goes right after the opening
`<body ...>` tag; the head and body snippets are spliced into what comes out of them.
Injected snippets are never searched for markers.

Qualifying: a GET request that is not a fragment request (`HX-Request: true` without
`HX-Boosted`, `Turbo-Frame`, `Sec-Fetch-Dest` other than document/iframe/frame), answered
with status 200, a `text/html` or `application/xhtml+xml` Content-Type, no
Content-Encoding but identity, no `Cache-Control: no-transform` and no
`Content-Disposition: attachment`. Transforms apply to every such HTML body whatever the
status (an error page can carry a tracking script too), except bodiless ones (HEAD, 204,
206, 304).

`HTMLInjector(app, provider)` is the same machinery as a standalone pure-ASGI middleware,
for apps that want injection without the rest of gatekeeper; gatekeeper's own request
path drives `Injection` directly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeAlias

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gatekeeper.html.csp import csp_nonce
from gatekeeper.html.headers import directive_names, modified_headers
from gatekeeper.html.splice import Placements, Splice, splice_document
from gatekeeper.html.stream import AfterBodyOpen, Transform

__all__ = [
    "HTMLInjector",
    "Injection",
    "ResponseHead",
    "SnippetProvider",
    "Snippets",
    "is_fragment_request",
    "response_verdict",
]


class Snippets:
    """Markup to inject into one response. Treat it as immutable. (A plain class: made
    for every page view, where a frozen dataclass's `__init__` costs twice as much.)"""

    __slots__ = ("body", "head", "personalised", "top", "transforms")

    def __init__(
        self,
        head: bytes = b"",
        top: bytes = b"",
        transforms: tuple[Transform, ...] = (),
        body: bytes = b"",
        personalised: bool = True,
    ) -> None:
        self.head = head
        """Inserted right after the opening `<head ...>` tag (styles, Consent Mode
        defaults)."""
        self.top = top
        """Inserted right after the opening `<body ...>` tag (bars in the page's flow)."""
        self.transforms = transforms
        """Per-response rewriters the document streams through first (script gating)."""
        self.body = body
        """Inserted right before the last `</body` (notices, scripts)."""
        self.personalised = personalised
        """The snippets depend on the visitor: the response becomes private (Vary:
        Cookie)."""

    def __repr__(self) -> str:
        return (
            f"Snippets(head={self.head[:40]!r}, top={self.top[:40]!r}, "
            f"body={self.body[:40]!r}, transforms={self.transforms!r})"
        )


@dataclass(frozen=True, slots=True)
class ResponseHead:
    """What the provider may know about the response it is asked to inject into."""

    status: int
    headers: list[tuple[bytes, bytes]]
    """The app's raw response headers; read them, do not mutate them."""
    nonce: str | None
    """The CSP nonce to stamp on injected scripts and styles (see `csp_nonce`)."""


# No body to rewrite, or a partial one that must stay byte-exact.
NO_BODY_STATUSES = frozenset({204, 205, 206, 304})

SnippetProvider: TypeAlias = Callable[[Scope, ResponseHead], Snippets | None]
"""Called once per qualifying response; returns the snippets, or None to inject nothing."""


class Injection:
    """One response's body on its way through the snippets' transforms and splice."""

    __slots__ = ("chain", "done", "max_hold", "placements", "snippets", "splice", "start")

    def __init__(
        self,
        start: Message,
        snippets: Snippets,
        max_hold: int,
        placements: Placements | None = None,
    ) -> None:
        self.start = start
        self.placements = placements
        self.snippets = snippets
        self.max_hold = max_hold
        self.chain = snippets.transforms
        self.done = False
        self.splice: Splice | None = None

    def _through(self, chunk: bytes, final: bool) -> bytes:
        """The chunk after the response's transforms (each finished on the last chunk)."""
        if final and self.splice is None:
            # A whole document: a transform that can take it in one go may know it.
            for transform in self.chain:
                whole = getattr(transform, "whole", None)
                chunk = whole(chunk) if whole else transform.feed(chunk) + transform.finish()
            return chunk
        for transform in self.chain:
            chunk = transform.feed(chunk)
            if final:
                chunk += transform.finish()
        return chunk

    def first(self, message: Message) -> tuple[Message, Message | None]:
        """The modified start message and the first body message to send, if any."""
        snippets = self.snippets
        start = self.start
        more = message.get("more_body", False)
        if more and snippets.top:
            self.chain += (AfterBodyOpen(snippets.top),)
        chunk = self._through(message.get("body", b""), not more)
        if more:
            self.splice = Splice(snippets.head, snippets.body, self.max_hold)
            body = self.splice.feed(chunk)
            headers = modified_headers(start["headers"], None, snippets.personalised)
            if not body:
                return {**start, "headers": headers}, None
            out: Message = {"type": "http.response.body", "body": body, "more_body": True}
        else:
            self.done = True
            body = splice_document(
                chunk, snippets.head, snippets.body, snippets.top, self.placements
            )
            length = None if start.get("trailers", False) else len(body)
            headers = modified_headers(start["headers"], length, snippets.personalised)
            out = {"type": "http.response.body", "body": body, "more_body": False}
        return {**start, "headers": headers}, out

    def next(self, message: Message) -> Message | None:
        """A later body message, spliced; None when there is nothing to send yet."""
        splice = self.splice
        assert splice is not None
        if message.get("more_body", False):
            body = splice.feed(self._through(message.get("body", b""), False))
            return {"type": "http.response.body", "body": body, "more_body": True} if body else None
        self.done = True
        body = splice.finish(self._through(message.get("body", b""), True))
        return {"type": "http.response.body", "body": body, "more_body": False}


class HTMLInjector:
    """Pure-ASGI middleware that injects `Snippets` into streamed HTML responses."""

    def __init__(
        self, app: ASGIApp, provider: SnippetProvider, *, max_hold: int = 64 * 1024
    ) -> None:
        if max_hold < 0:
            raise ValueError(f"max_hold must be >= 0, not {max_hold!r}")
        self.app = app
        self.provider = provider
        self.max_hold = max_hold
        self.placements = Placements()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "HEAD":
            await self.app(scope, receive, send)
            return
        page = scope["method"] == "GET" and not is_fragment_request(dict(scope["headers"]))
        responder = _Responder(self, scope, send, page)
        await self.app(scope, receive, responder.send)
        if responder.held is not None:
            # The app started a response and sent no body message (an ASGI error): let the
            # server see exactly what the app sent.
            held, responder.held = responder.held, None
            await send(held)


class _Responder:
    """The state of one response; `send` is what the app sees."""

    __slots__ = ("held", "injection", "injector", "page", "passing", "scope", "send_on")

    def __init__(self, injector: HTMLInjector, scope: Scope, send: Send, page: bool) -> None:
        self.injector = injector
        self.page = page
        self.scope = scope
        self.send_on = send
        self.passing = False
        self.held: Message | None = None
        self.injection: Injection | None = None

    async def send(self, message: Message) -> None:
        injection = self.injection
        if self.passing or (injection is not None and injection.done):
            # After the final body nothing of ours is sent; the app's own later messages
            # (trailers, or a faulty extra body) reach the server as they would unwrapped.
            await self.send_on(message)
        elif injection is not None and self.held is None:
            if message["type"] == "http.response.body":
                out = injection.next(message)
                if out is not None:
                    await self.send_on(out)
            else:
                await self.send_on(message)
        elif self.held is None:
            # Anything before the start (http.response.early_hint, ...) goes on as it is.
            if message["type"] != "http.response.start":
                await self.send_on(message)
            elif (unheld := self._hold(message)) is not None:
                await self.send_on(unheld)
        elif message["type"] == "http.response.body":  # the first body message
            assert injection is not None
            self.held = None
            start, first = injection.first(message)
            await self.send_on(start)
            if first is not None:
                await self.send_on(first)
        else:  # http.response.pathsend, zerocopysend, ...: no body to splice.
            self.passing = True
            held, self.held = self.held, None
            await self.send_on(held)
            await self.send_on(message)

    def _hold(self, message: Message) -> Message | None:
        """Hold the start message of a response to inject into; else return it to send."""
        headers = message.get("headers", [])
        if not isinstance(headers, list):  # any iterable is allowed; we read it twice
            headers = list(headers)
            message = {**message, "headers": headers}
        snippets = None
        status = message["status"]
        if 200 <= status < 600 and status not in NO_BODY_STATUSES:
            verdict = response_verdict(headers)
            if verdict:
                nonce = csp_nonce(headers) if verdict == HTML_WITH_CSP else None
                snippets = self.injector.provider(self.scope, ResponseHead(status, headers, nonce))
                if snippets is not None and not (self.page and status == 200):
                    snippets = Snippets(
                        transforms=snippets.transforms, personalised=snippets.personalised
                    )
        if snippets is None or not (
            snippets.head or snippets.body or snippets.top or snippets.transforms
        ):
            self.passing = True
            return message
        self.held = message
        self.injection = Injection(
            message, snippets, self.injector.max_hold, self.injector.placements
        )
        return None


# -- which requests and responses qualify ------------------------------------------------

_FRAME_DESTINATIONS = frozenset({b"document", b"iframe", b"frame"})
_HTML_MEDIA_TYPES = (b"text/html", b"application/xhtml+xml")
# The media types, and the Content-Type values frameworks send most, matched as they are.
_HTML_TYPES = frozenset(
    (*_HTML_MEDIA_TYPES, b"text/html; charset=utf-8", b"text/html; charset=UTF-8")
)
# Content-Type values that are not HTML, as frameworks send them most: a JSON or asset
# response is told apart with one set lookup instead of parsing the value.
_OTHER_TYPES = frozenset(
    (
        b"application/json",
        b"application/javascript",
        b"application/octet-stream",
        b"text/plain; charset=utf-8",
        b"text/css; charset=utf-8",
        b"text/javascript; charset=utf-8",
        b"image/png",
        b"image/jpeg",
        b"image/svg+xml",
        b"image/webp",
        b"font/woff2",
    )
)
HTML, HTML_WITH_CSP = 1, 2


def is_fragment_request(fields: Mapping[bytes, bytes]) -> bool:
    """htmx (not boosted), Turbo Frame and non-document fetches want no page furniture.
    `fields`: the request's headers by (lower-case, as ASGI servers give them) name."""
    if b"turbo-frame" in fields:
        return True
    dest = fields.get(b"sec-fetch-dest")
    if (
        dest is not None
        and dest not in _FRAME_DESTINATIONS
        and dest.strip().lower() not in _FRAME_DESTINATIONS
    ):
        return True
    htmx = fields.get(b"hx-request")
    return htmx is not None and htmx.strip().lower() == b"true" and b"hx-boosted" not in fields


_CONTENT_TYPE, _CONTENT_ENCODING, _CACHE, _DISPOSITION, _CSP, _SET_COOKIE = range(6)
_VERDICT_HEADERS = {
    b"content-type": _CONTENT_TYPE,
    b"content-encoding": _CONTENT_ENCODING,
    b"cache-control": _CACHE,
    b"content-disposition": _DISPOSITION,
    b"content-security-policy": _CSP,
    b"set-cookie": _SET_COOKIE,
}


def response_verdict(headers: list[tuple[bytes, bytes]], cookies: list[bytes] | None = None) -> int:
    """0 when a response must not be touched, else HTML or HTML_WITH_CSP. With `cookies`,
    the same pass appends the response's Set-Cookie values to it (the consent step's
    share of the headers, so that they are read once)."""
    html = csp = False
    untouchable = False
    kinds = _VERDICT_HEADERS
    for name, value in headers:
        # ASGI apps send lower-case names: look them up as they are first.
        kind = kinds.get(name)
        if kind is None and (name.islower() or (kind := kinds.get(name.lower())) is None):
            continue
        if kind == _SET_COOKIE:
            if cookies is not None:
                cookies.append(value)
        elif kind == _CONTENT_TYPE:
            html = value in _HTML_TYPES or (
                value not in _OTHER_TYPES
                and value.partition(b";")[0].strip().lower() in _HTML_TYPES
            )
        elif kind == _CONTENT_ENCODING:
            for coding in value.lower().split(b","):
                if coding.strip() not in (b"", b"identity"):
                    untouchable = True
        elif kind == _CACHE:
            if value.lower().find(b"no-transform") >= 0 and b"no-transform" in directive_names(
                value
            ):
                untouchable = True
        elif kind == _DISPOSITION:
            if value.partition(b";")[0].strip().lower() == b"attachment":
                untouchable = True
        else:
            csp = True
    if untouchable or not html:
        return 0
    return HTML_WITH_CSP if csp else HTML
