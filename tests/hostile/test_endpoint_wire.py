"""Bodies on the wire to a real uvicorn (h11 and httptools): trickled a byte at a time,
dropped mid-body, longer or shorter than they say, oversized, with raw non-ASCII bytes.
Never a 500 or a hang, nothing in the server's log as an exception, the consent log
unchanged unless a decision was acknowledged, and the server answers normally after.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.hostile.server import TRACEBACK_MARKS, Server, exchange, request, serve

CONSENT = b"/_gatekeeper/consent"
FORM = b"Content-Type: application/x-www-form-urlencoded"


@pytest.fixture(scope="module", params=["h11", "httptools"])
def server(request, tmp_path_factory) -> Iterator[Server]:
    with serve(tmp_path_factory.mktemp(request.param), http=request.param) as running:
        yield running


@pytest.fixture
def quiet_log(server: Server) -> Iterator[None]:
    offset = server.log_size()
    yield
    logged = server.log_since(offset)
    for mark in TRACEBACK_MARKS:
        assert mark not in logged, logged.decode(errors="replace")[-3000:]
    # ...and the server still answers.
    assert exchange(server.port, request(b"GET", CONSENT, [])).status == 200


pytestmark = pytest.mark.usefixtures("quiet_log")


def test_a_body_trickled_a_byte_at_a_time_is_read_whole(server):
    before = server.records()
    body = b"action=accept_all&next=/%E2%82%AC"
    data = request(b"POST", CONSENT, [FORM], body)
    head = data[: -len(body)]
    answer = exchange(server.port, [head, *(bytes([b]) for b in body)], pause=0.02)
    assert answer.status == 303
    assert answer.headers(b"location") == [b"/%E2%82%AC"]
    assert server.records() == before + 1


@pytest.mark.parametrize("sent", [0, 1, 10])
def test_a_client_that_hangs_up_mid_body(server, sent):
    before = server.records()
    body = b"action=accept_all&next=/x"
    data = request(b"POST", CONSENT, [FORM], body)
    cut = len(data) - len(body) + sent
    exchange(server.port, [data[:cut]], then_close=True)
    exchange(server.port, [data[:cut]], pause=0.05, then_close=True)
    assert server.records() == before  # the body never arrived: nothing was decided


def test_a_body_longer_than_it_says(server):
    before = server.records()
    data = request(b"POST", CONSENT, [FORM, b"Content-Length: 17"], b"")
    answer = exchange(server.port, data + b"action=accept_all&next=//evil.example")
    assert answer.status == 303
    assert answer.headers(b"location") == [b"/"]
    assert server.records() == before + 1


def test_a_body_shorter_than_it_says(server):
    before = server.records()
    data = request(b"POST", CONSENT, [FORM, b"Content-Length: 400"], b"")
    exchange(server.port, [data + b"action=accept_all"], then_close=True)
    assert server.records() == before


@pytest.mark.parametrize(
    "endpoint", [CONSENT, b"/_gatekeeper/beacon", b"/_gatekeeper/adblock/dismiss"]
)
def test_an_oversized_body_is_refused_before_it_is_all_sent(server, endpoint):
    before = server.records()
    head = request(b"POST", endpoint, [FORM, b"Content-Length: 10000000"], b"")
    answer = exchange(server.port, [head, *(b"a" * 65536 for _ in range(153))])
    assert answer.status == 413
    assert server.records() == before


@pytest.mark.parametrize(
    ("body", "status", "location"),
    [
        (b"action=accept_all&next=/\xe2\x82\xac", 303, b"/%E2%82%AC"),  # raw UTF-8
        (b"action=accept_all&next=/%E2%82%AC", 303, b"/%E2%82%AC"),
        (b"action=accept_all&next=/%E3%80%82evil.example", 303, b"/%E3%80%82evil.example"),
        (b"action=accept_all&next=/%E2%80%A8evil", 303, b"/%E2%80%A8evil"),
        (b"action=accept_all&next=%2F%2Fevil.example", 303, b"/"),
        (b"action=accept_all&next=/\xff", 400, None),
        (b"action=accept_all&next=/%ff", 400, None),
    ],
)
def test_next_on_the_wire(server, body, status, location):
    before = server.records()
    answer = exchange(server.port, request(b"POST", CONSENT, [FORM], body))
    assert answer.status == status
    if location is not None:
        assert answer.headers(b"location") == [location]
    assert server.records() == before + (status == 303)


@pytest.mark.parametrize(
    "target",
    [b"/_gatekeeper/preferences?next=/\xe2\x82\xac", b"/_gatekeeper/\xff", b"/\xe2\x82\xac",
     b"/_gatekeeper/consent?\xff=\xff", b"/_gatekeeper/audit?token=\xff"],
)  # fmt: skip
def test_raw_non_ascii_request_targets(server, target):
    answer = exchange(server.port, request(b"GET", target, []))
    assert answer.status is None or answer.status < 500


def test_chunked_bodies_with_broken_chunks(server):
    before = server.records()
    head = (
        b"POST /_gatekeeper/consent HTTP/1.1\r\nHost: www.example.com\r\n"
        + FORM
        + (b"\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
    )
    for chunks in [b"zz\r\naction\r\n0\r\n\r\n", b"5\r\naction=accept_all\r\n0\r\n\r\n",
                   b"-1\r\nx\r\n0\r\n\r\n", b"3;\xff\r\nact\r\n0\r\n\r\n"]:  # fmt: skip
        answer = exchange(server.port, head + chunks)
        assert answer.status is None or answer.status < 500
    # Chunks that promise more than comes: the client hangs up.
    for chunks in [b"ffffffffffffffff\r\n", b"11\r\naction=accept_all\r\n"]:
        exchange(server.port, [head + chunks], then_close=True)
    assert server.records() == before
