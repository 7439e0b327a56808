"""Correlation per view with nothing shared: what each event counts, proofs, receipts."""

from __future__ import annotations

import pytest

from gatekeeper.adblock.detector import Detector
from gatekeeper.adblock.rates import verdicts
from gatekeeper.adblock.stats import VerdictCounts, day_of
from gatekeeper.adblock.token import TokenError, ViewTokens
from gatekeeper.adblock.verdict import BeaconReport
from tests.adblock.conftest import T0, Clock
from tests.conftest import SECRET

DAY = day_of(T0)
SEEN = BeaconReport(script=True, cosmetic=True, image=True)
FAILED = BeaconReport(script=False, cosmetic=True)


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


async def test_a_view_whose_script_bait_arrived_is_allowed() -> None:
    d = detector()
    token = d.open("/articles/lock", "DE").decode()
    d.image(token)
    proof = d.script(token)
    verdict, receipt = await d.report(token, SEEN, proof=proof)
    assert verdict == "allowed" and receipt
    assert counts(d) == {
        (DAY, "DE", "/articles", key): 1 for key in ("opened", "image", "allowed", "judged_image")
    }


async def test_without_the_proof_a_loaded_script_is_a_blockers_stub() -> None:
    d = detector()
    token = d.open("/", None).decode()
    other = d.open("/", None).decode()
    assert (await d.report(token, SEEN))[0] == "blocked"  # loaded, yet never reached us
    # A proof is bound to its view: another view's proof proves nothing here.
    assert (await d.report(other, SEEN, proof=d.script(token)))[0] == "blocked"
    assert (await d.report(other, SEEN, proof="garbage"))[0] == "blocked"


async def test_a_proof_from_any_process_with_the_keys_counts() -> None:
    clock = Clock()
    here, there = detector(clock), detector(clock)  # two processes, one key
    token = here.open("/", None).decode()
    assert (await here.report(token, SEEN, proof=there.script(token)))[0] == "allowed"
    stranger = detector(clock, keys=("another-secret-0123456789abcdef012345",))
    assert (await here.report(token, SEEN, proof=stranger.script(token)))[0] == "blocked"


async def test_check_again_with_the_receipt_moves_the_count() -> None:
    d = detector()
    token = d.open("/", None).decode()
    verdict, receipt = await d.report(token, FAILED)
    assert verdict == "blocked"
    # The visitor turns the blocker off and checks again: a new probe arrives.
    verdict, receipt = await d.report(token, SEEN, proof=d.script(token), receipt=receipt)
    assert verdict == "allowed"
    assert counts(d) == {
        (DAY, "", "/", "opened"): 1,
        (DAY, "", "/", "allowed"): 1,
        (DAY, "", "/", "judged_image"): 1,
    }


async def test_a_receipt_works_in_another_process() -> None:
    clock = Clock()
    one, two = detector(clock), detector(clock)
    token = one.open("/", None).decode()
    _, receipt = await one.report(token, FAILED)
    await two.report(token, SEEN, proof=two.script(token), receipt=receipt)
    assert counts(two) == {
        (DAY, "", "/", "blocked"): -1,
        (DAY, "", "/", "allowed"): 1,
        (DAY, "", "/", "judged_image"): 1,
    }


async def test_a_receipt_of_another_view_or_forged_is_ignored() -> None:
    d = detector()
    first, second = d.open("/", None).decode(), d.open("/", None).decode()
    _, receipt = await d.report(first, FAILED)
    await d.report(second, FAILED, receipt=receipt)
    await d.report(second, FAILED, receipt="A" * 32)
    assert counts(d)[(DAY, "", "/", "blocked")] == 2  # second counted once, first kept


async def test_the_same_report_twice_in_one_process_counts_once() -> None:
    d = detector()
    token = d.open("/", None).decode()
    await d.report(token, FAILED)
    await d.report(token, FAILED)  # a retried fetch, or a replay
    assert counts(d)[(DAY, "", "/", "blocked")] == 1


def test_an_image_bait_counts_once_per_view_here() -> None:
    d = detector()
    token = d.open("/", None).decode()
    for _ in range(5):
        d.image(token)  # the same view's image, fetched again (or replayed)
    assert counts(d)[(DAY, "", "/", "image")] == 1


def test_bait_hits_with_bad_tokens_count_nothing() -> None:
    d = detector()
    d.open("/", None)
    before = counts(d)
    for bad in (None, "", "x.y.z", "garbage", "A" * 43):
        d.image(bad)
        assert d.script(bad) == ""
    assert counts(d) == before


async def test_reports_need_a_valid_token() -> None:
    d = detector()
    with pytest.raises(TokenError):
        await d.report("x.y.z", SEEN)


async def test_a_receipt_replayed_to_the_same_process_moves_nothing() -> None:
    d = detector()
    token = d.open("/", None).decode()
    _, first = await d.report(token, FAILED)
    proof = d.script(token)
    await d.report(token, SEEN, proof=proof, receipt=first)  # the real check again
    moved = counts(d)
    for _ in range(5):  # someone sends the first receipt again and again
        verdict, _ = await d.report(token, SEEN, proof=proof, receipt=first)
        assert verdict == "allowed"
    assert counts(d) == moved
    assert moved[(DAY, "", "/", "allowed")] == 1 and (DAY, "", "/", "blocked") not in moved


async def test_checks_alternating_between_processes_count_the_view_once() -> None:
    clock = Clock()
    one, two = detector(clock), detector(clock)
    token = one.open("/", None).decode()
    _, receipt = await one.report(token, FAILED)  # blocked, on one
    _, receipt = await two.report(token, SEEN, proof=two.script(token), receipt=receipt)
    _, receipt = await one.report(token, FAILED, receipt=receipt)  # blocked again, on one
    total: dict[tuple[str, str, str, str], int] = {}
    for d in (one, two):
        for key, n in counts(d).items():
            total[key] = total.get(key, 0) + n
    assert {k: n for k, n in total.items() if n} == {
        (DAY, "", "/", "opened"): 1,
        (DAY, "", "/", "blocked"): 1,
    }


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
    # Image requests replayed to many processes cannot make more no_js views than views.
    assert verdicts({"opened": 2, "image": 50}) == {
        "blocked": 0, "allowed": 0, "no_js": 2, "unknown": 0,
    }  # fmt: skip
