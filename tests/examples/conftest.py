"""Fixtures for the example apps: the environment their policy reads, a fresh import of
each example, and a visitor that keeps cookies like a browser.

Every example module builds (or wraps) its app at import time, the way servers load it.
`load_example` imports it afresh for each test, after the environment is set, so each test
gets an app whose consent log lives in that test's tmp_path.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from gatekeeper import Gatekeeper
from tests.conftest import REPO, SECRET, require

EXAMPLES = REPO / "examples"
POLICY = EXAMPLES / "policy.yaml"
HOST = "localhost"
ORIGIN = f"http://{HOST}"

# Addresses the demo GeoIP database (which examples/policy.yaml uses) places somewhere.
PLACES = {
    "DE": "192.0.2.10",  # opt-in
    "US-CA": "198.51.100.10",  # opt-out
    "JP": "203.0.113.10",  # notice
    "unknown": "127.0.0.1",  # not in the database: opt-in
}

# Framework -> (example module, the package it needs, the ASGI attribute servers load).
FRAMEWORKS: dict[str, tuple[str, str, str]] = {
    "starlette": ("starlette_app", "starlette", "app"),
    "fastapi": ("fastapi_app", "fastapi", "app"),
    "django": ("django_app", "django", "application"),
    "litestar": ("litestar_app", "litestar", "app"),
    "quart": ("quart_app", "quart", "app"),
}

BANNER = 'data-gk-notice="consent"'
NOTIFICATION = 'data-gk-notice="notification"'
_FACT = re.compile(r'<dd id="(\w+)">([^<]*)</dd>')


def needs(package: str) -> None:
    require(
        importlib.util.find_spec(package) is not None,
        f"{package} is not installed (pip install -e '.[dev]')",
    )


@pytest.fixture
def example_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """What a deployment of an example sets: the secret, and where the consent log goes."""
    env = {
        "GATEKEEPER_SECRET": SECRET,
        "GATEKEEPER_AUDIT_STORE": f"sqlite:///{tmp_path / 'consent.db'}",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GATEKEEPER_GEOIP", raising=False)
    return env


@pytest.fixture
def load_example(
    example_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Callable[[str], ModuleType]:
    def load(module: str) -> ModuleType:
        name = f"examples.{module}"
        monkeypatch.delitem(sys.modules, name, raising=False)
        return importlib.import_module(name)

    return load


@pytest.fixture
def wrapped_app(load_example: Callable[[str], ModuleType]) -> Callable[[str], Any]:
    """The ASGI app a server would run for a framework's example, wrapped by gatekeeper."""

    def build(framework: str) -> Any:
        module, package, attribute = FRAMEWORKS[framework]
        needs(package)
        app = getattr(load_example(module), attribute)
        if framework == "starlette":
            # The Starlette example is the one left bare for `gatekeeper serve` to wrap.
            app = Gatekeeper(app, policy=POLICY)
        return app

    return build


def facts(page: str) -> dict[str, str]:
    """The visitor facts an example page shows: {"country": "DE", "analytics": "no", ...}."""
    return dict(_FACT.findall(page))


def cookie_names(response: httpx.Response) -> set[str]:
    """Cookies the response sets (deletions included)."""
    return {raw.split("=", 1)[0].strip() for raw in response.headers.get_list("set-cookie")}


class Browser:
    """One browser from one place: keeps cookies, sends what browsers send."""

    def __init__(self, app: Any, place: str = "DE", *, language: str = "de") -> None:
        transport = httpx.ASGITransport(app=app, client=(PLACES[place], 51000))
        self.client = httpx.AsyncClient(
            transport=transport,
            base_url=ORIGIN,
            headers={"Accept": "text/html,application/xhtml+xml", "Accept-Language": language},
        )

    async def __aenter__(self) -> Browser:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()

    async def get(self, path: str = "/", **headers: str) -> httpx.Response:
        return await self.client.get(path, headers=headers)

    async def accept_all(self) -> httpx.Response:
        # A same-origin form post, as the banner's "Accept all" button sends it without JS.
        return await self.client.post(
            "/_gatekeeper/consent",
            data={"action": "accept_all", "next": "/"},
            headers={"Origin": ORIGIN, "Sec-Fetch-Site": "same-origin"},
        )
