"""Verdicts: what one page view tells about the visitor's ad blocker.

The server sees which bait requests reached it; the page's script reports what it saw in
the browser (the beacon). Neither alone is trusted to say "blocked": a request can go
missing because the visitor left, runs no JavaScript or has images off, and a browser
report can be faked or cut short. This module is pure logic, so every rule is a unit test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Verdict = Literal["blocked", "allowed", "no_js", "unknown"]
VERDICTS: tuple[Verdict, ...] = ("blocked", "allowed", "no_js", "unknown")


@dataclass(frozen=True, slots=True)
class BeaconReport:
    """What the page's check saw, as posted to the beacon."""

    script: bool | None
    """The script bait loaded (True), failed (False) or did not settle in time (None)."""
    cosmetic: bool
    """The cosmetic bait element was still displayed after the check's delay."""
    image: bool = False
    """The image bait had loaded in the page when the check reported."""


@dataclass(slots=True)
class Evidence:
    """What the server knows about one page view."""

    image: bool = False
    """The image bait (an <img> in the page) reached the server."""
    script: bool = False
    """The script bait reached the server (its proof came back with the report)."""
    report: BeaconReport | None = None
    """The latest beacon of this view, if any arrived."""


def judge(evidence: Evidence) -> Verdict:
    """The verdict of a page view from what the server knows of it."""
    report = evidence.report
    if report is None:
        # No beacon: nothing here says an ad blocker is at work. An image without a
        # script request is a browser that renders but runs no JavaScript; anything else
        # (nothing arrived, or the visitor left before the check finished) is unknown.
        if evidence.image and not evidence.script:
            return "no_js"
        return "unknown"
    if not report.cosmetic:
        return "blocked"  # our own element, hidden by a stylesheet we did not write
    if not evidence.script:
        # The script ran and reported, yet the bait never reached us. When the probe
        # settled, either the blocker cancelled it (False) or answered it with a local
        # stub (True, as uBlock Origin does for known ad scripts): blocked either way.
        # When it had not settled, the network was merely slow: too early to tell.
        return "blocked" if report.script is not None else "unknown"
    # The bait reached us. A browser that then calls it failed disagrees with the server:
    # that is a broken connection, not a blocker.
    return "unknown" if report.script is False else "allowed"
