"""Header bytes httpx will not send, on the wire to a real uvicorn (h11 and httptools).

Non-Latin-1 (UTF-8) bytes in every header gatekeeper reads, bare CR and LF, huge
headers and many of them, and the issue-17 Host header: the server or gatekeeper may
refuse them, but never with a 500, never by hanging, and nothing reaches the server's
log as an exception.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.hostile.server import TRACEBACK_MARKS, Server, exchange, request, serve

FORM = b"Content-Type: application/x-www-form-urlencoded"
BROWSER = b"User-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"


@pytest.fixture(scope="module", params=["h11", "httptools"])
def server(request, tmp_path_factory) -> Iterator[Server]:
    with serve(tmp_path_factory.mktemp(request.param), http=request.param) as running:
        yield running


@pytest.fixture
def quiet_log(server: Server) -> Iterator[None]:
    """The test leaves no exception in the server's log."""
    offset = server.log_size()
    yield
    logged = server.log_since(offset)
    for mark in TRACEBACK_MARKS:
        assert mark not in logged, logged.decode(errors="replace")[-3000:]


UTF_8 = "€日本🍪".encode()
NON_LATIN_1 = [
    b"Cookie: _ga=" + UTF_8 + b"; gk_consent=" + UTF_8,
    b"User-Agent: Mozilla/5.0 " + UTF_8,
    b"Accept-Language: " + UTF_8 + b", de;q=0.5",
    b"Accept: text/" + UTF_8,
    b"Origin: http://www.ex" + UTF_8 + b"ample.com",
    b"Referer: http://www.example.com/" + UTF_8,
    b"Sec-Fetch-Site: same-" + UTF_8,
    b"Sec-GPC: " + UTF_8,
    b"X-Forwarded-For: " + UTF_8,
    b"Forwarded: for=" + UTF_8,
    b"X-Gatekeeper-Country: " + UTF_8,
    b"Authorization: Bearer " + UTF_8,
    b"Content-Type: application/" + UTF_8,
    b"X-" + UTF_8 + b": 1",
]
REQUESTS = [
    (b"GET", b"/", b""),
    (b"GET", b"/articles/live", b""),
    (b"POST", b"/_gatekeeper/consent", b"action=accept_all&next=/x"),
    (b"GET", b"/_gatekeeper/consent", b""),
    (b"GET", b"/_gatekeeper/audit", b""),
]


def answered(answer) -> None:
    # None: the server's parser refused the bytes and closed; that is not a 500.
    assert answer.status is None or answer.status < 500, answer.head


@pytest.mark.usefixtures("quiet_log")
@pytest.mark.parametrize("line", NON_LATIN_1, ids=lambda line: ascii(line[:24]))
@pytest.mark.parametrize(("method", "target", "body"), REQUESTS)
def test_non_latin_1_header_bytes(server, line, method, target, body):
    extra = [FORM] if body else []
    answer = exchange(server.port, request(method, target, [line, BROWSER, *extra], body))
    answered(answer)


@pytest.mark.usefixtures("quiet_log")
@pytest.mark.parametrize("host", [b"www.ex" + UTF_8 + b"ample.com", UTF_8, b"www.example.com\xff"])
def test_non_latin_1_host(server, host):
    answer = exchange(server.port, request(b"GET", b"/", [b"Cookie: _ga=1"], host=host))
    answered(answer)
    assert not any(b"domain=" in line.lower() for line in answer.headers(b"set-cookie"))


@pytest.mark.usefixtures("quiet_log")
def test_the_issue_17_host_on_the_wire(server):
    host = b"www.example.com;Domain=evil.example;SameSite=None"
    answer = exchange(server.port, request(b"GET", b"/", [b"Cookie: _ga=1", BROWSER], host=host))
    assert answer.status == 200
    cookies = answer.headers(b"set-cookie")
    assert cookies == [b"_ga=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/"]


BARE = [
    b"Cookie: _ga=1\rSet-Cookie: x=1",
    b"Cookie: _ga=1\nSet-Cookie: x=1",
    b"User-Agent: a\rb",
    b"X-Gatekeeper-Country: KP\r",
    b"Origin: http://www.example.com\n",
    b"Accept: text/html\r\r",
]


@pytest.mark.usefixtures("quiet_log")
@pytest.mark.parametrize("line", BARE, ids=ascii)
@pytest.mark.parametrize(("method", "target", "body"), REQUESTS[:3])
def test_bare_cr_and_lf(server, line, method, target, body):
    extra = [FORM] if body else []
    answer = exchange(server.port, request(method, target, [line, *extra], body))
    answered(answer)
    assert b"x=1" not in b"".join(answer.headers(b"set-cookie"))


HUGE = [
    [b"Cookie: _ga=" + b"x" * 60_000],
    [b"Cookie: gk_consent=" + b"x" * 1_000_000],
    [b"User-Agent: " + b"bot" * 300_000],
    [b"Accept-Language: " + b"de-AT;q=0.5, " * 50_000],
    [b"X-Forwarded-For: " + b"81.2.69.160, " * 50_000],
    [b"Cookie: c%d=1" % i for i in range(2000)],
    [b"X-H%d: 1" % i for i in range(5000)],
]


@pytest.mark.usefixtures("quiet_log")
@pytest.mark.parametrize("lines", HUGE, ids=lambda lines: f"{len(lines)}x{len(lines[0])}")
@pytest.mark.parametrize(("method", "target", "body"), REQUESTS[:3])
def test_huge_headers(server, lines, method, target, body):
    extra = [FORM] if body else []
    answer = exchange(server.port, request(method, target, [*lines, *extra], body))
    # h11 refuses headers over 16 KB itself (431 or a closed connection); httptools
    # hands gatekeeper all of them.
    answered(answer)


@pytest.mark.usefixtures("quiet_log")
@pytest.mark.parametrize("size", [60_000, 1_000_000])
def test_a_huge_host_and_target(server, size):
    answered(exchange(server.port, request(b"GET", b"/", [], host=b"a" * size)))
    answered(exchange(server.port, request(b"GET", b"/?next=" + b"%2F" * (size // 3), [])))
    preferences = b"/_gatekeeper/preferences?next=/" + b"a" * size
    answered(exchange(server.port, request(b"GET", preferences, [])))
