"""POST {prefix}/beacon: verdicts for good reports, a 4xx with a reason for anything else."""

from __future__ import annotations

import json
import random
import time
from typing import Any

import pytest

from gatekeeper.adblock.token import ViewTokens
from tests.conftest import SECRET


async def test_a_report_gets_the_verdict_and_the_cookie(adblock_policy, site_for) -> None:
    async with site_for(adblock_policy()) as site:
        _, token = await site.page("/")
        await site.bait("image", token)
        proof = await site.proof(token)
        response = await site.beacon(
            {"token": token, "script": True, "cosmetic": True, "proof": proof}
        )
        assert response.status_code == 200
        assert response.json()["verdict"] == "allowed"
        assert isinstance(response.json()["receipt"], str)
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["set-cookie"].startswith("gk_adblock=allowed:0.")


async def test_a_blocked_report(adblock_policy, site_for) -> None:
    async with site_for(adblock_policy()) as site:
        _, token = await site.page("/")
        response = await site.beacon({"token": token, "script": False, "cosmetic": False})
        assert response.json()["verdict"] == "blocked"
        assert "gk_adblock=blocked:0." in response.headers["set-cookie"]


async def test_send_beacon_text_plain_bodies_are_accepted(adblock_policy, site_for) -> None:
    async with site_for(adblock_policy()) as site:
        _, token = await site.page("/")
        body = json.dumps({"token": token, "script": False, "cosmetic": True}).encode()
        for kind in ("text/plain;charset=UTF-8", "application/json; charset=utf-8", None):
            headers = {"content-type": kind} if kind else {}
            response = await site.beacon(content=body, headers=headers)
            assert response.status_code == 200, (kind, response.text)
            assert response.json()["verdict"] == "blocked"


async def test_an_unknown_verdict_leaves_the_cookie_alone(adblock_policy, site_for) -> None:
    async with site_for(adblock_policy()) as site:
        _, token = await site.page("/")
        response = await site.beacon({"token": token, "script": None, "cosmetic": True})
        assert response.json()["verdict"] == "unknown"
        assert "set-cookie" not in response.headers


async def test_the_cookie_keeps_an_earlier_dismissal(adblock_policy, site_for) -> None:
    async with site_for(adblock_policy()) as site:
        dismissed = await site.client().post("/_gatekeeper/adblock/dismiss", data={"next": "/"})
        when = dismissed.headers["set-cookie"].split(":")[1].split(".")[0]
        _, token = await site.page("/")
        response = await site.beacon({"token": token, "script": False, "cosmetic": True})
        assert f"gk_adblock=blocked:{when}." in response.headers["set-cookie"]


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({"script": True, "cosmetic": True}, 400, "missing field 'token'"),
        ({"token": "t", "cosmetic": True}, 400, "missing field 'script'"),
        ({"token": "t", "script": True}, 400, "missing field 'cosmetic'"),
        ({"token": "t", "script": 1, "cosmetic": True}, 400, "'script' must be"),
        ({"token": "t", "script": "yes", "cosmetic": True}, 400, "'script' must be"),
        ({"token": "t", "script": True, "cosmetic": None}, 400, "'cosmetic' must be"),
        ({"token": "t", "script": True, "cosmetic": 0}, 400, "'cosmetic' must be"),
        ({"token": "t", "script": True, "cosmetic": True, "x": 1}, 400, "unknown field 'x'"),
        ({"token": 5, "script": True, "cosmetic": True}, 400, "token must be"),
        ({"token": ["a"], "script": True, "cosmetic": True}, 400, "token must be"),
        ({"token": "A" * 43, "script": True, "cosmetic": True}, 403, "signature"),
        ({"token": "a.b.c", "script": True, "cosmetic": True}, 400, "malformed"),
        ({"token": "no dots", "script": True, "cosmetic": True}, 400, "malformed"),
        ([1, 2], 400, "must be a JSON object"),
        ("token", 400, "must be a JSON object"),
        (None, 400, "must be a JSON object"),  # sent as `null`
    ],
)
async def test_malformed_reports_get_the_reason(
    adblock_policy, site_for, body: Any, status: int, reason: str
) -> None:
    async with site_for(adblock_policy()) as site:
        response = await site.beacon(content=json.dumps(body).encode())
        assert response.status_code == status
        assert reason in response.json()["error"]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "not valid JSON"),
        (b"{", "not valid JSON"),
        (b'{"token": NaN}', "not valid JSON"),
        (b'{"token": Infinity}', "not valid JSON"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b"[" * 1000 + b"]" * 0, "not valid JSON"),
        (b"[" * 1000, "not valid JSON"),
    ],
)
async def test_garbage_bodies(adblock_policy, site_for, content: bytes, reason: str) -> None:
    async with site_for(adblock_policy()) as site:
        response = await site.beacon(content=content, headers={"content-type": "text/plain"})
        assert response.status_code == 400
        assert reason in response.json()["error"]


async def test_deep_nesting_within_the_cap_is_a_400(adblock_policy, site_for) -> None:
    async with site_for(adblock_policy()) as site:
        deep = b'{"a":' * 200 + b"1" + b"}" * 200
        response = await site.beacon(content=deep[:1024], headers={"content-type": "text/plain"})
        assert response.status_code == 400


async def test_other_content_types_are_refused(adblock_policy, site_for) -> None:
    async with site_for(adblock_policy()) as site:
        response = await site.beacon(
            content=b"token=x", headers={"content-type": "multipart/form-data"}
        )
        assert response.status_code == 415


async def test_the_body_is_capped(adblock_policy, site_for) -> None:
    async with site_for(adblock_policy()) as site:
        body = json.dumps({"token": "x" * 2000, "script": True, "cosmetic": True}).encode()
        response = await site.beacon(content=body, headers={"content-type": "application/json"})
        assert response.status_code == 413


async def test_expired_tokens_are_refused(adblock_policy, site_for) -> None:
    # A view rendered seven hours ago (by any process holding the key).
    _, token = ViewTokens([SECRET], clock=lambda: time.time() - 7 * 3600).mint("", "/")
    async with site_for(adblock_policy()) as site:
        response = await site.beacon({"token": token.decode(), "script": True, "cosmetic": True})
        assert response.status_code == 403
        assert response.json() == {"error": "token expired"}


async def test_only_post(adblock_policy, site_for) -> None:
    async with site_for(adblock_policy()) as site:
        response = await site.client().get("/_gatekeeper/beacon")
        assert response.status_code == 405


async def test_cross_site_reports_are_refused(adblock_policy, site_for) -> None:
    async with site_for(adblock_policy()) as site:
        _, token = await site.page("/")
        response = await site.beacon(
            {"token": token, "script": True, "cosmetic": True},
            headers={"sec-fetch-site": "cross-site"},
        )
        assert response.status_code == 403


async def test_reports_are_rate_limited_per_client(adblock_policy, site_for) -> None:
    async with site_for(adblock_policy()) as site:
        _, token = await site.page("/")
        body = {"token": token, "script": True, "cosmetic": True}
        statuses = [(await site.beacon(body)).status_code for _ in range(12)]
        assert statuses == [200] * 10 + [429] * 2  # a burst of ten
        refused = await site.beacon(body)
        assert refused.headers["retry-after"] == "2"
        assert "too many" in refused.json()["error"]
        # Another address has its own allowance.
        assert (await site.beacon(body, peer="198.51.100.20")).status_code == 200


def _odd_json(rng: random.Random, depth: int = 0) -> Any:
    choices: list[Any] = [
        None, True, False, 0, -1, 1.5, 1e308, "", "token", "\u0000", "\ud7ff", "a.b.c",
        rng.random(), rng.randint(-(10**20), 10**20),
    ]  # fmt: skip
    if depth < 4:
        choices += [
            [_odd_json(rng, depth + 1) for _ in range(rng.randint(0, 3))],
            {
                rng.choice(["token", "script", "cosmetic", "x", ""]): _odd_json(rng, depth + 1)
                for _ in range(rng.randint(0, 4))
            },
        ]
    return rng.choice(choices)


async def test_fuzz_random_bytes_and_odd_json_is_always_a_4xx(adblock_policy, site_for) -> None:
    rng = random.Random(20261127)
    async with site_for(adblock_policy()) as site:
        _, token = await site.page("/")
        bodies: list[bytes] = []
        for _ in range(300):
            bodies.append(rng.randbytes(rng.randint(0, 1500)))
        for _ in range(300):
            bodies.append(json.dumps(_odd_json(rng)).encode())
        for _ in range(200):
            # Nearly right: a real token with odd values, or a real shape with a bent token.
            report = {"token": token, "script": _odd_json(rng, 3), "cosmetic": _odd_json(rng, 3)}
            if rng.random() < 0.3:
                report["token"] = token[: rng.randint(0, len(token))] + rng.choice(["", "A", "."])
            bodies.append(json.dumps(report).encode())
        kinds = ["application/json", "text/plain", "text/plain;charset=UTF-8", None, "image/png"]
        seen: set[int] = set()
        for n, body in enumerate(bodies):
            kind = rng.choice(kinds)
            headers = {"content-type": kind} if kind else {}
            # A new address every few reports keeps the rate limit out of the way.
            peer = f"198.51.{n // 5 // 250}.{n // 5 % 250}"
            response = await site.beacon(content=body, headers=headers, peer=peer)
            seen.add(response.status_code)
            if response.status_code == 200:
                assert response.json()["verdict"] in ("blocked", "allowed", "unknown")
                continue
            assert 400 <= response.status_code < 500, (body[:80], response.status_code)
            assert response.json()["error"]
        assert seen - {200} <= {400, 403, 413, 415}
        assert {400, 413, 415} <= seen


async def test_fuzz_the_bait_and_dismiss_endpoints(adblock_policy, site_for) -> None:
    rng = random.Random(1127)
    alphabet = "abcxyzT=&%.;/?#+ -_~0123456789\u00e9\u2603"
    async with site_for(adblock_policy()) as site:
        _, token = await site.page("/")
        for _ in range(150):
            query = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
            for path in ("/_gatekeeper/prebid/gpt.js", "/_gatekeeper/adbanners/banner-728x90.gif"):
                response = await site.client().get(f"{path}?t={token}&{query}")
                assert response.status_code == 200
        for n in range(150):
            body = rng.randbytes(rng.randint(0, 300))
            kind = rng.choice(
                ["application/json", "application/x-www-form-urlencoded", "text/plain"]
            )
            response = await site.client(f"198.51.100.{n // 10}").post(
                "/_gatekeeper/adblock/dismiss", content=body, headers={"content-type": kind}
            )
            assert response.status_code in (200, 303, 400), (body[:40], response.status_code)
