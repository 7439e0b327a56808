"""Adblock counts: path groups, and their table in the consent log's database."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatekeeper.adblock.stats import VerdictCounts, path_group
from gatekeeper.adblock.store import TABLE, Filter, VerdictRow, open_store
from gatekeeper.counters import Counters, open_counter_store


@pytest.mark.parametrize(
    ("path", "group"),
    [
        ("/", "/"),
        ("", "/"),
        ("/articles/lock-reopens", "/articles"),
        ("/articles/", "/articles"),
        ("/privacy", "/privacy"),
        ("//double", "/double"),
        ("/" + "x" * 200, "/" + "x" * 63),
    ],
)
def test_path_group(path: str, group: str) -> None:
    assert path_group(path) == group


async def test_counts_land_in_the_adblock_verdicts_table(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'consent.db'}"
    counts = VerdictCounts(Counters(open_counter_store(url)))
    counts.add(("2026-11-27", "DE", "/", "opened"))
    counts.add(("2026-11-27", "DE", "/", "opened"))
    counts.add(("2026-11-27", "DE", "/", "blocked"))
    assert counts.pending == {
        ("2026-11-27", "DE", "/", "opened"): 2,
        ("2026-11-27", "DE", "/", "blocked"): 1,
    }
    assert await counts.flush()
    assert counts.pending == {}
    assert TABLE.name == "adblock_verdicts"  # the table earlier versions wrote
    assert await open_store(url).rows(Filter()) == [
        VerdictRow("2026-11-27", "DE", "/", "blocked", 1),
        VerdictRow("2026-11-27", "DE", "/", "opened", 2),
    ]
    assert await open_store(url).rows(Filter(country="fr")) == []
