"""The script gate against a WHATWG parser: on every case of the corpus, nothing the
visitor refused is live in the gated page, and everything else is exactly as it was."""

from __future__ import annotations

import pytest

from .gate_check import allows_only, check, gate
from .gate_corpus import DECOYS, TRACKERS
from .gate_oracle import Oracle, parse

PAGE = "<!doctype html><html><head><title>t</title></head><body><p>before</p>{}<p>after</p></body></html>"


@pytest.mark.parametrize("name", sorted(TRACKERS))
def test_refused_trackers_are_held_back(name):
    doc = PAGE.format(TRACKERS[name]).encode()
    refused = allows_only()
    oracle = Oracle(refused)
    assert any(oracle.refused(v) for v in oracle.verdicts(parse(doc))), "case holds no tracker"
    assert check(doc, refused) >= 1


@pytest.mark.parametrize("name", sorted(TRACKERS))
def test_allowed_trackers_pass_byte_for_byte(name):
    doc = PAGE.format(TRACKERS[name]).encode()
    assert gate(doc, allows_only("ads", "analytics", "video")) == doc


@pytest.mark.parametrize("name", sorted(DECOYS))
def test_decoys_are_left_alone(name):
    doc = PAGE.format(DECOYS[name]).encode()
    assert check(doc, allows_only()) == 0
    assert gate(doc, allows_only()) == doc


def test_all_cases_in_one_document_at_every_chunk_size():
    body = "\n".join(f"<div id={n}>{html}</div>" for n, html in sorted(TRACKERS.items()))
    doc = PAGE.format(body).encode()
    refused = allows_only()
    whole = gate(doc, refused)
    assert check(doc, refused, gated=whole) >= len(TRACKERS)
    for size in (1, 2, 3, 7, 64, 1000):
        cuts = tuple(range(size, len(doc), size))
        assert gate(doc, refused, cuts=cuts) == whole, size


def test_frames_of_a_frameset_document():
    doc = (
        b'<!doctype html><html><head><title>f</title></head><frameset cols="50%,50%">'
        b'<frame src="https://ad.doubleclick.net/f"><frame src="/own.html"></frameset></html>'
    )
    assert check(doc, allows_only()) == 1


TCF_DOC = PAGE.format(
    '<script data-tcf-vendor="755" data-tcf-purposes="1,3,4" src="/own/gtag.js"></script>'
    '<img data-tcf-vendor=" 755 " data-tcf-purposes="1" src="/own/pixel.gif">'
    '<img data-tcf-vendor="99" src="/own/other.gif">'
    '<iframe data-tcf-vendor="7x" src="/own/malformed.html"></iframe>'
    '<video data-tcf-vendor="755" data-tcf-purposes="2"><source src="/own/v.mp4"></video>'
).encode()


def test_tcf_marks_decide_with_a_callback():
    calls = []

    def tcf(vendor, purposes):
        calls.append((vendor, purposes))
        return vendor == 755 and set(purposes) <= {1, 3, 4}

    everything = allows_only("ads", "analytics", "video")
    held = check(TCF_DOC, everything, tcf=tcf)
    assert held == 3  # vendor 99, the malformed vendor, the <source> of purpose 2's video
    assert (755, (1, 3, 4)) in calls and (755, (1,)) in calls
    out = gate(TCF_DOC, everything, tcf=tcf)
    assert b'<script data-tcf-vendor="755" data-tcf-purposes="1,3,4" src="/own/gtag.js">' in out
    assert b'<img data-tcf-vendor="99" data-gk-src="/own/other.gif">' in out
    assert b'<source data-gk-src="/own/v.mp4" data-tcf-vendor="755" data-tcf-purposes="2">' in out


def test_tcf_marks_are_ignored_without_a_callback():
    assert gate(TCF_DOC, allows_only("ads", "analytics", "video")) == TCF_DOC
