"""The streaming HTML injector, driven as a raw ASGI app."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import httpx
import pytest
from starlette.responses import HTMLResponse, StreamingResponse

from gatekeeper.html import HTMLInjector, ResponseHead, Snippets
from gatekeeper.html.inject import splice_document
from gatekeeper.html.splice import Placements

Message = dict[str, Any]
Headers = list[tuple[bytes, bytes]]

H = b'<style nonce="n">.gk{}</style>'
B = b'<div data-gk-notice="consent">Cookies?</div>'
SNIPPETS = Snippets(head=H, body=B)
HTML = b"text/html; charset=utf-8"
SCRIPT = b"<script>'</body>' + '<body>' + '<head>'</script>"  # markers in a snippet


# -- the driver --------------------------------------------------------------------------


class Provider:
    """A snippet provider that records what it was asked."""

    def __init__(self, snippets: Snippets | None = SNIPPETS) -> None:
        self.snippets = snippets
        self.calls: list[tuple[dict[str, Any], ResponseHead]] = []

    def __call__(self, scope: dict[str, Any], head: ResponseHead) -> Snippets | None:
        self.calls.append((scope, head))
        return self.snippets


class App:
    """A raw ASGI app that answers with the given body chunks.

    `more_body` is set on every chunk but the last; it records the messages it sent and
    the `send` it was given.
    """

    def __init__(
        self,
        chunks: Sequence[bytes] = (b"<html><head></head><body>x</body></html>",),
        *,
        status: int = 200,
        headers: Headers | None = None,
        content_type: bytes | None = HTML,
        trailers: bool = False,
        omit_more_body: bool = False,
    ) -> None:
        self.chunks = chunks
        self.status = status
        self.headers = list(headers or [])
        if content_type is not None:
            self.headers.insert(0, (b"content-type", content_type))
        self.trailers = trailers
        self.omit_more_body = omit_more_body
        self.sent: list[Message] = []
        self.sends: list[Any] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.sends.append(send)
        start: Message = {"type": "http.response.start", "status": self.status}
        start["headers"] = self.headers
        if self.trailers:
            start["trailers"] = True
        await self._send(send, start)
        last = len(self.chunks) - 1
        for i, chunk in enumerate(self.chunks):
            message: Message = {"type": "http.response.body", "body": chunk}
            if i < last or not self.omit_more_body:
                message["more_body"] = i < last
            await self._send(send, message)

    async def _send(self, send: Any, message: Message) -> None:
        self.sent.append(message)
        await send(message)


def make_scope(method: str = "GET", headers: Iterable[tuple[str, str]] = ()) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
        "client": ("203.0.113.9", 50000),
        "server": ("example.org", 80),
    }


async def call(
    app: Any, *, method: str = "GET", headers: Iterable[tuple[str, str]] = ()
) -> list[Message]:
    """Run one request through `app`; return the messages it sent to the server."""
    sent: list[Message] = []
    delivered = False
    disconnected = asyncio.Event()

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await disconnected.wait()  # the client stays until the response is done
        return {"type": "http.disconnect"}  # pragma: no cover

    async def send(message: Message) -> None:
        sent.append(message)

    await app(make_scope(method, headers), receive, send)
    return sent


def body_of(messages: list[Message]) -> bytes:
    bodies = [m for m in messages if m["type"] == "http.response.body"]
    assert bodies, "no body message"
    assert all(m.get("more_body", False) for m in bodies[:-1]), "more_body before the end"
    assert not bodies[-1].get("more_body", False), "the last body message has more_body"
    return b"".join(m.get("body", b"") for m in bodies)


def start_of(messages: list[Message]) -> Message:
    starts = [m for m in messages if m["type"] == "http.response.start"]
    assert len(starts) == 1
    return starts[0]


def header(messages: list[Message], name: bytes) -> list[bytes]:
    return [v for k, v in start_of(messages)["headers"] if k.lower() == name]


async def inject(
    chunks: Sequence[bytes],
    snippets: Snippets | None = SNIPPETS,
    *,
    max_hold: int = 64 * 1024,
    **app_options: Any,
) -> list[Message]:
    app = App(chunks, **app_options)
    return await call(HTMLInjector(app, Provider(snippets), max_hold=max_hold))


def assert_untouched(app: App, messages: list[Message]) -> None:
    """The server got exactly the app's messages, the very same objects."""
    assert len(messages) == len(app.sent)
    for got, sent in zip(messages, app.sent, strict=True):
        assert got is sent


# -- where the snippets go ---------------------------------------------------------------

# (document, expected output with H and B inserted)
DOCUMENTS: dict[str, tuple[bytes, bytes]] = {
    "plain": (
        b"<!doctype html><html><head><title>t</title></head><body><p>hi</p></body></html>\n",
        b"<!doctype html><html><head>"
        + H
        + b"<title>t</title></head><body><p>hi</p>"
        + B
        + b"</body></html>\n",
    ),
    "head-attributes": (
        b'<html lang="en"><head lang="en" data-x=\'a>b\'><meta charset="utf-8"></head>'
        b'<body class="x">text</body></html>',
        b'<html lang="en"><head lang="en" data-x=\'a>b\'>' + H + b'<meta charset="utf-8">'
        b'</head><body class="x">text' + B + b"</body></html>",
    ),
    "upper-case": (
        b"<HTML><HEAD><TITLE>T</TITLE></HEAD><BODY>upper</BODY ></HTML>",
        b"<HTML><HEAD>" + H + b"<TITLE>T</TITLE></HEAD><BODY>upper" + B + b"</BODY ></HTML>",
    ),
    "several-close-body": (
        b'<html><head>\n</head><body><script>var s = "</body>";</script><p>x</p></body>\n</html>',
        b"<html><head>"
        + H
        + b'\n</head><body><script>var s = "</body>";</script><p>x</p>'
        + B
        + b"</body>\n</html>",
    ),
    "decoys": (
        b"<html><header>h</header><head-x></head-x><head\n data-a=\"1>2\" data-b='</body>'>"
        b"<body>x</bodyx></body/></html>",
        b"<html><header>h</header><head-x></head-x><head\n data-a=\"1>2\" data-b='</body>'>"
        + H
        + b"<body>x</bodyx>"
        + B
        + b"</body/></html>",
    ),
    "self-closing-head": (
        b"<html><head/><title>x</title><body>y</body\t></html>",
        b"<html><head/>" + H + b"<title>x</title><body>y" + B + b"</body\t></html>",
    ),
    "no-head": (
        b"<html><Body>no head</body></html>",
        b"<html>" + H + b"<Body>no head" + B + b"</body></html>",
    ),
    "head-after-body": (
        b"<body>a</body><head>late</head>",
        b"" + H + b"<body>a" + B + b"</body><head>late</head>",
    ),
    "close-body-only": (
        b"<p>x</p></body></html>",
        b"<p>x</p>" + H + B + b"</body></html>",
    ),
    "no-markers": (
        b"<p>just a paragraph</p>",
        b"<p>just a paragraph</p>" + H + B,
    ),
    "unfinished-close-body": (
        b"<html><head></head><body>x</body",
        b"<html><head>" + H + b"</head><body>x</body" + B,
    ),
    "unfinished-head-tag": (
        b'<html><head lang="en',
        b'<html><head lang="en' + H + B,
    ),
    "close-body-before-head": (
        b"</body ><head>h</head>x",
        b"" + B + b"</body ><head>" + H + b"h</head>x",
    ),
    "head-right-before-close-body": (
        b"<head></body>",
        b"<head>" + H + B + b"</body>",
    ),
    "empty": (b"", H + B),
}


@pytest.mark.parametrize("name", DOCUMENTS)
async def test_single_message_document(name: str) -> None:
    document, expected = DOCUMENTS[name]
    assert splice_document(document, H, B) == expected
    assert body_of(await inject([document])) == expected


def test_remembered_places_serve_only_the_same_document() -> None:
    placements = Placements()
    for _ in range(2):  # the second round answers from what the first remembered
        for document, expected in DOCUMENTS.values():
            assert splice_document(bytes(document), H, B, b"", placements) == expected
            top = splice_document(document, H, B, b"<nav>", placements)
            assert top == splice_document(document, H, B, b"<nav>")
    # Documents of one length, each with its own places.
    one, two = b"<head></head><body>abc</body>", b"<body>abc</body><head></head>"
    assert len(one) == len(two)
    assert (
        splice_document(one, H, B, b"", placements)
        == b"<head>" + H + b"</head><body>abc" + B + b"</body>"
    )
    assert (
        splice_document(two, H, B, b"", placements)
        == H + b"<body>abc" + B + b"</body><head></head>"
    )
    # A buffer that can change afterwards is not remembered.
    buffer = bytearray(b"<head></head><body>x</body>")
    splice_document(buffer, H, B, b"", placements)  # type: ignore[arg-type]
    buffer[:] = b"<body>x</body><head></head>"
    assert splice_document(bytes(buffer), H, B, b"", placements) == splice_document(
        bytes(buffer), H, B
    )


@pytest.mark.parametrize("name", DOCUMENTS)
async def test_every_two_chunk_split_equals_the_whole(name: str) -> None:
    document, expected = DOCUMENTS[name]
    for at in range(len(document) + 1):
        got = body_of(await inject([document[:at], document[at:]]))
        assert got == expected, f"split at {at}"


@pytest.mark.parametrize("name", DOCUMENTS)
async def test_one_byte_chunks_equal_the_whole(name: str) -> None:
    document, expected = DOCUMENTS[name]
    chunks = [document[i : i + 1] for i in range(len(document))] + [b""]
    assert body_of(await inject(chunks)) == expected


@pytest.mark.parametrize("name", DOCUMENTS)
async def test_random_chunkings_equal_the_whole(name: str) -> None:
    document, expected = DOCUMENTS[name]
    rng = random.Random(name)
    for _ in range(30):
        cuts = sorted(rng.sample(range(len(document) + 1), min(4, len(document) + 1)))
        chunks = [document[a:b] for a, b in zip([0, *cuts], [*cuts, len(document)], strict=True)]
        assert body_of(await inject(chunks)) == expected, cuts


@pytest.mark.parametrize("name", DOCUMENTS)
@pytest.mark.parametrize(
    "snippets",
    [Snippets(head=H), Snippets(body=B)],
    ids=["head-only", "body-only"],
)
async def test_one_snippet_alone_split_everywhere(name: str, snippets: Snippets) -> None:
    document, _ = DOCUMENTS[name]
    expected = splice_document(document, snippets.head, snippets.body)
    assert len(expected) == len(document) + len(snippets.head) + len(snippets.body)
    for at in range(len(document) + 1):
        got = body_of(await inject([document[:at], document[at:]], snippets))
        assert got == expected, f"split at {at}"
    one_byte = [document[i : i + 1] for i in range(len(document))] + [b""]
    assert body_of(await inject(one_byte, snippets)) == expected


@pytest.mark.parametrize("name", DOCUMENTS)
async def test_top_snippet_with_the_others_split_everywhere(name: str) -> None:
    document, _ = DOCUMENTS[name]
    top = b'<div data-gk-notice="notification">bar</div>'
    snippets = Snippets(head=H, top=top, body=B)
    whole = body_of(await inject([document], snippets))
    assert len(whole) == len(document) + len(H) + len(top) + len(B)
    for at in range(len(document) + 1):
        got = body_of(await inject([document[:at], document[at:]], snippets))
        assert got == whole, f"split at {at}"


async def test_top_snippet_goes_right_after_the_body_tag() -> None:
    document = b'<html><head></head><body class="a>b"><p>x</p></body></html>'
    top = b"<nav>bar</nav>"
    got = body_of(await inject([document[:30], document[30:]], Snippets(top=top, body=B)))
    assert (
        got == b'<html><head></head><body class="a>b">' + top + b"<p>x</p>" + B + b"</body></html>"
    )


async def test_head_only_without_head_tag_goes_before_the_last_close_body() -> None:
    document = b"<p>a</p></body>b</body></html>"
    expected = b"<p>a</p></body>b" + H + b"</body></html>"
    assert splice_document(document, H, b"") == expected
    for at in range(len(document) + 1):
        got = body_of(await inject([document[:at], document[at:]], Snippets(head=H)))
        assert got == expected, f"split at {at}"


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            b"<html><head></head><body>x</body></html>",
            b"<html><head>" + SCRIPT + b"</head><body>x" + B + b"</body></html>",
        ),
        (
            b"<html><head></head><p>no close tag</p></html>",
            b"<html><head>" + SCRIPT + b"</head><p>no close tag</p></html>" + B,
        ),
    ],
)
async def test_markers_inside_the_head_snippet_are_not_matched(
    document: bytes, expected: bytes
) -> None:
    snippets = Snippets(head=SCRIPT, body=B)
    for at in range(len(document) + 1):
        got = body_of(await inject([document[:at], document[at:]], snippets))
        assert got == expected, f"split at {at}"


@pytest.mark.parametrize(
    "document",
    [b"<header>x</header></body>", b"<head-x>y</head-x></body>", b"<headers></body>"],
)
async def test_header_is_not_head(document: bytes) -> None:
    # With no real <head>, the head snippet joins the body snippet before </body>.
    got = body_of(await inject([document]))
    assert got == document.replace(b"</body>", H + B + b"</body>")


@pytest.mark.parametrize("close", [b"</bodyx>", b"</body-x>", b"</bod>", b"<body>"], ids=repr)
async def test_only_real_close_body_tags_match(close: bytes) -> None:
    document = b"<html><head></head><p>x</p>" + close + b"</html>"
    got = body_of(await inject([document], Snippets(body=B)))
    assert got == document + B


@pytest.mark.parametrize("close", [b"</body>", b"</BODY >", b"</Body\n>", b"</body/>"])
async def test_close_body_delimiters(close: bytes) -> None:
    document = b"<p>x</p>" + close + b"</html>"
    got = body_of(await inject([document], Snippets(body=B)))
    assert got == b"<p>x</p>" + B + close + b"</html>"


async def test_inserts_before_the_last_close_body_across_chunks() -> None:
    chunks = [
        b"<html><head></head><body><script>'</body>'",
        b"</script><p>x</p></body>",
        b"<!-- </body> in a comment after it -->",
        b"\n</html>",
    ]
    document = b"".join(chunks)
    got = body_of(await inject(chunks))
    assert got == splice_document(document, H, B)
    assert got.endswith(B + b"</body> in a comment after it -->\n</html>")


# -- Content-Length and the message sequence ---------------------------------------------


async def test_content_length_recomputed_for_a_single_message() -> None:
    document = DOCUMENTS["plain"][0]
    messages = await inject([document], headers=[(b"content-length", b"%d" % len(document))])
    out = body_of(messages)
    assert header(messages, b"content-length") == [b"%d" % len(out)]
    assert len(out) == len(document) + len(H) + len(B)
    assert [m["type"] for m in messages] == ["http.response.start", "http.response.body"]


async def test_content_length_added_for_a_single_message_without_one() -> None:
    messages = await inject([DOCUMENTS["plain"][0]])
    assert header(messages, b"content-length") == [b"%d" % len(body_of(messages))]


async def test_content_length_removed_when_streamed() -> None:
    document = DOCUMENTS["plain"][0]
    messages = await inject(
        [document[:10], document[10:]], headers=[(b"Content-Length", b"%d" % len(document))]
    )
    assert header(messages, b"content-length") == []
    assert body_of(messages) == DOCUMENTS["plain"][1]


async def test_content_length_removed_when_trailers_follow() -> None:
    app = App([DOCUMENTS["plain"][0]], headers=[(b"content-length", b"81")], trailers=True)

    async def with_trailers(scope: Any, receive: Any, send: Any) -> None:
        await app(scope, receive, send)
        await send({"type": "http.response.trailers", "headers": [], "more_trailers": False})

    messages = await call(HTMLInjector(with_trailers, Provider()))
    assert header(messages, b"content-length") == []
    assert start_of(messages)["trailers"] is True
    assert [m["type"] for m in messages] == [
        "http.response.start",
        "http.response.body",
        "http.response.trailers",
    ]


async def test_missing_more_body_means_final() -> None:
    document, expected = DOCUMENTS["plain"]
    messages = await inject([document], omit_more_body=True)
    assert body_of(messages) == expected
    messages = await inject([document[:20], document[20:]], omit_more_body=True)
    assert body_of(messages) == expected


async def test_quart_style_empty_final_message() -> None:
    document, expected = DOCUMENTS["several-close-body"]
    messages = await inject([document[:30], document[30:], b""])
    assert body_of(messages) == expected
    assert messages[-1] == {
        "type": "http.response.body",
        "body": B + b"</body>\n</html>",
        "more_body": False,
    }


async def test_single_empty_body_message() -> None:
    messages = await inject([b""], headers=[(b"content-length", b"0")])
    assert body_of(messages) == H + B
    assert header(messages, b"content-length") == [b"%d" % len(H + B)]


async def test_empty_first_message_then_body() -> None:
    document, expected = DOCUMENTS["plain"]
    messages = await inject([b"", document])
    assert body_of(messages) == expected
    assert [m["type"] for m in messages] == ["http.response.start", "http.response.body"]
    assert header(messages, b"content-length") == []


async def test_streams_chunk_by_chunk_without_empty_messages() -> None:
    chunks = [b"<html><head></head><body>", b"a" * 100, b"</body>", b"<!-- c -->", b"</html>"]
    messages = await inject(chunks)
    bodies = [m["body"] for m in messages if m["type"] == "http.response.body"]
    # The chunks from </body> on are held: nothing to send for them until the end.
    assert bodies == [
        b"<html><head>" + H + b"</head><body>",
        b"a" * 100,
        B + b"</body><!-- c --></html>",
    ]


async def test_nothing_is_sent_after_the_response_is_finished() -> None:
    document = DOCUMENTS["several-close-body"][0]
    for chunks in ([document], [document[:40], document[40:]], [document, b""]):
        sent = await call(HTMLInjector(App(chunks), Provider()))
        assert sent[-1]["type"] == "http.response.body"
        assert sent[-1]["more_body"] is False
        assert sum(1 for m in sent if not m.get("more_body", False)) == 2  # start + final


async def test_start_message_of_the_app_is_not_mutated() -> None:
    headers = [(b"content-length", b"81"), (b"etag", b'"x"')]
    app = App([DOCUMENTS["plain"][0]], headers=headers)
    messages = await call(HTMLInjector(app, Provider()))
    assert app.sent[0]["headers"] == [(b"content-type", HTML), *headers]
    assert start_of(messages) is not app.sent[0]


async def test_headers_as_any_iterable() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        headers = ((k, v) for k, v in [(b"content-type", b"text/html"), (b"x-a", b"1")])
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"<body></body>"})

    messages = await call(HTMLInjector(app, Provider()))
    assert body_of(messages) == b"" + H + b"<body>" + B + b"</body>"
    assert (b"x-a", b"1") in start_of(messages)["headers"]


# -- what is left alone ------------------------------------------------------------------

SKIPS: dict[str, dict[str, Any]] = {
    "head-method": {"method": "HEAD"},
    "post": {"method": "POST"},
    "put": {"method": "PUT"},
    "htmx": {"request": [("HX-Request", "true")]},
    "turbo-frame": {"request": [("Turbo-Frame", "main")]},
    "sec-fetch-dest-empty": {"request": [("Sec-Fetch-Dest", "empty")]},
    "sec-fetch-dest-script": {"request": [("Sec-Fetch-Dest", "script")]},
    "status-204": {"status": 204},
    "status-206": {"status": 206},
    "status-304": {"status": 304},
    "status-404": {"status": 404},
    "status-500": {"status": 500},
    "gzip": {"response": [(b"content-encoding", b"gzip")]},
    "gzip-capitalised": {"response": [(b"Content-Encoding", b"gzip")]},
    "no-transform-capitalised": {"response": [(b"Cache-Control", b"no-transform")]},
    "br-after-identity": {"response": [(b"content-encoding", b"identity, br")]},
    "no-transform": {"response": [(b"cache-control", b"public, No-Transform")]},
    "attachment": {"response": [(b"content-disposition", b'attachment; filename="a.html"')]},
    "text-plain": {"content_type": b"text/plain; charset=utf-8"},
    "json": {"content_type": b"application/json"},
    "html-lookalike": {"content_type": b"text/html-sandboxed"},
    "no-content-type": {"content_type": None},
}
REQUEST_SKIPS = {"head-method"}
# HTML that gets no notices but still streams through the provider's transforms (script
# gating must reach error pages, POST answers and fragments too).
TRANSFORM_ONLY = {
    "post",
    "put",
    "htmx",
    "turbo-frame",
    "sec-fetch-dest-empty",
    "sec-fetch-dest-script",
    "status-404",
    "status-500",
}


async def run_case(
    case: dict[str, Any], chunks: Sequence[bytes]
) -> tuple[App, Provider, list[Message]]:
    app = App(
        chunks,
        status=case.get("status", 200),
        headers=[
            (b"content-length", b"%d" % sum(map(len, chunks))),
            (b"etag", b'"v1"'),
            (b"cache-control", b"public, max-age=60"),
            *case.get("response", []),
        ],
        content_type=case.get("content_type", HTML),
    )
    provider = Provider()
    messages = await call(
        HTMLInjector(app, provider),
        method=case.get("method", "GET"),
        headers=case.get("request", []),
    )
    return app, provider, messages


async def test_base_case_is_modified() -> None:
    """The control for the skip cases: the same response without the trigger is changed."""
    document, expected = DOCUMENTS["plain"]
    _, provider, messages = await run_case({}, [document])
    assert body_of(messages) == expected
    assert header(messages, b"etag") == [b'W/"v1"']
    assert len(provider.calls) == 1


@pytest.mark.parametrize("name", SKIPS)
@pytest.mark.parametrize("streamed", [False, True], ids=["single", "streamed"])
async def test_skip_leaves_the_response_byte_identical(name: str, streamed: bool) -> None:
    document = DOCUMENTS["plain"][0]
    chunks = [document[:20], document[20:]] if streamed else [document]
    app, provider, messages = await run_case(SKIPS[name], chunks)
    assert_untouched(app, messages)
    if name not in TRANSFORM_ONLY:
        assert provider.calls == []
    if name in REQUEST_SKIPS:
        # Requests that cannot qualify do not even get a wrapped send.
        assert app.sends == [app.sends[0]]
        assert getattr(app.sends[0], "__self__", None) is None


@pytest.mark.parametrize(
    "request_headers",
    [
        [("Sec-Fetch-Dest", "document")],
        [("Sec-Fetch-Dest", "iframe")],
        [("Sec-Fetch-Dest", "frame")],
        [("HX-Request", "true"), ("HX-Boosted", "true")],
        [("HX-Request", "false")],
        [("Sec-Fetch-Mode", "navigate"), ("Sec-Fetch-Site", "same-origin")],
    ],
    ids=["document", "iframe", "frame", "htmx-boosted", "hx-request-false", "other-sec-fetch"],
)
async def test_page_requests_qualify(request_headers: list[tuple[str, str]]) -> None:
    document, expected = DOCUMENTS["plain"]
    _, _, messages = await run_case({"request": request_headers}, [document])
    assert body_of(messages) == expected


@pytest.mark.parametrize(
    "response",
    [
        [(b"content-type", b"TEXT/HTML")],
        [(b"content-type", b"application/xhtml+xml; charset=UTF-8")],
        [(b"content-type", b"text/html;charset=iso-8859-1")],
        [(b"content-type", b"text/html"), (b"content-encoding", b"identity")],
        [(b"content-type", b"text/html"), (b"content-disposition", b"inline")],
        [(b"content-type", b"text/html"), (b"cache-control", b'no-cache="no-transform"')],
        [(b"Content-Type", b"text/html; charset=utf-8")],
    ],
    ids=["upper", "xhtml", "charset", "identity", "inline", "quoted-no-transform", "name-case"],
)
async def test_html_responses_qualify(response: Headers) -> None:
    document, expected = DOCUMENTS["plain"]
    app = App([document], headers=response, content_type=None)
    messages = await call(HTMLInjector(app, Provider()))
    assert body_of(messages) == expected


async def test_provider_returning_none_leaves_the_response_untouched() -> None:
    app = App([DOCUMENTS["plain"][0]], headers=[(b"etag", b'"a"')])
    provider = Provider(None)
    messages = await call(HTMLInjector(app, provider))
    assert_untouched(app, messages)
    assert len(provider.calls) == 1


async def test_empty_snippets_leave_the_response_untouched() -> None:
    app = App([DOCUMENTS["plain"][0]], headers=[(b"etag", b'"a"')])
    messages = await call(HTMLInjector(app, Provider(Snippets())))
    assert_untouched(app, messages)


async def test_non_http_scopes_pass_straight_through() -> None:
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append((scope, receive, send))

    async def receive() -> Message:  # pragma: no cover
        return {}

    async def send(message: Message) -> None:  # pragma: no cover
        pass

    injector = HTMLInjector(app, Provider())
    for scope in ({"type": "lifespan"}, {"type": "websocket", "headers": []}):
        await injector(scope, receive, send)
        assert seen.pop() == (scope, receive, send)


async def test_pathsend_forwards_the_start_untouched() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send(start)
        await send(pathsend)

    start = {"type": "http.response.start", "status": 200, "headers": [(b"content-type", HTML)]}
    pathsend = {"type": "http.response.pathsend", "path": "/srv/index.html"}
    messages = await call(HTMLInjector(app, Provider()))
    assert messages == [start, pathsend]
    assert messages[0] is start


async def test_early_hints_are_forwarded() -> None:
    hint = {"type": "http.response.early_hint", "links": ["</s.css>; rel=preload"]}
    inner = App([DOCUMENTS["plain"][0]])

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send(hint)
        await inner(scope, receive, send)

    messages = await call(HTMLInjector(app, Provider()))
    assert messages[0] is hint
    assert body_of(messages) == DOCUMENTS["plain"][1]


async def test_start_without_body_is_released_when_the_app_returns() -> None:
    start = {"type": "http.response.start", "status": 200, "headers": [(b"content-type", HTML)]}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send(start)

    messages = await call(HTMLInjector(app, Provider()))
    assert messages == [start]
    assert messages[0] is start


# -- errors ------------------------------------------------------------------------------


async def test_app_error_propagates_and_the_held_start_is_not_sent() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", HTML)]}
        )
        raise RuntimeError("boom")

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    with pytest.raises(RuntimeError, match="boom"):
        await HTMLInjector(app, Provider())(make_scope(), lambda: None, send)
    assert sent == []  # so the server can still answer 500


async def test_app_error_mid_stream_propagates() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", HTML)]}
        )
        await send({"type": "http.response.body", "body": b"<head></head>", "more_body": True})
        raise ValueError("mid-stream")

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    with pytest.raises(ValueError, match="mid-stream"):
        await HTMLInjector(app, Provider())(make_scope(), lambda: None, send)
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]


async def test_client_disconnect_propagates() -> None:
    class ClientDisconnected(OSError):
        pass

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body":
            raise ClientDisconnected

    app = App([b"<html><head>", b"</head><body>", b"x</body></html>"])
    with pytest.raises(ClientDisconnected):
        await HTMLInjector(app, Provider())(make_scope(), lambda: None, send)
    assert len(app.sent) == 2  # the app saw the error on its first body message


# -- headers of modified responses -------------------------------------------------------


async def start_headers(response: Headers, snippets: Snippets = SNIPPETS) -> Headers:
    app = App([DOCUMENTS["plain"][0]], headers=response)
    return start_of(await call(HTMLInjector(app, Provider(snippets))))["headers"]


def values(headers: Headers, name: bytes) -> list[bytes]:
    return [v for k, v in headers if k.lower() == name]


@pytest.mark.parametrize(
    ("etag", "expected"),
    [(b'"abc"', b'W/"abc"'), (b'W/"abc"', b'W/"abc"'), (b' "x y" ', b'W/"x y"')],
)
async def test_etag_weakened(etag: bytes, expected: bytes) -> None:
    headers = await start_headers([(b"ETag", etag)])
    assert values(headers, b"etag") == [expected]


@pytest.mark.parametrize(
    ("vary", "expected"),
    [
        ([], b"Cookie"),
        ([b"Accept-Encoding"], b"Accept-Encoding, Cookie"),
        ([b"accept-encoding,  accept-language"], b"accept-encoding, accept-language, Cookie"),
        ([b"Accept-Encoding", b"Accept-Language"], b"Accept-Encoding, Accept-Language, Cookie"),
        ([b"cookie, Accept-Encoding"], b"cookie, Accept-Encoding"),
        ([b"*"], b"*"),
        ([b"Accept-Encoding", b"*"], b"*"),
    ],
)
async def test_vary_merged_with_cookie(vary: list[bytes], expected: bytes) -> None:
    headers = await start_headers([(b"vary", v) for v in vary])
    assert values(headers, b"vary") == [expected]


@pytest.mark.parametrize(
    ("cache_control", "expected"),
    [
        ([], b"private"),
        ([b"public, max-age=600"], b"private, max-age=600"),
        ([b"max-age=60, s-maxage=3600"], b"private, max-age=60"),
        ([b"public", b"S-MaxAge=5, must-revalidate"], b"private, must-revalidate"),
        ([b"no-cache"], b"private, no-cache"),
        ([b'private="set-cookie", max-age=60'], b"private, max-age=60"),
        ([b"private, max-age=5"], b"private, max-age=5"),
        ([b"no-store"], b"no-store"),
        ([b"public, no-store"], b"public, no-store"),
        ([b"Private"], b"Private"),
        ([b'no-cache="a, b", public'], b'private, no-cache="a, b"'),
    ],
)
async def test_cache_control_made_private(cache_control: list[bytes], expected: bytes) -> None:
    headers = await start_headers([(b"cache-control", v) for v in cache_control])
    assert values(headers, b"cache-control") == [expected]


async def test_targeted_cache_controls_removed_when_personalised() -> None:
    response = [(b"cdn-cache-control", b"max-age=3600"), (b"surrogate-control", b"max-age=60")]
    headers = await start_headers(response)
    assert values(headers, b"cdn-cache-control") == []
    assert values(headers, b"surrogate-control") == []


async def test_not_personalised_keeps_caching_headers() -> None:
    response = [
        (b"vary", b"Accept-Encoding"),
        (b"cache-control", b"public, s-maxage=600"),
        (b"cdn-cache-control", b"max-age=3600"),
        (b"etag", b'"v2"'),
    ]
    headers = await start_headers(response, Snippets(head=H, body=B, personalised=False))
    assert values(headers, b"vary") == [b"Accept-Encoding"]
    assert values(headers, b"cache-control") == [b"public, s-maxage=600"]
    assert values(headers, b"cdn-cache-control") == [b"max-age=3600"]
    assert values(headers, b"etag") == [b'W/"v2"']  # the bytes still changed
    assert values(headers, b"content-length") == [b"%d" % len(DOCUMENTS["plain"][1])]


async def test_byte_describing_headers_dropped() -> None:
    response = [
        (b"accept-ranges", b"bytes"),
        (b"content-digest", b"sha-256=:abc=:"),
        (b"repr-digest", b"sha-256=:abc=:"),
        (b"content-md5", b"abc"),
        (b"x-kept", b"yes"),
    ]
    headers = await start_headers(response)
    names = {k for k, _ in headers}
    assert names.isdisjoint({b"accept-ranges", b"content-digest", b"repr-digest", b"content-md5"})
    assert (b"x-kept", b"yes") in headers
    assert (b"content-type", HTML) in headers


# -- the provider ------------------------------------------------------------------------


async def test_provider_gets_scope_status_headers_and_nonce() -> None:
    csp = (b"content-security-policy", b"default-src 'self'; script-src 'nonce-r4nd0m'")
    app = App([b"<html><head>", b"</head></html>"], headers=[csp])
    provider = Provider()
    injector = HTMLInjector(app, provider)
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = make_scope()
    await injector(scope, lambda: None, send)
    assert len(provider.calls) == 1
    seen_scope, head = provider.calls[0]
    assert seen_scope is scope
    assert head == ResponseHead(status=200, headers=[(b"content-type", HTML), csp], nonce="r4nd0m")
    # The app's CSP is never edited.
    assert values(start_of(sent)["headers"], b"content-security-policy") == [csp[1]]


async def test_provider_gets_no_nonce_without_csp() -> None:
    provider = Provider()
    await call(HTMLInjector(App(), provider))
    assert provider.calls[0][1].nonce is None


async def test_provider_not_called_for_responses_that_do_not_qualify() -> None:
    provider = Provider()
    await call(HTMLInjector(App(content_type=b"application/json"), provider))
    await call(HTMLInjector(App(status=304), provider))
    assert provider.calls == []


def test_negative_max_hold_is_refused() -> None:
    with pytest.raises(ValueError, match="max_hold"):
        HTMLInjector(App(), Provider(), max_hold=-1)


# -- bounded memory ----------------------------------------------------------------------


class Meter:
    """Counts bytes in and out of the injector while the app streams."""

    def __init__(self) -> None:
        self.into = 0
        self.out = 0
        self.max_lag = 0
        self.first_output_at: int | None = None
        self.last_out = b""

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.body":
            body = message.get("body", b"")
            self.out += len(body)
            if self.first_output_at is None and body:
                self.first_output_at = self.into
            self.last_out = (self.last_out + body)[-4096:]

    def after_chunk(self, size: int) -> None:
        self.into += size

    def lag(self) -> None:
        self.max_lag = max(self.max_lag, self.into - self.out)


def streaming_app(meter: Meter, head: bytes, chunk: bytes, count: int, end: bytes) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", HTML)]}
        )
        for piece in [head] + [chunk] * count:
            meter.after_chunk(len(piece))
            await send({"type": "http.response.body", "body": piece, "more_body": True})
            meter.lag()
        meter.after_chunk(len(end))
        await send({"type": "http.response.body", "body": end, "more_body": False})

    return app


async def test_fifty_megabytes_with_decoys_stream_in_bounded_memory() -> None:
    size = 64 * 1024
    decoy = b"<p>x</p><script>'</body>'</script>"
    chunk = (decoy + b"y" * (8 * 1024 - len(decoy))) * 8
    assert len(chunk) == size
    count = 50 * 1024 * 1024 // size
    meter = Meter()
    head = b"<!doctype html><html><head><title>big</title></head><body>"
    end = b"<p>the end</p></body>\n</html>\n"
    max_hold = 64 * 1024
    app = streaming_app(meter, head, chunk, count, end)

    async def send(message: Message) -> None:
        await meter.send(message)

    await HTMLInjector(app, Provider(), max_hold=max_hold)(make_scope(), lambda: None, send)

    assert meter.into == len(head) + size * count + len(end)
    assert meter.out == meter.into + len(H) + len(B)
    assert meter.max_lag <= max_hold + size
    assert meter.max_lag > 0  # the decoys were held...
    assert meter.first_output_at is not None
    assert meter.first_output_at <= len(head) + size  # ...and output flowed from the start
    assert meter.last_out.endswith(b"<p>the end</p>" + B + b"</body>\n</html>\n")


async def test_a_long_hold_is_released_at_max_hold() -> None:
    # One early </body> then 5 MB without another: the hold cannot follow it to the end.
    size = 64 * 1024
    meter = Meter()
    head = b"<html><head></head><body><script>'</body>'</script>"
    end = b"<p>no closing tag</p></html>"
    max_hold = 100 * 1024
    app = streaming_app(meter, head, b"z" * size, 80, end)

    await HTMLInjector(app, Provider(), max_hold=max_hold)(make_scope(), lambda: None, meter.send)

    assert meter.max_lag <= max_hold + size
    assert meter.out == meter.into + len(H) + len(B)
    assert meter.last_out.endswith(end + B)  # released, so the snippet goes at the end


async def test_held_close_body_wins_within_max_hold() -> None:
    chunks = [b"<html><head></head><body>x</body>", b"<!--", b"a" * 500, b"-->", b"</html>"]
    got = body_of(await inject(chunks, max_hold=1000))
    assert got == splice_document(b"".join(chunks), H, B)
    assert got.startswith(b"<html><head>" + H + b"</head><body>x" + B + b"</body><!--")


async def test_hold_over_max_hold_is_released_and_snippet_appended() -> None:
    chunks = [b"<html><head></head><body>x</body>", *[b"a" * 50] * 30, b"</html>"]
    messages = await inject(chunks, max_hold=1000)
    got = body_of(messages)
    assert got == b"".join(chunks).replace(b"<head>", b"<head>" + H) + B
    sizes = [len(m["body"]) for m in messages if m["type"] == "http.response.body"]
    assert max(sizes) <= 1000 + 50 + len(H) + 32


async def test_max_hold_zero_still_finds_a_close_body_in_the_final_chunk() -> None:
    chunks = [b"<html><head></head>", b"<body>x</body>", b"</html>"]
    assert (
        body_of(await inject(chunks, max_hold=0))
        == b"".join(chunks).replace(b"<head>", b"<head>" + H) + B
    )
    chunks = [b"<html><head></head>", b"<body>x</body></html>"]
    assert body_of(await inject(chunks, max_hold=0)) == splice_document(b"".join(chunks), H, B)


async def test_django_style_64k_chunks() -> None:
    page = (
        b'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>D</title></head>'
        b"<body>" + b"<p>paragraph with </bodyguard> text</p>\n" * 5000 + b"</body></html>"
    )
    chunks = [page[i : i + 65536] for i in range(0, len(page), 65536)]
    assert len(chunks) > 2
    messages = await inject(chunks)
    assert body_of(messages) == splice_document(page, H, B)
    assert body_of(messages).endswith(B + b"</body></html>")


# -- with Starlette ----------------------------------------------------------------------


async def test_starlette_html_response() -> None:
    document, expected = DOCUMENTS["plain"]
    response = HTMLResponse(document.decode(), headers={"ETag": '"s1"'})
    messages = await call(HTMLInjector(response, Provider()))
    assert body_of(messages) == expected
    assert header(messages, b"content-length") == [b"%d" % len(expected)]
    assert header(messages, b"etag") == [b'W/"s1"']
    assert header(messages, b"vary") == [b"Cookie"]
    assert header(messages, b"cache-control") == [b"private"]


async def test_starlette_streaming_response() -> None:
    document, expected = DOCUMENTS["several-close-body"]

    async def parts() -> AsyncIterator[bytes]:
        for i in range(0, len(document), 7):
            yield document[i : i + 7]

    response = StreamingResponse(parts(), media_type="text/html")
    messages = await call(HTMLInjector(response, Provider()))
    assert body_of(messages) == expected
    assert header(messages, b"content-length") == []


async def test_through_an_http_client() -> None:
    document, expected = DOCUMENTS["upper-case"]

    async def parts() -> AsyncIterator[bytes]:
        yield document[:9]
        yield document[9:]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["path"] == "/stream":
            response: Any = StreamingResponse(parts(), media_type="text/html")
        else:
            response = HTMLResponse(document.decode())
        await response(scope, receive, send)

    transport = httpx.ASGITransport(app=HTMLInjector(app, Provider()))
    async with httpx.AsyncClient(transport=transport, base_url="http://example.org") as client:
        for path in ("/", "/stream"):
            response = await client.get(path)
            assert response.content == expected
            assert response.headers["vary"] == "Cookie"
        response = await client.head("/")
        assert response.headers["content-length"] == str(len(document))
        response = await client.get("/", headers={"HX-Request": "true"})
        assert response.content == document


class _Upper:
    """A transform that upper-cases everything: visible in any body it touches."""

    def feed(self, chunk: bytes) -> bytes:
        return chunk.upper()

    def finish(self) -> bytes:
        return b""


@pytest.mark.parametrize("name", sorted(TRANSFORM_ONLY))
async def test_transforms_reach_html_that_gets_no_notices(name: str) -> None:
    document = DOCUMENTS["plain"][0]
    case = SKIPS[name]
    app = App(
        [document[:20], document[20:]],
        status=case.get("status", 200),
        headers=[*case.get("response", [])],
        content_type=HTML,
    )

    def provider(scope, head):
        return Snippets(head=b"<!--H-->", body=b"<!--B-->", transforms=(_Upper(),))

    messages = await call(
        HTMLInjector(app, provider),
        method=case.get("method", "GET"),
        headers=case.get("request", []),
    )
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    assert body == document.upper()  # transformed, and no notices spliced in
