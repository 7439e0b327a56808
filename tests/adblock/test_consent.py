"""Detection only where the law allows it: `adblock.requires_consent`.

Reading whether a blocker is at work reads the visitor's terminal (ePrivacy Art. 5(3)):
where consent is needed, neither a bait nor gk_adblock reaches a visitor who has not
allowed the category detection needs.
"""

from __future__ import annotations

import pytest

from tests.adblock.conftest import PEER

CATEGORIES = """
consent:
  modes: {opt_in: [EEA], default: notice, unknown: opt_in}
  categories:
    necessary: {required: true, label: N}
    analytics: {label: A, consent_mode: [analytics_storage]}
    ads: {label: Ads, consent_mode: [ad_storage], sale_or_sharing: true}
debug: true
"""


async def choose(site, action: str, *categories: str) -> None:
    data: dict[str, object] = {"action": action}
    if categories:
        data["categories"] = list(categories)
    response = await site.client().post(
        "/_gatekeeper/consent", data=data, headers={"Accept": "application/json"}
    )
    assert response.status_code == 200, response.text


def stored_cookies(site) -> set[str]:
    return {cookie.name for cookie in site.client().cookies.jar}


async def test_auto_needs_the_category_that_grants_ad_storage(adblock_policy, site_for):
    policy = adblock_policy("mode: notice", extra=CATEGORIES)
    assert policy.adblock_category() == "ads"
    async with site_for(policy) as site:
        response, token = await site.page("/", **{"X-Gatekeeper-Country": "DE"})
        assert token is None and "data-gk-bait" not in response.text  # no bait at all
        assert "gk_adblock" not in stored_cookies(site)

        await choose(site, "save", "analytics")  # analytics is not what detection needs
        _, token = await site.page("/", **{"X-Gatekeeper-Country": "DE"})
        assert token is None

        await choose(site, "accept_all")
        response, token = await site.page("/", **{"X-Gatekeeper-Country": "DE"})
        assert token is not None and "data-gk-bait" in response.text
        answer = await site.beacon({"token": token, "script": False, "cosmetic": False})
        assert answer.json()["verdict"] == "blocked"
        assert "gk_adblock" in stored_cookies(site)


async def test_withdrawing_the_category_stops_detection_and_expires_its_cookie(
    adblock_policy, site_for
):
    async with site_for(adblock_policy("mode: notice", extra=CATEGORIES)) as site:
        await choose(site, "accept_all")
        _, token = await site.page("/", **{"X-Gatekeeper-Country": "DE"})
        await site.beacon({"token": token, "script": False, "cosmetic": False})
        assert "gk_adblock" in stored_cookies(site)
        await choose(site, "reject_all")  # its answer expires what was refused
        assert "gk_adblock" not in stored_cookies(site)
        _, token = await site.page("/", **{"X-Gatekeeper-Country": "DE"})
    assert token is None


async def test_where_no_consent_is_needed_detection_runs_until_refused(adblock_policy, site_for):
    async with site_for(adblock_policy("mode: notice", extra=CATEGORIES)) as site:
        _, token = await site.page("/", **{"X-Gatekeeper-Country": "JP"})  # notice mode
        assert token is not None
        await choose(site, "reject_all")
        _, token = await site.page("/", **{"X-Gatekeeper-Country": "JP"})
        assert token is None


@pytest.mark.parametrize("setting", ["none", "necessary"])
async def test_none_or_a_required_category_detects_before_any_choice(
    adblock_policy, site_for, setting
):
    policy = adblock_policy(f"mode: notice\nrequires_consent: {setting}", extra=CATEGORIES)
    async with site_for(policy) as site:
        _, token = await site.page("/", peer=PEER, **{"X-Gatekeeper-Country": "DE"})
    assert token is not None


def test_an_unknown_category_is_a_policy_error(adblock_policy):
    from gatekeeper.policy import PolicyError

    with pytest.raises(PolicyError, match="requires_consent: 'marketing' is not one of"):
        adblock_policy("mode: notice\nrequires_consent: marketing", extra=CATEGORIES)
