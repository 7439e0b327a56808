"""The feature in a page: baits and notice per view, the notice's states, the endpoints."""

from __future__ import annotations

import re

from gatekeeper.adblock import AdblockFeature
from gatekeeper.adblock.baits import PIXEL, SCRIPT_BODY
from gatekeeper.adblock.cookie import AdblockCookie, AdblockState
from gatekeeper.adblock.stats import VerdictCounts
from gatekeeper.html.render import Renderer
from gatekeeper.visitor import Visitor
from tests.adblock.conftest import Clock
from tests.conftest import SECRET


def notice_tag(html: str) -> str:
    return re.search(r'<div data-gk-notice="adblock"[^>]*>', html).group(0)


def cookie_for(state: AdblockState) -> dict[str, str]:
    # Signed on the sites' clock: itsdangerous refuses a signature from the future.
    return {"cookie": f"gk_adblock={AdblockCookie([SECRET], clock=Clock()).dumps(state)}"}


async def test_every_page_view_gets_baits_and_a_hidden_notice(adblock_policy, site_for) -> None:
    async with site_for(adblock_policy()) as site:
        response, token = await site.page("/articles/one")
        html = response.text
        assert token is not None
        tag = notice_tag(html)
        assert " hidden" in tag and 'role="dialog"' in tag and 'aria-modal="false"' in tag
        assert f'data-script="/_gatekeeper/prebid/gpt.js?t={token}"' in tag
        assert 'data-beacon="/_gatekeeper/beacon"' in tag
        assert (
            '<div class="ad-slot ad-unit ad-banner-container gk-bait" data-gk-bait '
            'aria-hidden="true">&nbsp;</div>'
        ) in html
        assert (
            f'<img class="gk-bait" src="/_gatekeeper/adbanners/banner-728x90.gif?t={token}"' in html
        )
        assert "gatekeeper." in html and ".js" in html  # the client check
        assert "__gk_" not in html  # every slot filled
        _, second = await site.page("/articles/one")
        assert second != token
        assert len(site.feature.detector.table) == 2


async def test_no_detection_where_the_policy_says_so(adblock_policy, site_for) -> None:
    policy = adblock_policy("mode: notice\npaths: [/articles/*, /]\nexempt_paths: [/articles/free]")
    async with site_for(policy) as site:
        assert (await site.page("/articles/x"))[1] is not None
        assert (await site.page("/"))[1] is not None
        assert (await site.page("/articles/free"))[1] is None
        assert (await site.page("/about"))[1] is None
        assert (await site.page("/missing"))[1] is None  # a 404 is no page view
        api = await site.client.get("/api/x")
        assert "data-gk" not in api.text
        bot = await site.page(
            "/", **{"user-agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"}
        )
        assert bot[1] is None
        assert len(site.feature.detector.table) == 2


async def test_mode_off_adds_nothing_and_serves_nothing(adblock_policy, site_for) -> None:
    async with site_for(adblock_policy("mode: off")) as site:
        response, token = await site.page("/")
        assert token is None and "data-gk" not in response.text
        assert (await site.client.post("/_gatekeeper/beacon", json={})).status_code == 404
        assert (await site.client.get("/_gatekeeper/prebid/gpt.js")).status_code == 404
        assert site.feature.routes() == {}


async def test_bait_resources_are_served_and_recorded(adblock_policy, site_for) -> None:
    async with site_for(adblock_policy()) as site:
        _, token = await site.page("/")
        script = await site.bait("script", token)
        assert script.status_code == 200
        assert script.headers["content-type"] == "text/javascript; charset=utf-8"
        assert script.headers["cache-control"] == "no-store"
        assert script.content == SCRIPT_BODY
        image = await site.bait("image", token)
        assert image.status_code == 200 and image.content == PIXEL
        assert image.headers["content-type"] == "image/gif"
        view = site.feature.detector.table.get(site.feature.detector.tokens.check(token))
        assert view is not None and view.evidence.image and view.evidence.script
        # Without a token (someone fetching the file) the bait is still served.
        bare = await site.client.get("/_gatekeeper/prebid/gpt.js")
        assert bare.status_code == 200


async def test_a_visitor_known_to_block_sees_the_notice_at_once(adblock_policy, site_for) -> None:
    async with site_for(adblock_policy()) as site:
        response, _ = await site.page("/", **cookie_for(AdblockState("blocked")))
        assert " hidden" not in notice_tag(response.text)
        response, _ = await site.page("/", **cookie_for(AdblockState("allowed")))
        assert " hidden" in notice_tag(response.text)


async def test_dismissal_keeps_the_notice_away_for_frequency_hours(
    adblock_policy, site_for
) -> None:
    clock = Clock()
    async with site_for(adblock_policy("mode: notice\nfrequency_hours: 2"), clock=clock) as site:
        dismissed = AdblockState("blocked", int(clock.now))
        tag = notice_tag((await site.page("/", **cookie_for(dismissed)))[0].text)
        assert " hidden" in tag and "data-gk-quiet" in tag  # still checked, not shown
        clock.now += 2 * 3600 + 1
        tag = notice_tag((await site.page("/", **cookie_for(dismissed)))[0].text)
        assert " hidden" not in tag and "data-gk-quiet" not in tag


async def test_the_dismiss_endpoint_sets_the_cookie(adblock_policy, site_for) -> None:
    clock = Clock()
    async with site_for(adblock_policy(), clock=clock) as site:
        form = await site.client.post(
            "/_gatekeeper/adblock/dismiss",
            data={"next": "/articles/one?page=2"},
            headers=cookie_for(AdblockState("blocked")),
        )
        assert form.status_code == 303
        assert form.headers["location"] == "/articles/one?page=2"
        assert f"gk_adblock=blocked:{int(clock.now)}." in form.headers["set-cookie"]
        site.client.cookies.clear()
        offsite = await site.client.post(
            "/_gatekeeper/adblock/dismiss", data={"next": "//evil.example"}
        )
        assert offsite.headers["location"] == "/"
        assert "gk_adblock=unknown:" in offsite.headers["set-cookie"]
        as_json = await site.client.post(
            "/_gatekeeper/adblock/dismiss",
            json={"next": "/"},
            headers={"accept": "application/json"},
        )
        assert as_json.status_code == 200 and as_json.json() == {"dismissed": True}
        bad = await site.client.post(
            "/_gatekeeper/adblock/dismiss",
            content=b"{oops",
            headers={"content-type": "application/json"},
        )
        assert bad.status_code == 400


async def test_the_wall(adblock_policy, site_for) -> None:
    async with site_for(adblock_policy("mode: wall")) as site:
        response, _ = await site.page("/")
        tag = notice_tag(response.text)
        # Not aria-modal: the consent banner beside it must stay reachable (the page
        # behind a wall is hidden and inert instead).
        assert 'class="gk-wall"' in tag and 'aria-modal="false"' in tag and " hidden" in tag
        assert "adblock/dismiss" not in response.text  # a wall cannot be dismissed
        assert "data-gk-recheck" in response.text
        assert "/adblock/dismiss" not in site.feature.routes()
        shown = notice_tag((await site.page("/", **cookie_for(AdblockState("blocked", 1))))[0].text)
        assert " hidden" not in shown and "data-gk-quiet" not in shown


async def test_the_notice_speaks_the_visitors_language(adblock_policy, site_for) -> None:
    section = (
        "mode: notice\n"
        "notice: {title: {en: Ad blocker on, de: Werbeblocker aktiv}, "
        "text: {en: Please allow ads., de: Bitte Werbung erlauben.}}"
    )
    async with site_for(adblock_policy(section)) as site:
        german = (await site.page("/", **{"accept-language": "de-DE,de;q=0.9"}))[0].text
        assert "Werbeblocker aktiv" in german and "Bitte Werbung erlauben." in german
        english = (await site.page("/", **{"accept-language": "en"}))[0].text
        assert "Ad blocker on" in english


async def test_identify_tells_the_app_the_last_verdict(adblock_policy) -> None:
    policy = adblock_policy()
    feature = AdblockFeature(
        policy, Renderer(default_language="en"), policy.prefix, counts=VerdictCounts(None)
    )

    def visitor(headers: dict[str, str]) -> Visitor:
        return Visitor(None, None, None, "en", False, False, False, False, headers=headers)

    for state, expected in (
        (AdblockState("blocked"), "blocked"),
        (AdblockState("allowed"), "allowed"),
    ):
        found = visitor(cookie_for(state))
        feature.identify(found)
        assert found.adblock == expected
    nobody = visitor({})
    feature.identify(nobody)
    assert nobody.adblock == "unknown"
    forged = visitor({"cookie": "gk_adblock=blocked:0.abc.def"})
    feature.identify(forged)
    assert forged.adblock == "unknown"


async def test_the_stage_sets_visitor_adblock_for_the_app(adblock_policy) -> None:
    from tests.adblock.stack import adblock_stack

    seen: list[str | None] = []

    async def app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        from gatekeeper import visitor

        seen.append(visitor(scope).adblock)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    import httpx

    entry, _ = adblock_stack(app, adblock_policy(), counts=VerdictCounts(None))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=entry), base_url="http://x"
    ) as client:
        await client.get("/", headers=cookie_for(AdblockState("blocked")))
        await client.get("/")
    assert seen == ["blocked", "unknown"]


async def test_a_reload_with_the_same_keys_keeps_open_views(adblock_policy) -> None:
    policy = adblock_policy()
    renderer = Renderer(default_language="en")
    old = AdblockFeature(policy, renderer, policy.prefix, counts=VerdictCounts(None))
    token = old.detector.open("/", None)
    new = AdblockFeature(policy, renderer, policy.prefix, previous=old)
    assert new.detector is old.detector
    assert new.detector.table.get(new.detector.tokens.check(token)) is not None


async def test_a_reload_with_other_keys_counts_the_open_views(adblock_policy, policy_file) -> None:
    from gatekeeper.policy import load_policy

    policy = adblock_policy()
    renderer = Renderer(default_language="en")
    old = AdblockFeature(policy, renderer, policy.prefix, counts=VerdictCounts(None))
    old.detector.open("/", "DE")
    rotated = policy.model_copy(update={"secret_keys": ("n" * 40, *policy.secret_keys)})
    new = AdblockFeature(rotated, renderer, policy.prefix, previous=old)
    assert new.detector is not old.detector
    assert len(old.detector.table) == 0
    assert sum(old.detector.counts.pending.values()) == 1  # counted as unknown
    off = AdblockFeature(
        load_policy(policy_file("adblock: {mode: off}", name="off.yaml")),
        renderer,
        policy.prefix,
        previous=new,
    )
    back_on = AdblockFeature(policy, renderer, policy.prefix, previous=off)
    assert back_on.detector is not off.detector
    assert back_on.detector.counts.store is not None  # not the store-less counts of "off"


def test_bad_bait_settings_stop_the_feature(adblock_policy) -> None:
    import pytest

    from gatekeeper.policy.schema import Baits

    policy = adblock_policy()
    renderer = Renderer(default_language="en")
    # Built without validation: the feature checks what it serves whatever the schema let in.
    for baits, message in (
        (
            Baits.model_construct(script="/static/x.js", image="/i.gif", cosmetic_class="ad"),
            "taken",
        ),
        (Baits.model_construct(script="/s.js", image="/s.js", cosmetic_class="ad"), "different"),
        (Baits.model_construct(script="/s.js", image="/i.gif", cosmetic_class='a" x="'), "class"),
    ):
        adblock = policy.adblock.model_copy(update={"baits": baits})
        broken = policy.model_copy(update={"adblock": adblock})
        with pytest.raises(ValueError, match=message):
            AdblockFeature(broken, renderer, policy.prefix, counts=VerdictCounts(None))
