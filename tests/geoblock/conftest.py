"""Fixtures for the country-rules tests: a recording app, policies on MaxMind's test
databases, and two ways of running a request through gatekeeper.

Every request goes through `Gatekeeper(app, policy=...)` itself, never through steps
composed by hand: what is tested is what runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from gatekeeper import Gatekeeper
from gatekeeper.policy import Policy
from gatekeeper.visitor import SCOPE_KEY

CITY = "GeoIP2-City-Test.mmdb"
COUNTRY = "GeoIP2-Country-Test.mmdb"
ANONYMOUS = "GeoIP2-Anonymous-IP-Test.mmdb"

GB, SE, US_WA, JP = "81.2.69.160", "89.160.20.112", "216.160.83.56", "2001:218::1"
PROXY = "10.0.0.1"


class App:
    """A raw ASGI app that answers 200 and records every request it was given."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.calls.append(scope)
        visitor = scope.get(SCOPE_KEY)
        body = f"app {scope.get('path')} {visitor.country if visitor else None}".encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/plain"),
                    (b"content-length", b"%d" % len(body)),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    @property
    def paths(self) -> list[str]:
        return [scope["path"] for scope in self.calls]


@dataclass
class Site:
    """A wrapped app and what the tests inspect: the app and the Gatekeeper."""

    entry: Any
    app: App
    gatekeeper: Gatekeeper
    policy: Policy

    async def get(
        self, path: str = "/", *, peer: str = GB, method: str = "GET", **headers: str
    ) -> httpx.Response:
        return await self.get_raw(path, peer=peer, method=method, headers=list(headers.items()))

    async def get_raw(
        self, path: str, *, peer: str, method: str = "GET", headers: list[tuple[str, str]]
    ) -> httpx.Response:
        """A request with header lines exactly as given, repeated names included."""
        transport = httpx.ASGITransport(app=self.entry, client=(peer, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://news.test") as client:
            return await client.request(method, path, headers=headers)


def full(app: App, path: Path) -> Site:
    gatekeeper = Gatekeeper(app, policy=path)
    return Site(gatekeeper, app, gatekeeper, gatekeeper.policy)


Builder = Callable[..., Site]


@pytest.fixture
def geo_policy(policy_file, geoip_dir) -> Callable[..., Path]:
    """A policy on the City test database (or `database`), trusting 10.0.0.0/8."""

    def write(sections: str = "", *, database: str = CITY, on_missing: str = "error") -> Path:
        return policy_file(
            f"""
trusted_proxies: [10.0.0.0/8, "2001:db8:ffff::/48"]
geoip:
  database: "{geoip_dir / database}"
  anonymous_database: "{geoip_dir / ANONYMOUS}"
  on_missing: {on_missing}
languages: {{default: en, available: [en, de]}}
{sections}
"""
        )

    return write


@pytest.fixture
def build(geo_policy) -> Builder:
    """Wrap a fresh App with a policy of the given sections, both ways."""

    def make(sections: str = "", **options: Any) -> Site:
        return full(App(), geo_policy(sections, **options))

    return make
