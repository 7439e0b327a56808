"""Quart behind gatekeeper: the empty final body message, and a streamed page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .conftest import BANNER, PLACES, Browser, facts


@pytest.fixture
def app(wrapped_app: Callable[[str], Any]) -> Any:
    return wrapped_app("quart")


async def _raw(app: Any, path: str) -> list[dict[str, Any]]:
    """The ASGI messages the app sends for a GET of `path`, as a server receives them."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"localhost"), (b"accept", b"text/html")],
        "client": (PLACES["DE"], 51000),
        "server": ("localhost", 80),
    }
    sent: list[dict[str, Any]] = []
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


@pytest.mark.parametrize("path", ["/", "/stream"])
async def test_injection_survives_the_empty_final_body(app: Any, path: str) -> None:
    messages = await _raw(app, path)
    assert messages[0]["type"] == "http.response.start"
    bodies = [m for m in messages if m["type"] == "http.response.body"]
    # Exactly one final message, last; the page ends after the injected notices.
    assert [m.get("more_body", False) for m in bodies][-1] is False
    assert all(m.get("more_body", False) for m in bodies[:-1])
    page = b"".join(m.get("body", b"") for m in bodies).decode()
    assert page.count(BANNER) == 1
    assert page.index(BANNER) < page.rindex("</body>")
    headers = dict(messages[0]["headers"])
    if len(bodies) > 1:
        assert b"content-length" not in headers  # streamed: the length is no longer known
    else:
        assert int(headers[b"content-length"]) == len(page.encode())


async def test_streamed_page_is_complete(app: Any) -> None:
    async with Browser(app, "JP") as visitor:
        response = await visitor.get("/stream")
    assert response.status_code == 200
    assert "<p>Chunk 3 for a visitor from JP.</p>" in response.text
    assert response.text.rstrip().endswith("</html>")


async def test_home_shows_the_visitor(app: Any) -> None:
    async with Browser(app, "US-CA", language="en") as visitor:
        response = await visitor.get("/")
    assert facts(response.text)["country"] == "US"
    assert facts(response.text)["analytics"] == "yes"
