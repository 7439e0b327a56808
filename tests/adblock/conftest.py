"""Adblock fixtures: policies, a hand-set clock, an HTML app and sites run in process.

Every site is the app wrapped by `Gatekeeper` itself, on a policy file whose database is
a real SQLite file in the test's folder: what is tested is what runs.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from gatekeeper import Gatekeeper
from gatekeeper.adblock import AdblockFeature
from gatekeeper.adblock.baits import COSMETIC, IMAGE, SCRIPT
from gatekeeper.adblock.rates import summarise
from gatekeeper.adblock.store import Filter
from gatekeeper.policy import Policy, load_policy

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
PAGE = (
    b"<!doctype html><html lang=en><head><title>News</title></head>"
    b"<body><main><h1>News</h1><p>Story.</p></main></body></html>"
)
T0 = 1_795_000_000.0  # 2026-11-18T...Z
PEER = "203.0.113.7"


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def html_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Every path is an HTML page, except /api (JSON) and /missing (404)."""
    if scope["type"] != "http":
        return
    path = scope["path"]
    status, kind, body = 200, b"text/html; charset=utf-8", PAGE
    if path.startswith("/api"):
        kind, body = b"application/json", b'{"ok": true}'
    elif path == "/missing":
        status = 404
    headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
def adblock_policy(policy_file: Callable[..., Path]) -> Callable[..., Policy]:
    """A policy with this adblock section (YAML, indented under `adblock:`)."""

    def write(section: str = "mode: notice", extra: str = "", name: str = "policy.yaml") -> Policy:
        lines = "\n".join(f"  {line}" for line in section.splitlines())
        baits = f'  baits: {{script: {SCRIPT}, image: {IMAGE}, cosmetic_class: "{COSMETIC}"}}'
        if "baits" in section:
            baits = ""
        text = (
            f'languages: {{default: en, available: [en, de]}}\n'
            f'adblock:\n{lines}\n{baits}\n'
            f'audit: {{store: "sqlite:///consent.db"}}\n{extra}'
        )  # fmt: skip
        return load_policy(policy_file(text, name=name))

    return write


def token_in(html: str) -> str | None:
    found = re.search(r'data-token="([^"]+)"', html)
    return found.group(1) if found else None


class Site:
    """An app wrapped by Gatekeeper, and what a browser (or a script) would do on it."""

    def __init__(self, gatekeeper: Gatekeeper) -> None:
        self.gatekeeper = gatekeeper
        self._clients: dict[str, httpx.AsyncClient] = {}

    @property
    def feature(self) -> AdblockFeature:
        return self.gatekeeper.plan.adblock

    @property
    def policy(self) -> Policy:
        return self.gatekeeper.policy

    def client(self, peer: str = PEER) -> httpx.AsyncClient:
        """One client (and cookie jar) per peer address."""
        if peer not in self._clients:
            transport = httpx.ASGITransport(app=self.gatekeeper, client=(peer, 50000))
            self._clients[peer] = httpx.AsyncClient(
                transport=transport,
                base_url="http://www.example-news.com",
                headers={"user-agent": BROWSER},
            )
        return self._clients[peer]

    async def page(
        self, path: str = "/", *, peer: str = PEER, **headers: str
    ) -> tuple[httpx.Response, str | None]:
        response = await self.client(peer).get(path, headers={"accept": "text/html", **headers})
        return response, token_in(response.text)

    async def bait(self, kind: str, token: str | None, *, peer: str = PEER) -> httpx.Response:
        baits = self.policy.adblock.baits
        path = baits.script if kind == "script" else baits.image
        params = {"t": token, "r": "1"} if token is not None else {"r": "1"}
        return await self.client(peer).get(f"{self.policy.prefix}{path}", params=params)

    async def proof(self, token: str, *, peer: str = PEER) -> str | None:
        """Load the script bait as a browser does and read the proof it leaves."""
        found = re.search(
            rb'"data-gk-proof","([^"]*)"', (await self.bait("script", token, peer=peer)).content
        )
        return found.group(1).decode() if found and found.group(1) else None

    async def beacon(
        self, body: Any = None, *, content: bytes | None = None, peer: str = PEER, **kw: Any
    ) -> httpx.Response:
        url = f"{self.policy.prefix}/beacon"
        if content is not None:
            return await self.client(peer).post(url, content=content, **kw)
        return await self.client(peer).post(url, json=body, **kw)

    async def view(
        self,
        path: str = "/",
        *,
        image: bool,
        script: bool,
        report: dict[str, Any] | None,
        peer: str = PEER,
        **headers: str,
    ) -> httpx.Response | None:
        """One page view as a browser makes it: the page, the baits that got through,
        the beacon with what the check saw (None: no JavaScript, no beacon)."""
        _, token = await self.page(path, peer=peer, **headers)
        assert token is not None
        if image:
            await self.bait("image", token, peer=peer)
        proof = await self.proof(token, peer=peer) if script else None
        if report is None:
            return None
        body = {"token": token, "image": image, "proof": proof, **report}
        return await self.beacon(body, peer=peer)

    async def flush(self) -> None:
        """Write this instance's pending counts to the database."""
        assert await self.feature.detector.counts.flush()

    async def stored(self) -> dict[tuple[str, str, str, str], int]:
        """What the database holds, after writing what is pending."""
        await self.flush()
        store = self.feature.detector.counts.store
        assert store is not None
        return {(r.day, r.country, r.group, r.verdict): r.count for r in await store.rows(Filter())}

    async def verdicts(self) -> dict[str, int]:
        """Every view's verdict as `gatekeeper adblock stats` adds them up."""
        await self.flush()
        store = self.feature.detector.counts.store
        assert store is not None
        _, total = summarise(await store.rows(Filter()), ("day",))
        return total.counts

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        await self.gatekeeper.close()


@pytest.fixture
def site_for() -> Callable[..., Any]:
    """`async with site_for(policy) as site:` an in-process site on the policy's database."""

    @asynccontextmanager
    async def open_site(policy: Policy, app: Any = html_app) -> AsyncIterator[Site]:
        site = Site(Gatekeeper(app, policy=policy))
        try:
            yield site
        finally:
            await site.close()

    return open_site
