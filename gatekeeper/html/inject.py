"""Streaming HTML injection: a pure-ASGI response filter.

`HTMLInjector(app, provider)` wraps an ASGI app. For each qualifying response it asks the
provider for `Snippets` once, after the app's `http.response.start`, and splices them into
the HTML while it streams:

- `Snippets.head` goes right after the opening `<head ...>` tag (matched
  case-insensitively; the byte after `<head` must be whitespace, `>` or `/`, so
  `<header>` and `<head-x>` never match; quoted attribute values may hold `>`). When a
  `<body` tag comes before any `<head`, it goes right before `<body`. When the document
  has neither, it goes right before the body snippet, wherever that lands.
- `Snippets.body` goes right before the last `</body` followed by whitespace, `>` or
  `/` (case-insensitive), or at the very end of the document when there is none.
  Markers inside comments or scripts are not told apart.
- `Snippets.transforms` (see `gatekeeper.html.stream`) rewrite the app's markup first,
  then `Snippets.top` goes right after the opening `<body ...>` tag; the head and body
  snippets are spliced into what comes out of them. Injected snippets are never searched
  for markers, but markup that a transform or `top` adds is.

Qualifying: a GET request that is not a fragment request (`HX-Request: true` without
`HX-Boosted`, `Turbo-Frame`, `Sec-Fetch-Dest` other than document/iframe/frame), answered
with status 200, a `text/html` or `application/xhtml+xml` Content-Type, no
Content-Encoding but identity, no `Cache-Control: no-transform` and no
`Content-Disposition: attachment`. Everything else (HEAD, 204, 206, 304, ...) passes
through untouched; requests that cannot qualify do not even get a wrapped `send`.

Streaming and memory: `http.response.start` is held until the first body message. A body
that arrives in one message is spliced whole and gets an exact Content-Length; a streamed
body loses its Content-Length and is spliced chunk by chunk. Between chunks only the
few bytes that could start a marker are kept, except from a `</body` candidate onward:
those bytes are held (it may be the last one) until a later candidate releases them, the
body ends, or they exceed `max_hold`, when they are released and the snippet goes at the
end instead. Memory stays below `max_hold` plus one chunk.

Modified responses also get a weak ETag, and lose Content-Length (or get it recomputed),
Accept-Ranges and the body digests. Personalised snippets make the response private: `Vary:
Cookie` and `Cache-Control: private` (see `_private_cache_control`); targeted CDN cache
controls (`CDN-Cache-Control`, `Surrogate-Control`) are removed so that a CDN falls back
to the private Cache-Control.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gatekeeper.html.csp import csp_nonce
from gatekeeper.html.stream import AfterBodyOpen, Transform

__all__ = ["HTMLInjector", "ResponseHead", "SnippetProvider", "Snippets"]


@dataclass(frozen=True, slots=True)
class Snippets:
    """Markup to inject into one response."""

    head: bytes = b""
    """Inserted right after the opening `<head ...>` tag (styles, Consent Mode defaults)."""
    top: bytes = b""
    """Inserted right after the opening `<body ...>` tag (bars in the page's flow)."""
    transforms: tuple[Transform, ...] = ()
    """Per-response rewriters the document streams through first (script gating)."""
    body: bytes = b""
    """Inserted right before the last `</body` (notices, scripts)."""
    personalised: bool = True
    """The snippets depend on the visitor: the response becomes private (Vary: Cookie)."""


@dataclass(frozen=True, slots=True)
class ResponseHead:
    """What the provider may know about the response it is asked to inject into."""

    status: int
    headers: list[tuple[bytes, bytes]]
    """The app's raw response headers; read them, do not mutate them."""
    nonce: str | None
    """The CSP nonce to stamp on injected scripts and styles (see `csp_nonce`)."""


_new = object.__new__
_set_status = ResponseHead.status.__set__  # type: ignore[attr-defined]
_set_headers = ResponseHead.headers.__set__  # type: ignore[attr-defined]
_set_nonce = ResponseHead.nonce.__set__  # type: ignore[attr-defined]


def _response_head(headers: list[tuple[bytes, bytes]], nonce: str | None) -> ResponseHead:
    """`ResponseHead(200, headers, nonce)` at a third of the cost of a frozen __init__."""
    head = _new(ResponseHead)
    _set_status(head, 200)
    _set_headers(head, headers)
    _set_nonce(head, nonce)
    return head


# No body to rewrite, or a partial one that must stay byte-exact.
_NO_BODY_STATUSES = frozenset({204, 205, 206, 304})

SnippetProvider: TypeAlias = Callable[[Scope, ResponseHead], Snippets | None]
"""Called once per qualifying response; returns the snippets, or None to inject nothing."""


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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "HEAD":
            await self.app(scope, receive, send)
            return
        # Notices go only into whole pages (GET, not a fragment, status 200); transforms
        # such as script gating apply to every HTML body: an error page or an htmx
        # fragment can carry a tracking script too.
        page = scope["method"] == "GET" and not _is_fragment_request(scope["headers"])
        responder = _Responder(self, scope, send, page)
        await self.app(scope, receive, responder.send)
        if responder.state == _HELD:
            # The app started a response and sent no body message (an ASGI error): let the
            # server see exactly what the app sent.
            responder.state = _PASS
            await send(responder.start)


# -- the per-request responder -----------------------------------------------------------

_WAIT_START, _HELD, _SPLICING, _PASS, _DONE = range(5)


class _Responder:
    """The state of one response; `send` is what the app sees."""

    __slots__ = (
        "chain",
        "injector",
        "page",
        "scope",
        "send_on",
        "snippets",
        "splice",
        "start",
        "state",
    )

    start: Message
    snippets: Snippets
    splice: _Splice
    chain: tuple[Transform, ...]

    def __init__(self, injector: HTMLInjector, scope: Scope, send: Send, page: bool) -> None:
        self.injector = injector
        self.page = page
        self.scope = scope
        self.send_on = send
        self.state = _WAIT_START

    async def send(self, message: Message) -> None:
        state = self.state
        if state >= _PASS:
            # After the final body nothing of ours is sent; the app's own later messages
            # (trailers, or a faulty extra body) reach the server as they would unwrapped.
            await self.send_on(message)
        elif state == _SPLICING:
            if message["type"] != "http.response.body":
                await self.send_on(message)
            elif message.get("more_body", False):
                body = self.splice.feed(self._through(message.get("body", b""), False))
                if body:
                    await self.send_on(
                        {"type": "http.response.body", "body": body, "more_body": True}
                    )
            else:
                self.state = _DONE
                body = self.splice.finish(self._through(message.get("body", b""), True))
                await self.send_on({"type": "http.response.body", "body": body, "more_body": False})
        elif state == _WAIT_START:
            # Anything before the start (http.response.early_hint, ...) goes on as it is.
            if message["type"] != "http.response.start" or (message := self._hold(message)):
                await self.send_on(message)
        elif message["type"] == "http.response.body":  # _HELD: the first body message
            start, message = self._start_splicing(message)
            await self.send_on(start)
            if message is not None:
                await self.send_on(message)
        else:  # http.response.pathsend, zerocopysend, ...: no body to splice.
            self.state = _PASS
            await self.send_on(self.start)
            await self.send_on(message)

    def _hold(self, message: Message) -> Message | None:
        """Hold the start message of a response to inject into; else return it to send."""
        headers = message.get("headers", [])
        if not isinstance(headers, list):  # any iterable is allowed; we read it twice
            headers = list(headers)
            message = {**message, "headers": headers}
        snippets = None
        status = message["status"]
        if 200 <= status < 600 and status not in _NO_BODY_STATUSES:
            verdict = _response_verdict(headers)
            if verdict:
                nonce = csp_nonce(headers) if verdict == _HTML_WITH_CSP else None
                snippets = self.injector.provider(self.scope, _response_head(headers, nonce))
                if snippets is not None and not (self.page and status == 200):
                    snippets = Snippets(
                        transforms=snippets.transforms, personalised=snippets.personalised
                    )
        if snippets is None or not (
            snippets.head or snippets.body or snippets.top or snippets.transforms
        ):
            self.state = _PASS
            return message
        self.state = _HELD
        self.start = message
        self.snippets = snippets
        self.chain = snippets.transforms + ((AfterBodyOpen(snippets.top),) if snippets.top else ())
        return None

    def _through(self, chunk: bytes, final: bool) -> bytes:
        """The chunk after the response's transforms (each finished on the last chunk)."""
        for transform in self.chain:
            chunk = transform.feed(chunk)
            if final:
                chunk += transform.finish()
        return chunk

    def _start_splicing(self, message: Message) -> tuple[Message, Message | None]:
        """The modified start message and the first body message to send, if any."""
        snippets = self.snippets
        start = self.start
        more = message.get("more_body", False)
        chunk = self._through(message.get("body", b""), not more)
        if more:
            self.state = _SPLICING
            self.splice = _Splice(snippets.head, snippets.body, self.injector.max_hold)
            body = self.splice.feed(chunk)
            headers = _modified_headers(start["headers"], None, snippets.personalised)
            if not body:
                return {**start, "headers": headers}, None
            message = {"type": "http.response.body", "body": body, "more_body": True}
        else:
            self.state = _DONE
            body = splice_document(chunk, snippets.head, snippets.body)
            length = None if start.get("trailers", False) else len(body)
            headers = _modified_headers(start["headers"], length, snippets.personalised)
            message = {"type": "http.response.body", "body": body, "more_body": False}
        return {**start, "headers": headers}, message


# -- which requests and responses qualify ------------------------------------------------

_FRAME_DESTINATIONS = frozenset({b"document", b"iframe", b"frame"})
_HTML_MEDIA_TYPES = (b"text/html", b"application/xhtml+xml")
# The media types, and the Content-Type values frameworks send most, matched as they are.
_HTML_TYPES = frozenset(
    (*_HTML_MEDIA_TYPES, b"text/html; charset=utf-8", b"text/html; charset=UTF-8")
)
_HTML, _HTML_WITH_CSP = 1, 2


def _is_fragment_request(headers: list[tuple[bytes, bytes]]) -> bool:
    """htmx (not boosted), Turbo Frame and non-document fetches want no page furniture."""
    fields = dict(headers)  # ASGI servers lower-case request header names
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


_CONTENT_TYPE, _CONTENT_ENCODING, _CACHE, _DISPOSITION, _CSP = range(5)
_VERDICT_HEADERS = {
    b"content-type": _CONTENT_TYPE,
    b"content-encoding": _CONTENT_ENCODING,
    b"cache-control": _CACHE,
    b"content-disposition": _DISPOSITION,
    b"content-security-policy": _CSP,
}


def _response_verdict(headers: list[tuple[bytes, bytes]]) -> int:
    """0 when a 200 response must not be touched, else _HTML or _HTML_WITH_CSP."""
    html = csp = False
    kinds = _VERDICT_HEADERS
    for name, value in headers:
        kind = kinds.get(name.lower())
        if kind is None:
            continue
        if kind == _CONTENT_TYPE:
            html = value in _HTML_TYPES or value.partition(b";")[0].strip().lower() in _HTML_TYPES
        elif kind == _CONTENT_ENCODING:
            for coding in value.lower().split(b","):
                if coding.strip() not in (b"", b"identity"):
                    return 0
        elif kind == _CACHE:
            if value.lower().find(b"no-transform") >= 0 and b"no-transform" in _directive_names(
                value
            ):
                return 0
        elif kind == _DISPOSITION:
            if value.partition(b";")[0].strip().lower() == b"attachment":
                return 0
        else:
            csp = True
    if not html:
        return 0
    return _HTML_WITH_CSP if csp else _HTML


# -- response headers of a modified response --------------------------------------------

# What happens to each response header of a modified response, by lower-cased name.
_DROP, _ETAG, _VARY, _CACHE_CONTROL, _TARGETED = range(5)
_HEADER_ACTIONS = {
    # Values that described the app's bytes and are wrong for ours.
    b"content-length": _DROP,
    b"accept-ranges": _DROP,
    b"content-md5": _DROP,
    b"digest": _DROP,
    b"content-digest": _DROP,
    b"repr-digest": _DROP,
    b"etag": _ETAG,
    b"vary": _VARY,
    b"cache-control": _CACHE_CONTROL,
    # Targeted cache controls (RFC 9213) override Cache-Control for the CDNs that read them.
    b"cdn-cache-control": _TARGETED,
    b"surrogate-control": _TARGETED,
}
_DIRECTIVE = re.compile(rb'(?:[^,"]|"(?:[^"\\]|\\.)*")+')


def _modified_headers(
    headers: list[tuple[bytes, bytes]], length: int | None, personalised: bool
) -> list[tuple[bytes, bytes]]:
    out: list[tuple[bytes, bytes]] = []
    keep = out.append
    vary: list[bytes] = []
    cache_control: list[bytes] = []
    actions = _HEADER_ACTIONS
    for header in headers:
        action = actions.get(header[0].lower())
        if action is None:
            keep(header)
        elif action == _ETAG:
            keep((header[0], _weak_etag(header[1])))
        elif not personalised:
            if action != _DROP:
                keep(header)
        elif action == _VARY:
            vary.append(header[1])
        elif action == _CACHE_CONTROL:
            cache_control.append(header[1])
    if personalised:
        keep((b"vary", _vary_with_cookie(vary) if vary else b"Cookie"))
        keep(
            (
                b"cache-control",
                _private_cache_control(cache_control) if cache_control else b"private",
            )
        )
    if length is not None:
        keep((b"content-length", b"%d" % length))
    return out


def _weak_etag(value: bytes) -> bytes:
    """`"abc"` -> `W/"abc"`: the bytes differ from the app's, the meaning does not."""
    value = value.strip()
    return b"W/" + value if value.startswith(b'"') else value


def _vary_with_cookie(values: list[bytes]) -> bytes:
    fields = [field.strip() for value in values for field in value.split(b",")]
    fields = [field for field in fields if field]
    lowered = {field.lower() for field in fields}
    if b"*" in lowered:
        return b"*"
    if b"cookie" not in lowered:
        fields.append(b"Cookie")
    return b", ".join(fields)


def _directives(value: bytes) -> list[bytes]:
    """Cache-Control directives, split on commas outside quoted strings."""
    return [d.strip() for d in _DIRECTIVE.findall(value) if d.strip()]


def _directive_names(value: bytes) -> set[bytes]:
    return {d.partition(b"=")[0].strip().lower() for d in _directives(value)}


def _private_cache_control(values: list[bytes]) -> bytes:
    """Cache-Control for a personalised page.

    No header: `private`. A response that is already `no-store` or (unqualified)
    `private` keeps its directives. Otherwise `private` replaces the shared-cache
    directives (`public`, `s-maxage`, a field-qualified `private="..."`) and the other
    directives (max-age, no-cache, must-revalidate, ...) are kept.
    """
    if not values:
        return b"private"
    directives = _directives(b", ".join(values))
    kept = [b"private"]
    for directive in directives:
        name, eq, _ = directive.partition(b"=")
        name = name.strip().lower()
        if name == b"no-store" or (name == b"private" and not eq):
            return b", ".join(directives)
        if name not in (b"public", b"s-maxage", b"private"):
            kept.append(directive)
    return b", ".join(kept)


# -- splicing ----------------------------------------------------------------------------

_DELIMITERS = frozenset(b"\t\n\x0c\r />")  # what may follow a tag name
_SPACE = frozenset(b"\t\n\x0c\r ")
_OPEN_HEAD = b"<head"
_OPEN_BODY = b"<body"
_CLOSE_BODY = b"</body"
_OPEN_MARKERS = (_OPEN_HEAD, _OPEN_BODY)
_CLOSE_MARKERS = (_CLOSE_BODY,)

# States of the scan through the attributes of `<head ...>`; a quoted value's state is the
# quote byte itself (34 or 39).
_IN_TAG, _BEFORE_VALUE, _UNQUOTED = 0, 1, 2
_DQUOTE, _SQUOTE, _GT, _EQ = 34, 39, 62, 61


# The last `</body` is searched in lower-cased windows that grow from the end of the data:
# it sits near the end of a document, so a typical page costs a few hundred bytes of
# lower-casing, not its whole size.
_FIRST_WINDOW = 512
_ANY_CLOSE_BODY = re.compile(rb"</body", re.IGNORECASE)
_GROWTH = 4


# The first `<head` or `<body`, any case, with the byte that confirms it. Searched once or
# twice per response (until found), a regex beats lower-casing and two finds.
_OPEN_TAG = re.compile(rb"<(?:head|body)[\t\n\x0c\r />]", re.IGNORECASE)


def _find_open_tag(data: bytes, start: int = 0) -> tuple[int, bytes]:
    """The first `<head` or `<body` (any case) followed by a delimiter in data[start:].

    Returns (index, marker), or (-1, b"") when there is none; a candidate whose next byte
    is not in `data` yet does not count.
    """
    match = _OPEN_TAG.search(data, start)
    if match is None:
        return -1, b""
    at = match.start()
    return at, _OPEN_HEAD if data[at + 1] in b"hH" else _OPEN_BODY


def _rfind_close_body(data: bytes, start: int = 0) -> int:
    """Index of the last `</body` (any case) followed by a delimiter in data[start:], or -1."""
    n = hi = len(data)
    # Fast path, the usual page: a lower-case </body> near the end, nothing like it after.
    i = data.rfind(_CLOSE_BODY, max(start, n - _FIRST_WINDOW))
    if (
        i >= 0
        and i + 6 < n
        and data[i + 6] in _DELIMITERS
        and not _ANY_CLOSE_BODY.search(data, i + 1)
    ):
        return i
    step = _FIRST_WINDOW
    while hi > start:
        lo = max(start, hi - step)  # candidates starting in [lo, hi)
        window = data[lo : hi + 6].lower()
        end = hi - lo + 5
        while True:
            i = window.rfind(_CLOSE_BODY, 0, end)
            if i < 0:
                break
            if i + 6 < len(window) and window[i + 6] in _DELIMITERS:
                return lo + i
            end = i + 5  # candidates that start before i
        hi = lo
        step *= _GROWTH
    return -1


def _partial(data: bytes, markers: tuple[bytes, ...], start: int = 0) -> int:
    """Length of the shortest suffix of data[start:] that may still become a marker.

    Each marker has a single `<`, its first byte, so the suffix starts at the last `<`.
    A whole marker counts too: the byte that confirms it has not arrived yet.
    """
    n = len(data)
    i = data.rfind(b"<", max(start, n - len(markers[0])))
    if i < 0:
        return 0
    rest = data[i:].lower()
    for marker in markers:
        if marker.startswith(rest):
            return n - i
    return 0


def _tag_end(data: bytes, i: int, state: int) -> tuple[int, int]:
    """Scan the rest of an opening tag from data[i] in `state`.

    Returns (index just past its `>`, state), or (-1, state) when the tag goes on past
    the end of `data`. Follows the HTML tokenizer far enough that a `>` inside a quoted
    attribute value does not end the tag.
    """
    n = len(data)
    while i < n:
        if state in (_DQUOTE, _SQUOTE):
            j = data.find(b'"' if state == _DQUOTE else b"'", i)
            if j < 0:
                return -1, state
            i = j + 1
            state = _IN_TAG
            continue
        byte = data[i]
        if state == _IN_TAG:
            if byte == _GT:
                return i + 1, state
            if byte == _EQ:
                state = _BEFORE_VALUE
        elif state == _BEFORE_VALUE:
            if byte in (_DQUOTE, _SQUOTE):
                state = byte
            elif byte == _GT:
                return i + 1, state
            elif byte not in _SPACE:
                state = _UNQUOTED
        else:  # _UNQUOTED
            if byte == _GT:
                return i + 1, state
            if byte in _SPACE:
                state = _IN_TAG
        i += 1
    return -1, state


def _head_position(document: bytes) -> int:
    """Where the head snippet goes in a whole document, or -1 (with the body snippet)."""
    match = _OPEN_TAG.search(document)
    if match is None:
        return -1
    if document[match.start() + 1] not in b"hH":  # <body came first
        return match.start()
    end = match.end()
    if document[end - 1] == _GT:  # the usual <head>
        return end
    return _tag_end(document, end, _IN_TAG)[0]


def splice_document(document: bytes, head: bytes, body: bytes) -> bytes:
    """Insert the snippets into a whole document (what streaming produces, in one go)."""
    at_head = _head_position(document) if head else -1
    view = memoryview(document)  # slices without copies; join copies once
    if at_head < 0:
        body = head + body
    elif not body:
        return b"".join((view[:at_head], head, view[at_head:]))
    at_body = _rfind_close_body(document)
    if at_body < 0:
        at_body = len(document)
    if at_head < 0:
        return b"".join((view[:at_body], body, view[at_body:]))
    if at_head <= at_body:
        # The usual page: short ends around a long middle; only the middle is a view.
        return b"".join((document[:at_head], head, view[at_head:at_body], body, document[at_body:]))
    return b"".join((view[:at_body], body, view[at_body:at_head], head, view[at_head:]))


_SEARCHING, _IN_HEAD_TAG, _PLACED = 0, 1, 2


class _Splice:
    """Streaming splice of one document: `feed` every chunk but the last, then `finish`.

    Two stages. The head stage looks for the head snippet's place and emits what it has
    passed into the body stage, then the snippet itself as opaque bytes (never searched).
    The body stage emits everything before the latest `</body` candidate and holds the
    rest. `_tail`s are the few bytes that may begin a marker, carried to the next chunk.
    """

    __slots__ = (
        "_body",
        "_head",
        "_head_state",
        "_head_tail",
        "_held",
        "_held_size",
        "_max_hold",
        "_tag_state",
        "_tail",
        "_transparent",
    )

    def __init__(self, head: bytes, body: bytes, max_hold: int) -> None:
        self._head = head
        self._body = body
        self._max_hold = max_hold
        self._head_state = _SEARCHING if head else _PLACED
        self._tag_state = _IN_TAG
        self._head_tail = b""
        self._tail = b""
        self._held: list[bytes] | None = None  # from the latest `</body` candidate on
        self._held_size = 0
        self._transparent = not (head or body)  # nothing (left) to insert

    def feed(self, chunk: bytes) -> bytes:
        if self._transparent:
            return chunk
        out: list[bytes] = []
        if self._head_state == _PLACED:
            self._body_feed(chunk, out, final=False)
        else:
            self._head_feed(chunk, out)
        return b"".join(out)

    def finish(self, chunk: bytes) -> bytes:
        if self._transparent:
            return chunk
        out: list[bytes] = []
        snippet = self._body
        if self._head_state == _PLACED:
            self._body_feed(chunk, out, final=True)
        else:
            self._head_feed(chunk, out, final=True)
            if self._transparent:
                return b"".join(out)
            if self._head_state != _PLACED:  # no <head> or <body> tag: goes with the body
                self._body_feed(self._head_tail, out, final=True)
                snippet = self._head + snippet
        if self._held is not None:  # before the last </body
            out.append(snippet)
            out.extend(self._held)
            out.append(self._tail)
        else:
            out.append(self._tail)
            out.append(snippet)
        return b"".join(out)

    # The head stage.

    def _head_feed(self, chunk: bytes, out: list[bytes], final: bool = False) -> None:
        if self._head_state == _IN_HEAD_TAG:
            end, self._tag_state = _tag_end(chunk, 0, self._tag_state)
            if end < 0:
                self._body_feed(chunk, out, final)
            else:
                self._place_head(chunk, end, out, final)
            return
        tail = self._head_tail
        window = tail + chunk if tail else chunk
        at, marker = _find_open_tag(window)
        if marker is _OPEN_BODY:
            self._head_tail = b""
            self._place_head(window, at, out, final)
        elif marker is _OPEN_HEAD:
            self._head_tail = b""
            end, self._tag_state = _tag_end(window, at + len(_OPEN_HEAD), _IN_TAG)
            if end < 0:
                self._head_state = _IN_HEAD_TAG
                self._body_feed(window, out, final)
            else:
                self._place_head(window, end, out, final)
        else:
            keep = _partial(window, _OPEN_MARKERS)
            if keep:
                self._head_tail = window[-keep:]
                window = window[:-keep]
            else:
                self._head_tail = b""
            self._body_feed(window, out, final)

    def _place_head(self, window: bytes, at: int, out: list[bytes], final: bool) -> None:
        self._head_state = _PLACED
        self._body_feed(window[:at], out, final)
        self._body_opaque(self._head, out)
        if not self._body:  # nothing more to insert: release and stream through
            if self._held is not None:
                out.extend(self._held)
                self._held = None
            self._transparent = True
            out.append(window[at:])
        else:
            self._body_feed(window[at:], out, final)

    # The body stage.

    def _body_feed(self, data: bytes, out: list[bytes], final: bool) -> None:
        tail = self._tail
        if not data:
            return
        window = tail + data if tail else data
        n = len(window)
        at = _rfind_close_body(window)
        if at >= 0:
            if self._held is not None:  # superseded by a later candidate
                out.extend(self._held)
            out.append(window[:at])
            keep = _partial(window, _CLOSE_MARKERS, at + 1)
            self._held = [window[at : n - keep]]
            self._held_size = n - keep - at
        else:
            keep = _partial(window, _CLOSE_MARKERS)
            piece = window[: n - keep] if keep else window
            if self._held is not None:
                self._held.append(piece)
                self._held_size += len(piece)
            else:
                out.append(piece)
        self._tail = window[n - keep :] if keep else b""
        if not final and self._held is not None and self._held_size > self._max_hold:
            out.extend(self._held)
            self._held = None
            self._held_size = 0

    def _body_opaque(self, data: bytes, out: list[bytes]) -> None:
        """Pass bytes the body stage must not search (a marker cannot span them)."""
        if self._held is not None:
            self._held.append(self._tail)
            self._held.append(data)
            self._held_size += len(self._tail) + len(data)
        else:
            out.append(self._tail)
            out.append(data)
        self._tail = b""
