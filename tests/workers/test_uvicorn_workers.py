"""`gatekeeper serve --workers 3` (uvicorn workers) on the demo policy, no extra setting:
adblock verdicts, country blocks and GPC signals counted exactly, a killed worker loses
nothing it had written."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.workers.conftest import (
    GENEROUS,
    Visits,
    adblock_stats,
    counts,
    demo_policy,
    expected,
    run_views,
    serve,
    wait_for,
)

FIRST = {
    "NZ": ("blocked", 6),
    "ZA": ("allowed", 6),
    "JP": ("no_js", 6),
    "KR": ("left", 4),
    "AU": ("check_again", 4),
}
SECOND = {"MX": ("allowed", 5), "IN": ("blocked", 5), "BR": ("no_js", 5)}


@pytest.fixture(params=["sqlite", "postgres"])
def store_section(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return ""  # the demo policy's own SQLite file
    url = request.getfixturevalue("pg_store")
    return f'\naudit:\n  store: "{url}"\n  ip: truncate\n'


def _policy(tmp_path: Path, store_section: str) -> Path:
    path = demo_policy(tmp_path / "data", GENEROUS)
    if store_section:
        text = path.read_text(encoding="utf-8")
        start = text.index("\naudit:")
        end = text.index("\n\n", start + 1) if "\n\n" in text[start + 1 :] else len(text)
        path.write_text(text[:start] + store_section + text[end:], encoding="utf-8")
    return path


def test_counts_are_exact_across_three_workers(tmp_path: Path, store_section: str) -> None:
    policy = _policy(tmp_path, store_section)
    server = serve(policy, workers=3)
    try:
        visits = Visits(server.port)
        run_views(visits, FIRST)
        for _ in range(7):
            assert visits.get("/?gk_country=AQ").status_code == 451
        for _ in range(9):  # GPC from California, cookie-less: honoured, counted, unwritten
            page = visits.get("/?gk_country=US-CA", **{"sec-gpc": "1", "accept": "text/html"})
            assert "gk_consent=" in page.headers["set-cookie"]
        assert len(visits.served_by) >= 2, "the requests all went to one worker"

        # Written within a flush interval, by whichever worker counted them.
        # The GPC pages open no adblock view: GPC refuses ads (a sale or sharing), and
        # detection needs ads there (adblock.requires_consent).
        want = expected(FIRST)
        assert wait_for(lambda: adblock_stats(policy), want) == want

        # A worker is killed (no shutdown, nothing written at exit): what it wrote stays.
        victim = int(sorted(visits.served_by)[0])
        os.kill(victim, signal.SIGKILL)
        run_views(visits, SECOND)
    finally:
        output = server.stop()
    assert adblock_stats(policy) == {**want, **expected(SECOND)}, output[-2000:]
    found = counts(policy)
    assert [(b["country"], b["rule"], b["requests"]) for b in found["blocked"]] == [
        ("AQ", "geoblock.deny", 7)
    ]
    assert [(g["country"], g["pending"], g["recorded"]) for g in found["gpc"]] == [("US", 9, 0)]
