"""The Litestar example, and why it wraps the app instead of using `middleware=[...]`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .conftest import BANNER, POLICY, Browser, facts, needs


async def test_gatekeeper_endpoints_answer(wrapped_app: Callable[[str], Any]) -> None:
    async with Browser(wrapped_app("litestar"), "DE") as visitor:
        state = await visitor.get("/_gatekeeper/consent", Accept="application/json")
        page = await visitor.get("/")
    assert state.status_code == 200 and state.json()["decided"] is False
    assert BANNER in page.text and facts(page.text)["country"] == "DE"


async def test_litestar_route_middleware_would_miss_gatekeeper_paths(
    example_env: dict[str, str],
) -> None:
    """What the guide warns about: Litestar runs `middleware=` only on matched routes."""
    needs("litestar")
    from litestar import Litestar, get
    from litestar.middleware import DefineMiddleware

    from gatekeeper import Gatekeeper

    @get("/", media_type="text/html")
    async def home() -> str:
        return "<html><head></head><body>hello</body></html>"

    inside = Litestar(
        route_handlers=[home], middleware=[DefineMiddleware(Gatekeeper, policy=POLICY)]
    )
    async with Browser(inside, "DE") as visitor:
        page = await visitor.get("/")
        consent = await visitor.get("/_gatekeeper/consent", Accept="application/json")
    assert BANNER in page.text  # the route's page is wrapped...
    assert consent.status_code == 404  # ...but gatekeeper's own endpoint is never reached


@pytest.mark.parametrize("place", ["DE", "JP"])
async def test_request_state_carries_the_visitor(
    wrapped_app: Callable[[str], Any], place: str
) -> None:
    async with Browser(wrapped_app("litestar"), place) as visitor:
        seen = (await visitor.get("/api/visitor", Accept="application/json")).json()
    assert seen["country"] == place
