"""Websockets obey the country rules: a real server, a real websocket client.

The policy denies KP everywhere and GB on /articles/live (the debug header and
`?gk_country=` say where a loopback visitor is). A denied visitor's handshake is refused
before it is accepted, so the app never sees it and no frame is ever exchanged:

- where the server offers the `websocket.http.response` extension (uvicorn's three
  websocket implementations and hypercorn do), the client gets the block answer over
  HTTP: 451, the block page, `Link: <...>; rel="blocked-by"`, no-store, nosniff;
- where it does not, gatekeeper closes the handshake (code 4451, or 4403 with
  `geoblock.status: 403`), which the server must answer with HTTP 403 (ASGI spec).

An allowed visitor connects and gets the stream, on the same path. The last test
checks that a policy reload reaches websocket-only traffic too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from gatekeeper import Gatekeeper
from tests.conftest import BASE_POLICY
from tests.hostile.server import TRACEBACK_MARKS, Server, serve
from tests.hostile.target import HANG_SECONDS

SERVERS = [
    ("uvicorn", "websockets"),
    ("uvicorn", "websockets-sansio"),
    ("uvicorn", "wsproto"),
    ("hypercorn", "auto"),
]


@pytest.fixture(
    scope="module",
    params=[(*s, extension) for s in SERVERS for extension in (True, False)],
    ids=lambda p: f"{p[0]}-{p[1]}-{'extension' if p[2] else 'no-extension'}",
)
def server(request, tmp_path_factory) -> Iterator[tuple[Server, bool]]:
    kind, ws, extension = request.param
    app = "tests.hostile.live:app" if extension else "tests.hostile.live:without_extension"
    folder = tmp_path_factory.mktemp(f"{kind}-{ws}")
    with serve(folder, ws=ws, server=kind, app=app) as running:
        yield running, extension
        logged = running.log.read_bytes()
    for mark in TRACEBACK_MARKS:
        assert mark not in logged, logged.decode(errors="replace")[-3000:]


def open_stream(server: Server, path: str, country: str | None = None) -> str:
    headers = {"X-Gatekeeper-Country": country} if country else {}
    url = f"ws://127.0.0.1:{server.port}{path}"
    with connect(url, additional_headers=headers, open_timeout=HANG_SECONDS) as ws:
        return ws.recv(timeout=HANG_SECONDS)


def refusal(server: Server, path: str, country: str | None = None):
    with pytest.raises(InvalidStatus) as refused:
        open_stream(server, path, country)
    return refused.value.response


@pytest.mark.parametrize(
    ("path", "country"),
    [("/articles/live", "GB"), ("/articles/live/scores", "GB"), ("/articles/live", "KP"),
     ("/anything", "KP"), ("/articles/live?gk_country=GB", None), ("/?gk_country=KP", None)],
)  # fmt: skip
def test_a_denied_visitor_cannot_open_a_websocket(server, path, country):
    running, extension = server
    response = refusal(running, path, country)
    if extension:
        assert response.status_code == 451
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Link"].endswith('; rel="blocked-by"')
        assert b'data-gk-notice="block"' in response.body
    else:
        assert response.status_code == 403


@pytest.mark.parametrize(
    ("path", "country"),
    [("/articles/live", None), ("/articles/live", "SE"), ("/articles/live", "US"),
     ("/other", "GB"), ("/articles/livestock", "GB"), ("/articles/live?gk_country=SE", None)],
)  # fmt: skip
def test_an_allowed_visitor_gets_the_stream(server, path, country):
    running, _ = server
    assert open_stream(running, path, country) == f"live:{path.split('?')[0]}"


def handshake_cookies(server: Server, cookie: str | None = None) -> list[str]:
    headers = {"X-Gatekeeper-Country": "DE"} | ({"Cookie": cookie} if cookie else {})
    url = f"ws://127.0.0.1:{server.port}/tracked/live"
    with connect(url, additional_headers=headers, open_timeout=HANG_SECONDS) as ws:
        assert ws.recv(timeout=HANG_SECONDS) == "live:/tracked/live"
        assert ws.response is not None
        return ws.response.headers.get_all("Set-Cookie")


def test_the_handshake_answer_sets_no_cookie_the_visitor_refused(server):
    running, _ = server
    base = f"http://127.0.0.1:{running.port}"
    assert handshake_cookies(running) == []  # opt-in, not asked yet: nothing optional
    chose = {}
    for action in ("reject_all", "accept_all"):
        answer = httpx.post(
            base + "/_gatekeeper/consent",
            data={"action": action},
            headers={"Accept": "application/json", "X-Gatekeeper-Country": "DE"},
        )
        chose[action] = f"gk_consent={answer.cookies['gk_consent']}"
    assert handshake_cookies(running, chose["reject_all"]) == []
    held = chose["reject_all"] + "; _ga=GA1.1.1"  # set before the visitor refused it
    assert [c.split(";")[0] for c in handshake_cookies(running, held)] == ["_ga="]
    assert [c.split(";")[0] for c in handshake_cookies(running, chose["accept_all"])] == [
        "_ga=GA1.1.1"
    ]


def test_the_http_twin_answers_the_same(server):
    running, _ = server
    base = f"http://127.0.0.1:{running.port}"
    blocked = httpx.get(base + "/articles/live", headers={"X-Gatekeeper-Country": "GB"})
    assert blocked.status_code == 451
    assert httpx.get(base + "/articles/live").status_code == 200


# --- a reload reaches websocket-only traffic ---------------------------------------------------


async def handshake(app, country: str) -> list[dict]:
    sent: list[dict] = []
    connected = False

    async def receive():
        nonlocal connected
        if not connected:
            connected = True
            return {"type": "websocket.connect"}
        await asyncio.Event().wait()

    async def send(message):
        sent.append(message)

    scope = {
        "type": "websocket", "asgi": {"version": "3.0"}, "path": "/live", "raw_path": b"/live",
        "query_string": b"", "headers": [(b"host", b"www.example.com"),
        (b"x-gatekeeper-country", country.encode())], "client": ("203.0.113.9", 1),
        "server": ("www.example.com", 80), "scheme": "ws", "subprotocols": [],
        "extensions": {"websocket.http.response": {}},
    }  # fmt: skip
    async with asyncio.timeout(HANG_SECONDS):
        await app(scope, receive, send)
    return sent


async def accepting(scope, receive, send):
    await receive()
    await send({"type": "websocket.accept"})


async def test_a_policy_reload_applies_to_websocket_handshakes(tmp_path: Path):
    # A site that only serves websockets never gets an HTTP request: the reload must not
    # wait for one, or a newly denied country keeps its streams.
    path = tmp_path / "policy.yaml"
    sections = (
        f"debug: true\nreload_interval: 0.05\naudit: {{store: 'sqlite:///{tmp_path}/c.db'}}\n"
    )
    path.write_text(BASE_POLICY + sections, encoding="utf-8")
    app = Gatekeeper(accepting, policy=path)
    try:
        assert (await handshake(app, "FR"))[0]["type"] == "websocket.accept"
        staging = tmp_path / "next.yaml"
        staging.write_text(BASE_POLICY + sections + "geoblock: {deny: [FR]}\n", encoding="utf-8")
        staging.replace(path)
        deadline = time.monotonic() + HANG_SECONDS
        while (await handshake(app, "FR"))[0]["type"] == "websocket.accept":
            assert time.monotonic() < deadline, "the new policy never reached websockets"
            await asyncio.sleep(0.05)
        refused = await handshake(app, "FR")
        assert refused[0] == {**refused[0], "type": "websocket.http.response.start", "status": 451}
    finally:
        await app.close()
