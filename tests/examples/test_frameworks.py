"""Every example app, through its gatekeeper, as a visitor meets it.

The same journey for each framework: the consent banner and the notification bar are
injected into the app's page, the analytics cookie the app sets is withheld until the
visitor accepts, the page's own view of the visitor (`gatekeeper.visitor(request)`) agrees
with the policy, and after "Accept all" the banner is gone and the cookie goes through.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .conftest import BANNER, FRAMEWORKS, NOTIFICATION, Browser, cookie_names, facts

FRAMEWORK_NAMES = list(FRAMEWORKS)


@pytest.mark.parametrize("framework", FRAMEWORK_NAMES)
async def test_consent_journey(framework: str, wrapped_app: Callable[[str], Any]) -> None:
    app = wrapped_app(framework)
    async with Browser(app, "DE", language="de") as visitor:
        first = await visitor.get("/")
        assert first.status_code == 200, first.text
        assert first.text.count(BANNER) == 1
        assert NOTIFICATION in first.text
        shown = facts(first.text)
        assert (shown["country"], shown["language"], shown["analytics"]) == ("DE", "de", "no")
        # No verdict before the adblock check has run (or while detection is off).
        assert shown["adblock"] in ("not checked", "unknown")
        assert "_ga" not in cookie_names(first)
        # A page carrying notices for this visitor must not be cached for the next one.
        assert "private" in first.headers["cache-control"]
        assert "cookie" in first.headers["vary"].lower()

        decided = await visitor.accept_all()
        assert decided.status_code == 303, decided.text
        assert decided.headers["location"] == "/"
        assert "gk_consent" in cookie_names(decided)

        again = await visitor.get("/")
        assert again.status_code == 200
        assert BANNER not in again.text
        assert facts(again.text)["analytics"] == "yes"
        assert "_ga" in cookie_names(again)


@pytest.mark.parametrize("framework", FRAMEWORK_NAMES)
@pytest.mark.parametrize(
    ("place", "country", "analytics"),
    [
        ("DE", "DE", False),  # opt-in: nothing optional before consent
        ("US-CA", "US", True),  # opt-out: allowed until refused
        ("JP", "JP", True),  # notice only
        ("unknown", None, False),  # loopback: unknown location, opt-in
    ],
)
async def test_visitor_api_by_place(
    framework: str,
    wrapped_app: Callable[[str], Any],
    place: str,
    country: str | None,
    analytics: bool,
) -> None:
    async with Browser(wrapped_app(framework), place, language="fr, en;q=0.5") as visitor:
        response = await visitor.get("/api/visitor", Accept="application/json")
    assert response.status_code == 200, response.text
    seen = response.json()
    assert seen.pop("adblock") in (None, "unknown")  # no verdict before a check has run
    assert seen == {
        "country": country,
        "subdivision": "US-CA" if place == "US-CA" else None,
        "language": "fr",
        "analytics": analytics,
    }
    # JSON is never touched: no notices, no private caching added.
    assert BANNER not in response.text


@pytest.mark.parametrize("framework", FRAMEWORK_NAMES)
async def test_reject_all_keeps_analytics_off(
    framework: str, wrapped_app: Callable[[str], Any]
) -> None:
    async with Browser(wrapped_app(framework), "US-CA", language="en") as visitor:
        before = await visitor.get("/")
        assert facts(before.text)["analytics"] == "yes"  # opt-out: on until refused
        assert "_ga" in cookie_names(before)
        refused = await visitor.client.post(
            "/_gatekeeper/consent",
            data={"action": "reject_all"},
            headers={"Origin": "http://localhost", "Accept": "application/json"},
        )
        assert refused.status_code == 200, refused.text
        assert refused.json()["categories"]["analytics"] is False
        # The browser's _ga from the first page is expired with the answer...
        ga = [c.lower() for c in refused.headers.get_list("set-cookie") if c.startswith("_ga=")]
        assert ga and all("max-age=0" in c for c in ga), ga
        after = await visitor.get("/")
        assert facts(after.text)["analytics"] == "no"
        # ...and the one the app keeps setting never reaches it again.
        assert "_ga" not in cookie_names(after)
