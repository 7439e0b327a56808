"""The signed consent cookie and what a consent allows."""

from __future__ import annotations

import pytest

from gatekeeper.consent.modes import Jurisdictions
from gatekeeper.consent.state import Consent, ConsentCookie, ConsentState
from gatekeeper.policy import parse_policy
from gatekeeper.policy.sections.consent import ModeSettings
from gatekeeper.visitor import Visitor

KEY_A = "a" * 40
KEY_B = "b" * 40


def policy(keys=(KEY_A,), revision="r1", max_age_days=180):
    text = f"""
site: {{name: T, revision: "{revision}"}}
secret_keys: [{", ".join(f'"{k}"' for k in keys)}]
consent:
  max_age_days: {max_age_days}
  categories:
    necessary: {{required: true, label: N}}
    analytics: {{label: A}}
    ads: {{label: Ads, sale_or_sharing: true}}
"""
    return parse_policy(text, env={})


STATE = ConsentState("cid123", "r1", {"analytics": True, "ads": False}, 1_700_000_000, "opt_in")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_round_trip():
    cookie = ConsentCookie(policy())
    assert cookie.loads(cookie.dumps(STATE)) == STATE


def test_forged_or_garbage_is_no_decision():
    cookie = ConsentCookie(policy())
    value = cookie.dumps(STATE)
    payload, _, signature = value.rpartition(".")
    assert cookie.loads(payload + "." + signature[::-1]) is None
    assert cookie.loads(payload.replace("a", "b") + "." + signature) is None
    assert cookie.loads("") is None
    assert cookie.loads("not-a-cookie") is None
    other = ConsentCookie(policy(keys=(KEY_B,)))
    assert other.loads(value) is None


def test_key_rotation_first_signs_all_verify():
    old = ConsentCookie(policy(keys=(KEY_A,)))
    rotated = ConsentCookie(policy(keys=(KEY_B, KEY_A)))
    assert rotated.loads(old.dumps(STATE)) == STATE
    new_value = rotated.dumps(STATE)
    assert ConsentCookie(policy(keys=(KEY_B,))).loads(new_value) == STATE
    assert old.loads(new_value) is None  # signed with the new key only


def test_old_revision_is_no_decision():
    value = ConsentCookie(policy(revision="r1")).dumps(STATE)
    assert ConsentCookie(policy(revision="r2")).loads(value) is None


def test_expiry_is_checked_even_when_cached():
    clock = Clock(0)
    cookie = ConsentCookie(policy(max_age_days=1), clock=clock)
    clock.now = __import__("time").time()
    value = cookie.dumps(STATE)
    assert cookie.loads(value) == STATE
    clock.now += 86400 + 1
    assert cookie.loads(value) is None  # from the cache, still judged by age


def test_choices_for_unknown_categories_are_rejected():
    cookie = ConsentCookie(policy())
    odd = ConsentState("c", "r1", {"marketing": True}, 1, "opt_in")
    assert cookie.loads(cookie.dumps(odd)) is None


def consent(mode, state=None, gpc=False):
    return Consent(
        mode=mode,
        state=state,
        required=frozenset({"necessary"}),
        sale_or_sharing=frozenset({"ads"}),
        gpc=gpc,
        known=frozenset({"necessary", "analytics", "ads"}),
    )


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("opt_in", False), ("opt_out", True), ("notice", True)],
)
def test_undecided_visitor_by_mode(mode, expected):
    c = consent(mode)
    assert c.allows("necessary") is True
    assert c.allows("analytics") is expected
    assert c.allows("unknown-category") is False


def test_decision_wins_over_mode():
    c = consent("opt_out", STATE)
    assert c.allows("analytics") is True and c.allows("ads") is False


def test_gpc_refuses_sale_or_sharing_until_an_explicit_choice():
    assert consent("opt_out", gpc=True).allows("ads") is False
    assert consent("opt_out", gpc=True).allows("analytics") is True
    chose = ConsentState("c", "r1", {"analytics": True, "ads": True}, 1, "opt_out")
    assert consent("opt_out", chose, gpc=True).allows("ads") is True
    only_gpc = ConsentState("c", "r1", {}, 1, "opt_out", gpc_recorded=True, decided=False)
    assert consent("opt_out", only_gpc, gpc=True).allows("ads") is False


def visitor(country=None, subdivision=None):
    return Visitor(
        ip=None,
        country=country,
        subdivision=subdivision,
        language="en",
        gpc=False,
        dnt=False,
        bot=False,
        located=country is not None,
    ).places


def test_jurisdictions_most_specific_place_wins():
    modes = ModeSettings(
        opt_in=("EEA", "GB"),
        opt_out=("US-CA",),
        notice=("US",),
        default="notice",
        unknown="opt_in",
    )
    j = Jurisdictions(modes, ("US-CA",))
    assert j.mode(visitor("DE")) == "opt_in"
    assert j.mode(visitor("NO")) == "opt_in"
    assert j.mode(visitor("US", "US-CA")) == "opt_out"
    assert j.mode(visitor("US", "US-TX")) == "notice"
    assert j.mode(visitor("JP")) == "notice"
    assert j.mode(visitor()) == "opt_in"
    assert j.honours_gpc(visitor("US", "US-CA")) and not j.honours_gpc(visitor("US", "US-TX"))
    assert Jurisdictions(modes).honours_gpc(visitor("JP"))
