"""The FastAPI example: add_middleware, GZip outside gatekeeper, the visitor dependency."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from .conftest import BANNER, Browser, facts, needs


@pytest.fixture
def app(wrapped_app: Callable[[str], Any]) -> Any:
    return wrapped_app("fastapi")


async def test_notices_are_injected_before_compression(app: Any) -> None:
    async with Browser(app, "DE") as visitor:
        response = await visitor.get("/", **{"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    # httpx decoded it: the compressed page carries the banner, so gatekeeper saw plain HTML.
    assert BANNER in response.text
    assert facts(response.text)["country"] == "DE"


async def test_the_other_order_leaves_pages_alone(example_env: dict[str, str]) -> None:
    """What the guide warns about: gatekeeper outside GZip sees only compressed bytes."""
    needs("fastapi")
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse
    from starlette.middleware.gzip import GZipMiddleware

    from gatekeeper import Gatekeeper

    from .conftest import POLICY

    wrong = FastAPI()
    wrong.add_middleware(GZipMiddleware, minimum_size=10)
    wrong.add_middleware(Gatekeeper, policy=POLICY)  # added last: outermost

    @wrong.get("/", response_class=HTMLResponse)
    async def home() -> str:
        return "<html><head></head><body>" + "text " * 100 + "</body></html>"

    async with Browser(wrong, "DE") as visitor:
        response = await visitor.get("/", **{"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert BANNER not in response.text


async def test_current_visitor_dependency(app: Any) -> None:
    async with Browser(app, "US-CA", language="de") as visitor:
        seen = (await visitor.get("/api/visitor", Accept="application/json")).json()
        language = (await visitor.get("/api/language", Accept="application/json")).json()
    assert (seen["country"], seen["subdivision"], seen["analytics"]) == ("US", "US-CA", True)
    assert language == {"language": "de"}


async def test_dependency_without_gatekeeper_names_the_mistake() -> None:
    needs("fastapi")
    from fastapi import Depends, FastAPI

    from gatekeeper import Visitor as GKVisitor
    from gatekeeper.fastapi import current_visitor

    bare = FastAPI()

    @bare.get("/")
    async def home(visitor: GKVisitor = Depends(current_visitor)) -> dict[str, str]:  # noqa: B008
        return {"language": visitor.language}

    transport = httpx.ASGITransport(app=bare, raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        with pytest.raises(LookupError, match="wrapped by Gatekeeper"):
            await client.get("/")


def test_gatekeeper_core_does_not_import_fastapi() -> None:
    import subprocess
    import sys

    code = "import sys, gatekeeper, gatekeeper.middleware; print('fastapi' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


async def test_gzip_body_really_is_compressed(app: Any) -> None:
    transport = httpx.ASGITransport(app=app, client=("192.0.2.10", 51000))
    headers = {"Accept": "text/html", "Accept-Encoding": "gzip"}
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://localhost") as client,
        client.stream("GET", "/", headers=headers) as response,
    ):
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert BANNER.encode() in gzip.decompress(raw)
