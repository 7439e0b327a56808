"""The verdict rules: what a page view's evidence means."""

from __future__ import annotations

import pytest

from gatekeeper.adblock.verdict import BeaconReport, Evidence, judge


def ev(image: bool = False, script: bool = False, report: BeaconReport | None = None) -> Evidence:
    return Evidence(image=image, script=script, report=report)


VISIBLE_LOADED = BeaconReport(script=True, cosmetic=True)
HIDDEN_LOADED = BeaconReport(script=True, cosmetic=False)
VISIBLE_FAILED = BeaconReport(script=False, cosmetic=True)
VISIBLE_PENDING = BeaconReport(script=None, cosmetic=True)
HIDDEN_FAILED = BeaconReport(script=False, cosmetic=False)


@pytest.mark.parametrize(
    ("evidence", "expected"),
    [
        # No beacon: never "blocked", whatever went missing.
        (ev(), "unknown"),
        (ev(image=True), "no_js"),
        (ev(image=True, script=True), "unknown"),  # JS ran, the visitor left before the report
        (ev(script=True), "unknown"),
        # Everything arrived and the element is visible.
        (ev(True, True, VISIBLE_LOADED), "allowed"),
        (ev(False, True, VISIBLE_LOADED), "allowed"),  # images off is not a blocker
        # A blocker on the network: the probe failed and never reached us.
        (ev(False, False, VISIBLE_FAILED), "blocked"),
        (ev(True, False, VISIBLE_FAILED), "blocked"),
        # A blocker that answers the probe with a local stub: loaded, yet never reached us.
        (ev(True, False, VISIBLE_LOADED), "blocked"),
        # A cosmetic blocker alone.
        (ev(True, True, HIDDEN_LOADED), "blocked"),
        (ev(False, False, HIDDEN_FAILED), "blocked"),
        # A slow network: the probe had not settled when the report went.
        (ev(True, False, VISIBLE_PENDING), "unknown"),
        (ev(True, True, VISIBLE_PENDING), "allowed"),
        # The server saw the probe, the browser says it failed: a broken connection.
        (ev(True, True, VISIBLE_FAILED), "unknown"),
    ],
)
def test_judge(evidence: Evidence, expected: str) -> None:
    assert judge(evidence) == expected


def test_a_missing_request_alone_is_never_blocked() -> None:
    for image in (False, True):
        for script in (False, True):
            assert judge(ev(image, script)) != "blocked"
