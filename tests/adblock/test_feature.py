"""The feature in a page: baits and notice per view, the notice's states, the endpoints."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from gatekeeper import Gatekeeper, visitor
from gatekeeper.adblock.baits import PIXEL, SCRIPT_BODY
from gatekeeper.adblock.cookie import AdblockCookie, AdblockState
from gatekeeper.adblock.stats import day_of
from tests.conftest import SECRET

TODAY = day_of(time.time())


def notice_tag(html: str) -> str:
    return re.search(r'<div data-gk-notice="adblock"[^>]*>', html).group(0)


def cookie_for(state: AdblockState) -> dict[str, str]:
    return {"cookie": f"gk_adblock={AdblockCookie([SECRET]).dumps(state)}"}


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
        # Each view is counted where it was rendered: opened, by day, country, path group.
        assert await site.stored() == {(TODAY, "", "/articles", "opened"): 2}


async def test_the_token_says_where_the_view_is_counted(adblock_policy, site_for) -> None:
    async with site_for(adblock_policy(extra="debug: true\n")) as site:
        _, token = await site.page("/video/clip?gk_country=DE")
        claim = site.feature.detector.tokens.check(token)
        assert (claim.country, claim.group) == ("DE", "/video")
        assert abs(claim.issued - time.time()) < 3600


async def test_no_detection_where_the_policy_says_so(adblock_policy, site_for) -> None:
    policy = adblock_policy("mode: notice\npaths: [/articles/*, /]\nexempt_paths: [/articles/free]")
    async with site_for(policy) as site:
        assert (await site.page("/articles/x"))[1] is not None
        assert (await site.page("/"))[1] is not None
        assert (await site.page("/articles/free"))[1] is None
        assert (await site.page("/about"))[1] is None
        assert (await site.page("/missing"))[1] is None  # a 404 is no page view
        api = await site.client().get("/api/x")
        assert "data-gk" not in api.text
        bot = await site.page(
            "/", **{"user-agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"}
        )
        assert bot[1] is None
        assert sum((await site.stored()).values()) == 2  # only the two real views


async def test_mode_off_adds_nothing_and_serves_nothing(adblock_policy, site_for) -> None:
    async with site_for(adblock_policy("mode: off")) as site:
        response, token = await site.page("/")
        assert token is None and 'data-gk-notice="adblock"' not in response.text
        assert "data-gk-bait" not in response.text
        assert (await site.client().post("/_gatekeeper/beacon", json={})).status_code == 404
        assert (await site.client().get("/_gatekeeper/prebid/gpt.js")).status_code == 404
        assert site.feature.routes() == {}
        assert await site.feature.rates() is None


async def test_bait_resources_are_served_and_counted(adblock_policy, site_for) -> None:
    async with site_for(adblock_policy()) as site:
        _, token = await site.page("/")
        script = await site.bait("script", token)
        assert script.status_code == 200
        assert script.headers["content-type"] == "text/javascript; charset=utf-8"
        assert script.headers["cache-control"] == "no-store"
        proof = site.feature.detector.tokens.proof(
            site.feature.detector.tokens.check(token).view_id, b"script"
        )
        assert script.content == SCRIPT_BODY % proof.encode()
        image = await site.bait("image", token)
        assert image.status_code == 200 and image.content == PIXEL
        assert image.headers["content-type"] == "image/gif"
        # Without a token (someone fetching the file) the baits are still served, with no
        # proof and no count.
        bare = await site.bait("script", None)
        assert bare.status_code == 200 and bare.content == SCRIPT_BODY % b""
        assert (await site.bait("image", "forged")).status_code == 200
        assert await site.stored() == {(TODAY, "", "/", "opened"): 1, (TODAY, "", "/", "image"): 1}


async def test_a_visitor_known_to_block_sees_the_notice_at_once(adblock_policy, site_for) -> None:
    async with site_for(adblock_policy()) as site:
        response, _ = await site.page("/", **cookie_for(AdblockState("blocked")))
        assert " hidden" not in notice_tag(response.text)
        response, _ = await site.page("/", **cookie_for(AdblockState("allowed")))
        assert " hidden" in notice_tag(response.text)


async def test_dismissal_keeps_the_notice_away_for_frequency_hours(
    adblock_policy, site_for
) -> None:
    async with site_for(adblock_policy("mode: notice\nfrequency_hours: 2")) as site:
        recent = AdblockState("blocked", int(time.time()) - 60)
        tag = notice_tag((await site.page("/", **cookie_for(recent)))[0].text)
        assert " hidden" in tag and "data-gk-quiet" in tag  # still checked, not shown
        old = AdblockState("blocked", int(time.time()) - 2 * 3600 - 60)
        tag = notice_tag((await site.page("/", **cookie_for(old)))[0].text)
        assert " hidden" not in tag and "data-gk-quiet" not in tag


async def test_the_dismiss_endpoint_sets_the_cookie(adblock_policy, site_for) -> None:
    async with site_for(adblock_policy()) as site:
        client = site.client()
        before = int(time.time())
        form = await client.post(
            "/_gatekeeper/adblock/dismiss",
            data={"next": "/articles/one?page=2"},
            headers=cookie_for(AdblockState("blocked")),
        )
        assert form.status_code == 303
        assert form.headers["location"] == "/articles/one?page=2"
        value = form.headers["set-cookie"].split(";")[0].removeprefix("gk_adblock=")
        state = AdblockCookie([SECRET]).loads(value)
        assert state is not None and state.verdict == "blocked"
        assert before <= state.dismissed_at <= time.time()
        client.cookies.clear()
        offsite = await client.post("/_gatekeeper/adblock/dismiss", data={"next": "//evil.example"})
        assert offsite.headers["location"] == "/"
        assert "gk_adblock=unknown:" in offsite.headers["set-cookie"]
        as_json = await client.post(
            "/_gatekeeper/adblock/dismiss",
            json={"next": "/"},
            headers={"accept": "application/json"},
        )
        assert as_json.status_code == 200 and as_json.json() == {"dismissed": True}
        bad = await client.post(
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
        dismiss = await site.client().post("/_gatekeeper/adblock/dismiss", data={"next": "/"})
        assert dismiss.status_code == 404
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


async def test_the_app_sees_the_last_verdict(adblock_policy) -> None:
    seen: list[str | None] = []

    async def app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        seen.append(visitor(scope).adblock)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    gatekeeper = Gatekeeper(app, policy=adblock_policy())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=gatekeeper), base_url="http://x"
    ) as client:
        await client.get("/", headers=cookie_for(AdblockState("blocked")))
        await client.get("/", headers=cookie_for(AdblockState("allowed")))
        await client.get("/", headers={"cookie": "gk_adblock=blocked:0.abc.def"})  # forged
        await client.get("/")
    await gatekeeper.close()
    assert seen == ["blocked", "allowed", "unknown", "unknown"]


async def test_any_instance_judges_a_view_another_rendered(adblock_policy, site_for) -> None:
    # Stateless: a view's token (and the proof its script bait hands out) is all a
    # beacon needs, whichever instance rendered the page, as long as the keys verify it.
    policy = adblock_policy()
    rotated = policy.model_copy(update={"secret_keys": ("n" * 40, *policy.secret_keys)})
    async with site_for(policy) as one, site_for(policy) as two, site_for(rotated) as three:
        _, token = await one.page("/articles/a")
        await two.bait("image", token)
        proof = await two.proof(token)
        answer = await one.beacon(
            {"token": token, "script": True, "cosmetic": True, "image": True, "proof": proof}
        )
        assert answer.json()["verdict"] == "allowed"
        # An instance with a new key first (rotation) still verifies the old views...
        _, old = await one.page("/articles/b")
        answer = await three.beacon({"token": old, "script": False, "cosmetic": False})
        assert answer.json()["verdict"] == "blocked"
        # ...while one that does not know the new key yet refuses the new ones: every
        # process needs the new key among its keys before any signs with it.
        _, new = await three.page("/articles/c")
        answer = await one.beacon({"token": new, "script": True, "cosmetic": True})
        assert answer.status_code == 403
        await two.flush()
        await three.flush()
        assert await one.verdicts() == {"blocked": 1, "allowed": 1, "no_js": 0, "unknown": 1}


def test_bad_bait_settings_stop_the_feature(adblock_policy) -> None:
    from gatekeeper.adblock import AdblockFeature
    from gatekeeper.policy.sections.adblock import BaitSettings

    policy = adblock_policy()
    # Built without validation: the feature checks what it serves whatever the schema let in.
    for baits, message in (
        (
            BaitSettings.model_construct(
                script="/static/x.js", image="/i.gif", cosmetic_class="ad"
            ),
            "taken",
        ),
        (
            BaitSettings.model_construct(script="/s.js", image="/s.js", cosmetic_class="ad"),
            "different",
        ),
        (
            BaitSettings.model_construct(script="/s.js", image="/i.gif", cosmetic_class='a" x="'),
            "class",
        ),
    ):
        adblock = policy.adblock.model_copy(update={"baits": baits})
        broken = policy.model_copy(update={"adblock": adblock})
        with pytest.raises(ValueError, match=message):
            AdblockFeature(broken)
