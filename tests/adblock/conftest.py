"""Adblock fixtures: policies, a hand-set clock, an HTML app and an in-process client."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from gatekeeper.adblock import AdblockFeature
from gatekeeper.adblock.baits import COSMETIC, IMAGE, SCRIPT
from gatekeeper.adblock.ratelimit import RateLimiter
from gatekeeper.adblock.stats import VerdictCounts
from gatekeeper.policy import Policy, load_policy
from tests.adblock.stack import adblock_stack

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
PAGE = (
    b"<!doctype html><html lang=en><head><title>News</title></head>"
    b"<body><main><h1>News</h1><p>Story.</p></main></body></html>"
)
T0 = 1_795_000_000.0  # 2026-11-18T...Z


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def html_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Every path is an HTML page, except /api (JSON) and /missing (404)."""
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

    def write(section: str = "mode: notice", extra: str = "") -> Policy:
        lines = "\n".join(f"  {line}" for line in section.splitlines())
        baits = f'  baits: {{script: {SCRIPT}, image: {IMAGE}, cosmetic_class: "{COSMETIC}"}}'
        if "baits" in section:
            baits = ""
        text = (
            f'languages: {{default: en, available: [en, de]}}\n'
            f'adblock:\n{lines}\n{baits}\n'
            f'audit: {{store: "sqlite:///consent.db"}}\n{extra}'
        )  # fmt: skip
        return load_policy(policy_file(text))

    return write


class Site:
    """An in-process site with adblock detection, and what a browser would do on it."""

    def __init__(self, client: httpx.AsyncClient, feature: AdblockFeature, clock: Clock) -> None:
        self.client = client
        self.feature = feature
        self.clock = clock

    async def page(self, path: str = "/", **headers: str) -> tuple[httpx.Response, str | None]:
        response = await self.client.get(path, headers={"accept": "text/html", **headers})
        found = re.search(r'data-token="([^"]+)"', response.text)
        return response, found.group(1) if found else None

    async def bait(self, kind: str, token: str) -> httpx.Response:
        policy = self.feature.policy
        path = policy.adblock.baits.script if kind == "script" else policy.adblock.baits.image
        return await self.client.get(f"{policy.prefix}{path}", params={"t": token, "r": "1"})

    async def beacon(
        self, body: Any = None, *, content: bytes | None = None, **kw: Any
    ) -> httpx.Response:
        url = f"{self.feature.policy.prefix}/beacon"
        if content is not None:
            return await self.client.post(url, content=content, **kw)
        return await self.client.post(url, json=body, **kw)

    @property
    def pending(self) -> dict[tuple[str, str, str, str], int]:
        return {k: n for k, n in self.feature.detector.counts.pending.items() if n}


@pytest.fixture
def site_for() -> Callable[..., Any]:
    """`async with site_for(policy) as site:` an in-process site; counts stay in memory."""

    @asynccontextmanager
    async def open_site(policy: Policy, **options: Any) -> AsyncIterator[Site]:
        clock = options.pop("clock", Clock())
        options.setdefault("counts", VerdictCounts(None))
        options.setdefault("limiter", RateLimiter(rate=1000, burst=1000))
        entry, feature = adblock_stack(html_app, policy, clock=clock, **options)
        transport = httpx.ASGITransport(app=entry, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://www.example-news.com",
            headers={"user-agent": BROWSER},
        ) as client:
            yield Site(client, feature, clock)

    return open_site
