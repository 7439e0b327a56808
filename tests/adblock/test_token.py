"""View tokens and the gk_adblock cookie: signed, expiring, rotation-friendly."""

from __future__ import annotations

import base64

import pytest

from gatekeeper.adblock.cookie import AdblockCookie, AdblockState
from gatekeeper.adblock.token import TokenError, ViewTokens
from tests.adblock.conftest import Clock
from tests.conftest import SECRET

OTHER = "another-secret-0123456789abcdef012345"


def test_a_minted_token_names_its_view() -> None:
    tokens = ViewTokens([SECRET])
    view_id, token = tokens.mint("DE", "/articles")
    claim = tokens.check(token.decode())
    assert (claim.view_id, claim.country, claim.group) == (view_id, "DE", "/articles")
    assert len(token) < 80
    assert tokens.mint("DE", "/articles")[0] != view_id
    assert ViewTokens([SECRET]).mint("DE", "/")[0] != view_id  # another process
    assert tokens.check(tokens.mint("", "/")[1].decode()).country == ""


@pytest.mark.parametrize(
    ("token", "status"),
    [
        (None, 400),
        (42, 400),
        ("", 400),
        ("not a token", 400),
        ("a" * 300, 400),
        ("a.b.c", 400),
        ("<script>" * 8, 400),
        ("A" * 43, 403),
    ],
)
def test_bad_tokens_are_refused_with_a_reason(token: object, status: int) -> None:
    with pytest.raises(TokenError) as caught:
        ViewTokens([SECRET]).check(token)
    assert caught.value.status == status and caught.value.reason


def test_a_forged_token_is_refused() -> None:
    _, token = ViewTokens([OTHER]).mint("DE", "/")
    with pytest.raises(TokenError, match="signature"):
        ViewTokens([SECRET]).check(token.decode())
    # Changing what it says (the country, here) breaks the signature.
    _, mine = ViewTokens([SECRET]).mint("DE", "/")
    data = bytearray(base64.urlsafe_b64decode(mine + b"=" * (-len(mine) % 4)))
    data[14:16] = b"US"  # after the process id, counter and issue time
    bent = base64.urlsafe_b64encode(bytes(data)).rstrip(b"=").decode()
    with pytest.raises(TokenError, match="signature"):
        ViewTokens([SECRET]).check(bent)


def test_tokens_expire() -> None:
    clock = Clock()
    tokens = ViewTokens([SECRET], max_age=60, clock=clock)
    _, token = tokens.mint("", "/")
    clock.now += 61
    with pytest.raises(TokenError, match="expired") as caught:
        tokens.check(token.decode())
    assert caught.value.status == 403


def test_key_rotation_keeps_old_tokens_valid() -> None:
    view_id, token = ViewTokens([SECRET]).mint("", "/")
    # New key first, old kept.
    assert ViewTokens([OTHER, SECRET]).check(token.decode()).view_id == view_id
    _, fresh = ViewTokens([OTHER, SECRET]).mint("", "/")
    assert ViewTokens([OTHER]).check(fresh.decode())  # signed with the new (first) key


def test_proofs_and_receipts_are_bound_to_their_view_and_keys() -> None:
    tokens = ViewTokens([SECRET])
    view, other = tokens.mint("", "/")[0], tokens.mint("", "/")[0]
    proof = tokens.proof(view, b"script")
    assert tokens.check_proof(view, b"script", proof)
    assert not tokens.check_proof(other, b"script", proof)
    assert not tokens.check_proof(view, b"image", proof)
    assert not ViewTokens([OTHER]).check_proof(view, b"script", proof)
    assert ViewTokens([OTHER, SECRET]).check_proof(view, b"script", proof)
    for bad in (None, 5, "", "!!", "A" * 40):
        assert not tokens.check_proof(view, b"script", bad)
    receipt = tokens.receipt(view, b"a1")
    assert tokens.check_receipt(view, receipt) == b"a1"
    assert tokens.check_receipt(other, receipt) is None
    assert ViewTokens([OTHER]).check_receipt(view, receipt) is None
    for bad in (None, 5, "", "!!", "A" * 100, receipt[:-2] + "AA"):
        assert tokens.check_receipt(view, bad) is None


def test_the_cookie_round_trips_and_resists_tampering() -> None:
    cookie = AdblockCookie([SECRET])
    value = cookie.dumps(AdblockState("blocked", 1_795_000_000))
    assert cookie.loads(value) == AdblockState("blocked", 1_795_000_000)
    assert cookie.loads(value.replace("blocked", "allowed", 1)) is None
    assert cookie.loads(AdblockCookie([OTHER]).dumps(AdblockState("allowed"))) is None
    assert cookie.loads("garbage") is None
    cookies = {"a": "b", "gk_adblock": value}
    assert cookie.from_cookies(cookies) == AdblockState("blocked", 1_795_000_000)
    assert cookie.from_cookies({"a": "b"}) is None


def test_the_cookie_refuses_values_it_did_not_write() -> None:
    cookie = AdblockCookie([SECRET])
    signer = cookie._signer
    for raw in ("maybe:0", "blocked:", "blocked:x", "blocked:1234567890123", "blocked"):
        assert cookie.loads(signer.sign(raw)) is None


def test_the_cookie_expires() -> None:
    clock = Clock()
    cookie = AdblockCookie([SECRET], max_age=100, clock=clock)
    value = cookie.dumps(AdblockState("blocked"))
    clock.now += 101
    assert cookie.loads(value) is None


def test_set_cookie_is_necessary_and_http_only() -> None:
    name, header = AdblockCookie([SECRET]).set_cookie(AdblockState("allowed"), secure=True)
    assert name == b"set-cookie"
    assert header.startswith(b"gk_adblock=allowed:0.")
    for part in (b"Path=/", b"SameSite=Lax", b"HttpOnly", b"Secure", b"Max-Age=2592000"):
        assert part in header
    _, plain = AdblockCookie([SECRET]).set_cookie(AdblockState(), secure=False)
    assert b"Secure" not in plain


def test_a_forked_worker_mints_view_ids_of_its_own() -> None:
    # Servers that import the app before forking their workers (gunicorn --preload) share
    # one ViewTokens between processes: their views must not share ids.
    import os

    tokens = ViewTokens([SECRET])
    tokens.mint("", "/")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: one view id, then out
        os.write(write, tokens.mint("", "/")[0])
        os._exit(0)
    os.close(write)
    child = os.read(read, 64)
    os.waitpid(pid, 0)
    os.close(read)
    assert len(child) == 10
    assert child[:6] != tokens.mint("", "/")[0][:6]  # another process prefix
