"""Correlation per view, and when each view's verdict is counted."""

from __future__ import annotations

import pytest

from gatekeeper.adblock.detector import Detector
from gatekeeper.adblock.stats import VerdictCounts, day_of
from gatekeeper.adblock.token import TokenError, ViewTokens
from gatekeeper.adblock.verdict import Report
from tests.adblock.conftest import T0, Clock
from tests.conftest import SECRET

DAY = day_of(T0)
SEEN = Report(script=True, cosmetic=True)
FAILED = Report(script=False, cosmetic=True)


def detector(clock: Clock, **options: object) -> Detector:
    return Detector(
        ViewTokens([SECRET], clock=clock),
        VerdictCounts(None),
        clock=clock,
        monotonic=clock,
        **options,  # type: ignore[arg-type]
    )


def counts(d: Detector) -> dict[tuple[str, str, str, str], int]:
    return {k: n for k, n in d.counts.pending.items() if n}


def test_a_view_whose_baits_arrived_is_allowed_and_counted_at_once() -> None:
    d = detector(Clock())
    token = d.open("/articles/lock", "de")
    d.bait("image", token)
    d.bait("script", token)
    assert d.report(token, SEEN) == "allowed"
    assert counts(d) == {(DAY, "DE", "/articles", "allowed"): 1}
    d.table.close()
    assert counts(d) == {(DAY, "DE", "/articles", "allowed"): 1}  # not twice


def test_a_blocked_view_then_check_again_moves_the_count() -> None:
    d = detector(Clock())
    token = d.open("/", None)
    assert d.report(token, FAILED) == "blocked"
    assert counts(d) == {(DAY, "", "/", "blocked"): 1}
    # The visitor turns the blocker off and checks again: a new probe arrives.
    d.bait("script", token)
    assert d.report(token, SEEN) == "allowed"
    assert counts(d) == {(DAY, "", "/", "allowed"): 1}


def test_check_again_needs_its_own_probe() -> None:
    d = detector(Clock())
    token = d.open("/", None)
    d.bait("script", token)
    assert d.report(token, SEEN) == "allowed"
    # The next check's probe never arrived (the blocker is back on).
    assert d.report(token, SEEN) == "blocked"


def test_no_beacon_views_are_counted_when_they_expire() -> None:
    clock = Clock()
    d = detector(clock, ttl=60)
    no_js = d.open("/a", "FR")
    d.bait("image", no_js)
    d.open("/b", "FR")  # nothing ever arrives
    assert counts(d) == {}
    clock.now += 61
    d.table.sweep()
    assert counts(d) == {(DAY, "FR", "/a", "no_js"): 1, (DAY, "FR", "/b", "unknown"): 1}


def test_a_late_probe_after_an_undecided_report_is_judged_at_expiry() -> None:
    clock = Clock()
    d = detector(clock, ttl=60)
    token = d.open("/", None)
    assert d.report(token, Report(script=None, cosmetic=True)) == "unknown"
    d.bait("script", token)  # the slow probe arrives after the report
    d.table.close()
    assert counts(d) == {(DAY, "", "/", "allowed"): 1}


def test_an_undecided_report_is_counted_unknown_at_expiry() -> None:
    d = detector(Clock())
    token = d.open("/", None)
    d.bait("script", token)
    assert d.report(token, FAILED) == "unknown"
    d.table.close()
    assert counts(d) == {(DAY, "", "/", "unknown"): 1}


def test_a_beacon_for_a_view_not_held_is_judged_alone_and_not_counted() -> None:
    clock = Clock()
    d = detector(clock, ttl=60)
    token = d.open("/", None)
    clock.now += 61
    assert d.report(token, SEEN) == "allowed"
    assert d.report(token, FAILED) == "blocked"
    assert counts(d) == {(DAY, "", "/", "unknown"): 1}  # the expired view itself


def test_bait_hits_with_bad_tokens_change_nothing() -> None:
    d = detector(Clock())
    token = d.open("/", None)
    for bad in (None, "", "x.y.z", "garbage", token + "x"):
        d.bait("script", bad)
        d.bait("image", bad)
    view = d.table.get(d.tokens.check(token))
    assert view is not None and not view.evidence.image and not view.evidence.script


def test_reports_need_a_valid_token() -> None:
    d = detector(Clock())
    with pytest.raises(TokenError):
        d.report("x.y.z", SEEN)


def test_retire_counts_open_views() -> None:
    d = detector(Clock())
    d.open("/", None)
    d.retire()
    assert counts(d) == {(DAY, "", "/", "unknown"): 1}
    assert len(d.table) == 0
