"""The entry point: what passes through untouched, geo start-up modes, policy reload."""

from __future__ import annotations

import asyncio
import logging
import os

import httpx
import pytest

from gatekeeper import Gatekeeper, PolicyError, load_policy
from gatekeeper.visitor import SCOPE_KEY


class Recorder:
    """A raw ASGI app that remembers what it was given and answers a tiny page."""

    def __init__(self) -> None:
        self.scopes: list[dict] = []

    async def __call__(self, scope, receive, send):
        self.scopes.append(scope)
        if scope["type"] == "lifespan":
            message = await receive()
            await send({"type": "lifespan.startup.complete"})
            self.scopes.append(message)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.accept"})
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def test_lifespan_passes_through_untouched_and_websockets_get_a_visitor(policy_file):
    inner = Recorder()
    app = Gatekeeper(inner, policy=str(policy_file()))
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "lifespan.startup"}

    lifespan = {"type": "lifespan", "asgi": {"version": "3.0"}}
    await app(lifespan, receive, send)
    websocket = {"type": "websocket", "path": "/ws", "headers": [], "client": ("1.2.3.4", 5)}
    await app(websocket, receive, send)
    assert inner.scopes[0] is lifespan and SCOPE_KEY not in lifespan
    assert inner.scopes[2] is websocket and websocket[SCOPE_KEY].ip is not None
    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "websocket.accept"}]


@pytest.mark.parametrize("extension", [True, False])
async def test_a_blocked_visitor_cannot_open_a_websocket(policy_file, extension):
    inner = Recorder()
    path = policy_file("debug: true\ngeoblock: {deny: [KP]}\n")
    app = Gatekeeper(inner, policy=str(path))
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "websocket.connect"}

    websocket = {
        "type": "websocket",
        "path": "/articles/live",
        "headers": [(b"x-gatekeeper-country", b"KP")],
        "client": ("1.2.3.4", 5),
        "extensions": {"websocket.http.response": {}} if extension else {},
    }
    await app(websocket, receive, send)
    assert inner.scopes == []  # the app never saw the handshake
    if extension:
        assert sent[0]["type"] == "websocket.http.response.start"
        assert sent[0]["status"] == 451
        assert sent[1]["type"] == "websocket.http.response.body"
    else:
        assert sent == [{"type": "websocket.close", "code": 4451}]


async def test_http_gets_a_visitor_and_a_private_state(policy_file):
    inner = Recorder()
    shared_state: dict = {"db": "pool"}
    app = Gatekeeper(inner, policy=str(policy_file()))
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [],
        "query_string": b"",
        "client": ("127.0.0.1", 1),
        "state": shared_state,
    }

    async def send(message):
        pass

    await app(scope, None, send)
    seen = inner.scopes[0]
    assert seen[SCOPE_KEY].ip is not None and str(seen[SCOPE_KEY].ip) == "127.0.0.1"
    assert seen["state"]["gatekeeper"] is seen[SCOPE_KEY]
    assert seen["state"]["db"] == "pool"
    assert "gatekeeper" not in shared_state  # the server's shared dict is not touched


async def test_accepts_a_policy_object(policy_file):
    policy = load_policy(policy_file())
    app = Gatekeeper(Recorder(), policy=policy)
    assert app.policy is policy


def test_broken_policy_refuses_to_start_with_the_reason(policy_file):
    path = policy_file("geoblock: {deny: [XX]}\n")
    with pytest.raises(PolicyError, match=r"policy.yaml:3:\d+: geoblock.deny\[0\]: 'XX'"):
        Gatekeeper(Recorder(), policy=str(path))


def test_missing_geoip_database(policy_file, tmp_path):
    missing = tmp_path / "nope.mmdb"
    # Refused at start-up as one line at the key that names the file, not a traceback.
    with pytest.raises(
        PolicyError, match=r"policy.yaml:3:\d+: geoip.database: GeoIP database not found"
    ):
        Gatekeeper(Recorder(), policy=str(policy_file(f"geoip: {{database: {missing}}}\n")))
    relaxed = policy_file(f"geoip: {{database: {missing}, on_missing: allow}}\n", name="b.yaml")
    assert Gatekeeper(Recorder(), policy=str(relaxed)).policy.geoip.on_missing == "allow"


def test_corrupt_geoip_database(policy_file, geoip_dir):
    broken = geoip_dir / "GeoIP2-City-Test-Broken-Double-Format.mmdb"
    with pytest.raises(PolicyError, match=r"policy.yaml:3:\d+: geoip.database: "):
        Gatekeeper(Recorder(), policy=str(policy_file(f"geoip: {{database: {broken}}}\n")))


async def _get(app, path="/"):
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get(path)


async def _edit(path, old, new):
    path.write_text(path.read_text().replace(old, new))
    # Visible to a stat() check even on coarse-mtime filesystems, and past the policy's
    # reload_interval (1 ms) so the next request polls the file.
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    await asyncio.sleep(0.01)


async def test_edited_policy_is_picked_up_and_a_broken_edit_keeps_the_last_good(
    policy_file, caplog
):
    path = policy_file("reload_interval: 0.001\nlanguages: {default: en, available: [en]}\n")
    app = Gatekeeper(Recorder(), policy=str(path))
    assert app.policy.languages.available == ("en",)

    await _edit(path, "[en]", "[en, de]")
    await _settled(app)
    assert app.policy.languages.available == ("en", "de")

    good = app.policy
    await _edit(path, "[en, de]", "[en, de, 42x]")
    with caplog.at_level(logging.ERROR, logger="gatekeeper.policy"):
        response = await _get(app)
        await _settled(app)
    assert response.status_code == 200
    assert app.policy is good
    assert "not reloaded" in caplog.text and "languages.available[2]" in caplog.text


async def _settled(app) -> None:
    """A request that notices the edit, then the one after the reload thread is done."""
    await _get(app)
    assert app._file.wait(timeout=30)
    await _get(app)


async def test_reload_disabled_with_zero_interval(policy_file):
    path = policy_file("reload_interval: 0\n")
    app = Gatekeeper(Recorder(), policy=str(path))
    await _edit(path, 'revision: "r1"', 'revision: "r2"')
    await _get(app)
    assert app.policy.site.revision == "r1"


async def test_in_debug_mode_a_chosen_place_sticks_for_the_visit(policy_file):
    inner = Recorder()
    app = Gatekeeper(inner, policy=str(policy_file("debug: true\n")))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://news.test") as client:
        page = await client.get("/?gk_country=DE")
        assert "gk_debug_place=DE" in page.headers["set-cookie"]
        assert inner.scopes[-1][SCOPE_KEY].country == "DE"
        await client.get("/_gatekeeper/static/none.js")  # an asset of the page
        beacon_like = await client.get("/later")
        assert beacon_like.status_code == 200
        assert inner.scopes[-1][SCOPE_KEY].country == "DE"  # from the cookie, no query
        assert "set-cookie" not in beacon_like.headers  # already remembered
        await client.get("/?gk_country=US-CA")
        assert inner.scopes[-1][SCOPE_KEY].subdivision == "US-CA"


async def test_without_debug_mode_the_place_cookie_means_nothing(policy_file):
    inner = Recorder()
    app = Gatekeeper(inner, policy=str(policy_file()))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://news.test") as client:
        response = await client.get("/?gk_country=DE", headers={"Cookie": "gk_debug_place=DE"})
        assert "set-cookie" not in response.headers
        assert inner.scopes[-1][SCOPE_KEY].country is None
