"""Correlation per view with nothing shared: what each event counts, proofs, receipts."""

from __future__ import annotations

import pytest

from gatekeeper.adblock.cli import verdicts
from gatekeeper.adblock.detector import Detector
from gatekeeper.adblock.stats import VerdictCounts, day_of
from gatekeeper.adblock.token import TokenError, ViewTokens
from gatekeeper.adblock.verdict import Report
from tests.adblock.conftest import T0, Clock
from tests.conftest import SECRET

DAY = day_of(T0)
SEEN = Report(script=True, cosmetic=True, image=True)
FAILED = Report(script=False, cosmetic=True)


def detector(clock: Clock | None = None, keys: tuple[str, ...] = (SECRET,)) -> Detector:
    clock = clock or Clock()
    return Detector(ViewTokens(list(keys), clock=clock), VerdictCounts(None), clock=clock)


def counts(d: Detector) -> dict[tuple[str, str, str, str], int]:
    return {k: n for k, n in d.counts.pending.items() if n}


def test_a_view_is_counted_opened_where_it_is_rendered() -> None:
    d = detector()
    token = d.open("/articles/lock", "de")
    assert isinstance(token, bytes)
    assert counts(d) == {(DAY, "DE", "/articles", "opened"): 1}
    claim = d.tokens.check(token.decode())
    assert (claim.country, claim.group, claim.issued) == ("DE", "/articles", int(T0))


def test_a_view_whose_script_bait_arrived_is_allowed() -> None:
    d = detector()
    token = d.open("/articles/lock", "DE").decode()
    d.image(token)
    proof = d.script(token)
    verdict, receipt = d.report(token, SEEN, proof=proof)
    assert verdict == "allowed" and receipt
    assert counts(d) == {
        (DAY, "DE", "/articles", key): 1 for key in ("opened", "image", "allowed", "judged_image")
    }


def test_without_the_proof_a_loaded_script_is_a_blockers_stub() -> None:
    d = detector()
    token = d.open("/", None).decode()
    other = d.open("/", None).decode()
    assert d.report(token, SEEN)[0] == "blocked"  # loaded, yet never reached us
    # A proof is bound to its view: another view's proof proves nothing here.
    assert d.report(other, SEEN, proof=d.script(token))[0] == "blocked"
    assert d.report(other, SEEN, proof="garbage")[0] == "blocked"


def test_a_proof_from_any_process_with_the_keys_counts() -> None:
    clock = Clock()
    here, there = detector(clock), detector(clock)  # two processes, one key
    token = here.open("/", None).decode()
    assert here.report(token, SEEN, proof=there.script(token))[0] == "allowed"
    stranger = detector(clock, keys=("another-secret-0123456789abcdef012345",))
    assert here.report(token, SEEN, proof=stranger.script(token))[0] == "blocked"


def test_check_again_with_the_receipt_moves_the_count() -> None:
    d = detector()
    token = d.open("/", None).decode()
    verdict, receipt = d.report(token, FAILED)
    assert verdict == "blocked"
    # The visitor turns the blocker off and checks again: a new probe arrives.
    verdict, receipt = d.report(token, SEEN, proof=d.script(token), receipt=receipt)
    assert verdict == "allowed"
    assert counts(d) == {
        (DAY, "", "/", "opened"): 1,
        (DAY, "", "/", "allowed"): 1,
        (DAY, "", "/", "judged_image"): 1,
    }


def test_a_receipt_works_in_another_process() -> None:
    clock = Clock()
    one, two = detector(clock), detector(clock)
    token = one.open("/", None).decode()
    _, receipt = one.report(token, FAILED)
    two.report(token, SEEN, proof=two.script(token), receipt=receipt)
    assert counts(two) == {
        (DAY, "", "/", "blocked"): -1,
        (DAY, "", "/", "allowed"): 1,
        (DAY, "", "/", "judged_image"): 1,
    }


def test_a_receipt_of_another_view_or_forged_is_ignored() -> None:
    d = detector()
    first, second = d.open("/", None).decode(), d.open("/", None).decode()
    _, receipt = d.report(first, FAILED)
    d.report(second, FAILED, receipt=receipt)
    d.report(second, FAILED, receipt="A" * 32)
    assert counts(d)[(DAY, "", "/", "blocked")] == 2  # second counted once, first kept


def test_the_same_report_twice_in_one_process_counts_once() -> None:
    d = detector()
    token = d.open("/", None).decode()
    d.report(token, FAILED)
    d.report(token, FAILED)  # a retried fetch, or a replay
    assert counts(d)[(DAY, "", "/", "blocked")] == 1


def test_bait_hits_with_bad_tokens_count_nothing() -> None:
    d = detector()
    d.open("/", None)
    before = counts(d)
    for bad in (None, "", "x.y.z", "garbage", "A" * 43):
        d.image(bad)
        assert d.script(bad) == ""
    assert counts(d) == before


def test_reports_need_a_valid_token() -> None:
    d = detector()
    with pytest.raises(TokenError):
        d.report("x.y.z", SEEN)


def test_no_js_and_unknown_are_derived_when_read() -> None:
    # Ten views: four judged (two saw their image), three more rendered the image and
    # never reported (no JavaScript), three did nothing at all.
    stored = {
        "opened": 10, "image": 5, "judged_image": 2, "blocked": 1, "allowed": 2, "unknown": 1,
    }  # fmt: skip
    assert verdicts(stored) == {"blocked": 1, "allowed": 2, "no_js": 3, "unknown": 4}
    # Rows of earlier versions held final verdicts: they add in as they are.
    assert verdicts({"no_js": 2, "unknown": 1}) == {
        "blocked": 0, "allowed": 0, "no_js": 2, "unknown": 1,
    }  # fmt: skip
    # Counts still on their way from another process never go below zero.
    assert verdicts({"image": 1, "judged_image": 3, "allowed": 3})["no_js"] == 0
