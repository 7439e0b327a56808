"""The one-file Django project behind gatekeeper: streamed pages, CSRF and sessions."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from .conftest import BANNER, Browser, cookie_names, facts

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture
def app(wrapped_app: Callable[[str], Any]) -> Any:
    return wrapped_app("django")


async def test_streamed_page_gets_the_notices(app: Any) -> None:
    async with Browser(app, "DE") as visitor:
        response = await visitor.get("/stream")
    assert response.status_code == 200
    text = response.text
    # Django streams without a Content-Length (chunked); gatekeeper keeps it that way.
    assert "content-length" not in response.headers
    assert text.count(BANNER) == 1
    assert text.index("<p>Chunk 5 for a visitor from DE.</p>") < text.index(BANNER)
    assert text.index(BANNER) < text.rindex("</body>")
    assert text.rstrip().endswith("</html>")


async def test_csrf_and_session_cookies_pass_before_consent(app: Any) -> None:
    async with Browser(app, "DE") as visitor:
        first = await visitor.get("/")
        assert BANNER in first.text and facts(first.text)["analytics"] == "no"
        # Listed under `necessary`: Django's own cookies go through, the tracker does not.
        assert {"csrftoken", "sessionid"} <= cookie_names(first)
        assert "_ga" not in cookie_names(first)

        # The session survives (gatekeeper neither drops nor expires it)...
        second = await visitor.get("/")
        assert facts(second.text)["visits"] == "2"

        # ...and a POST protected by Django's CSRF middleware passes through gatekeeper,
        # body and cookie intact.
        token = CSRF_FIELD.search(second.text)
        assert token is not None
        posted = await visitor.client.post(
            "/",
            data={"csrfmiddlewaretoken": token.group(1), "note": "hello"},
            headers={"Origin": "http://localhost"},
        )
        assert posted.status_code == 200, posted.text[:500]
        assert '<p id="posted">You sent: hello</p>' in posted.text
        assert facts(posted.text)["visits"] == "3"


async def test_csrf_still_refuses_a_forged_post(app: Any) -> None:
    async with Browser(app, "DE") as visitor:
        await visitor.get("/")
        forged = await visitor.client.post(
            "/", data={"note": "x"}, headers={"Origin": "http://localhost"}
        )
    assert forged.status_code == 403  # Django's answer: gatekeeper did not weaken it
