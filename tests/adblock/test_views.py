"""The per-view table: bounded, expiring, every view finalised exactly once."""

from __future__ import annotations

import pytest

from gatekeeper.adblock.views import View, ViewTable
from tests.adblock.conftest import Clock


def view(clock: Clock, group: str = "/") -> View:
    return View(created=clock(), day="2026-11-27", country="DE", group=group)


def test_views_expire_after_ttl_in_creation_order() -> None:
    clock = Clock(100.0)
    final: list[str] = []
    table = ViewTable(lambda v: final.append(v.group), ttl=10, clock=clock)
    table.open("a", view(clock, "/a"))
    clock.now += 5
    table.open("b", view(clock, "/b"))
    clock.now += 6  # a is 11 s old, b 6 s
    assert table.get("a") is None
    assert table.get("b") is not None
    assert final == ["/a"]
    clock.now += 10
    table.sweep()
    assert final == ["/a", "/b"] and len(table) == 0


def test_a_full_table_evicts_the_oldest_view() -> None:
    clock = Clock()
    final: list[str] = []
    table = ViewTable(lambda v: final.append(v.group), capacity=3, clock=clock)
    for name in "abcde":
        table.open(name, view(clock, name))
    assert len(table) == 3
    assert final == ["a", "b"]
    assert table.get("a") is None and table.get("e") is not None


def test_close_finalises_everything_once() -> None:
    clock = Clock()
    final: list[str] = []
    table = ViewTable(lambda v: final.append(v.group), clock=clock)
    for name in "abc":
        table.open(name, view(clock, name))
    table.close()
    table.close()
    assert final == ["a", "b", "c"]


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError):
        ViewTable(lambda v: None, capacity=0)
