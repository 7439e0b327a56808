"""View tokens and the gk_adblock cookie: signed, expiring, rotation-friendly."""

from __future__ import annotations

import pytest

from gatekeeper.adblock.cookie import AdblockCookie, AdblockState
from gatekeeper.adblock.token import TokenError, ViewTokens
from tests.adblock.conftest import Clock
from tests.conftest import SECRET

OTHER = "another-secret-0123456789abcdef012345"


def test_a_minted_token_names_its_view() -> None:
    tokens = ViewTokens([SECRET])
    view_id, token = tokens.mint()
    assert tokens.check(token) == view_id
    assert len(token) < 80 and token.count(".") == 2
    assert tokens.mint()[0] != view_id


@pytest.mark.parametrize(
    ("token", "status"),
    [
        (None, 400),
        (42, 400),
        ("", 400),
        ("not a token", 400),
        ("a" * 300, 400),
        ("a.b.c", 403),
        ("<script>.x.y", 400),
    ],
)
def test_bad_tokens_are_refused_with_a_reason(token: object, status: int) -> None:
    with pytest.raises(TokenError) as caught:
        ViewTokens([SECRET]).check(token)
    assert caught.value.status == status and caught.value.reason


def test_a_forged_token_is_refused() -> None:
    _, token = ViewTokens([OTHER]).mint()
    with pytest.raises(TokenError, match="signature"):
        ViewTokens([SECRET]).check(token)
    view_id, signature = token.split(".", 1)
    with pytest.raises(TokenError):
        ViewTokens([SECRET]).check("x" + view_id[1:] + "." + signature)


def test_tokens_expire() -> None:
    clock = Clock()
    tokens = ViewTokens([SECRET], max_age=60, clock=clock)
    _, token = tokens.mint()
    clock.now += 61
    with pytest.raises(TokenError, match="expired") as caught:
        tokens.check(token)
    assert caught.value.status == 403


def test_key_rotation_keeps_old_tokens_valid() -> None:
    view_id, token = ViewTokens([SECRET]).mint()
    assert ViewTokens([OTHER, SECRET]).check(token) == view_id  # new key first, old kept
    _, fresh = ViewTokens([OTHER, SECRET]).mint()
    assert ViewTokens([OTHER]).check(fresh)  # signed with the new (first) key


def test_the_cookie_round_trips_and_resists_tampering() -> None:
    cookie = AdblockCookie([SECRET])
    value = cookie.dumps(AdblockState("blocked", 1_795_000_000))
    assert cookie.loads(value) == AdblockState("blocked", 1_795_000_000)
    assert cookie.loads(value.replace("blocked", "allowed", 1)) is None
    assert cookie.loads(AdblockCookie([OTHER]).dumps(AdblockState("allowed"))) is None
    assert cookie.loads("garbage") is None
    header = f"a=b; gk_adblock={value}; c=d"
    assert cookie.from_header(header) == AdblockState("blocked", 1_795_000_000)
    assert cookie.from_header("a=b") is None


def test_the_cookie_refuses_values_it_did_not_write() -> None:
    cookie = AdblockCookie([SECRET])
    signer = cookie._signer
    for raw in ("maybe:0", "blocked:", "blocked:x", "blocked:1234567890123", "blocked"):
        assert cookie.loads(signer.sign(raw).decode()) is None


def test_the_cookie_expires() -> None:
    clock = Clock()
    cookie = AdblockCookie([SECRET], max_age=100, clock=clock)
    value = cookie.dumps(AdblockState("blocked"))
    clock.now += 101
    assert cookie.loads(value) is None


def test_set_cookie_is_necessary_and_http_only() -> None:
    header = AdblockCookie([SECRET]).set_cookie(AdblockState("allowed"), secure=True)
    assert header.startswith("gk_adblock=allowed:0.")
    for part in ("Path=/", "SameSite=Lax", "HttpOnly", "Secure", "Max-Age=2592000"):
        assert part in header
    assert "Secure" not in AdblockCookie([SECRET]).set_cookie(AdblockState(), secure=False)
