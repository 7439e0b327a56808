"""Adblock rates: the stored counts added up into verdicts, by day, country or path group.

The blocked rate is blocked / (blocked + allowed): the share of checked views whose
visitor blocks ads. Views without JavaScript (no_js) and views that could not be judged
(unknown: the visitor left early, a crawler that runs scripts, a lost beacon) are counted
but left out of the rate, since they say nothing either way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .store import VerdictRow
from .verdict import VERDICTS

GROUPINGS = {
    "all": ("day", "country", "path"),
    "day": ("day",),
    "country": ("country",),
    "path": ("path",),
    "day-country": ("day", "country"),
}


@dataclass(slots=True)
class VerdictTally:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(VERDICTS, 0))

    def add(self, verdict: str, n: int) -> None:
        self.counts[verdict] = self.counts.get(verdict, 0) + n

    @property
    def views(self) -> int:
        return sum(self.counts.values())

    @property
    def rate(self) -> float | None:
        judged = self.counts["blocked"] + self.counts["allowed"]
        return self.counts["blocked"] / judged if judged else None

    def to_dict(self) -> dict[str, Any]:
        return {**self.counts, "views": self.views, "blocked_rate": self.rate}


def _key(row: VerdictRow, columns: Sequence[str]) -> tuple[str, ...]:
    values = {"day": row.day, "country": row.country or "-", "path": row.group}
    return tuple(values[c] for c in columns)


def verdicts(counts: dict[str, int]) -> dict[str, int]:
    """The verdicts of the views counted under one (day, country, path group).

    Beacons are counted as judged (blocked, allowed, unknown) when they arrive. The rest
    is derived: a view whose image bait arrived but that never reported ran no JavaScript
    (no_js = images - judged views that saw their image, at most opened - judged); a view
    that did neither is unknown (opened - judged - no_js). Rows written before views were
    counted this way hold final verdicts and add in as they are.
    """
    out: dict[str, int] = {verdict: counts.get(verdict, 0) for verdict in VERDICTS}
    judged = out["blocked"] + out["allowed"] + out["unknown"]
    opened = counts.get("opened", 0)
    # Never more no_js views than views that did not report: image bait requests sent
    # again to other processes (each dedupes its own) cannot inflate it past that.
    images = counts.get("image", 0) - counts.get("judged_image", 0)
    no_js = max(0, min(images, opened - judged))
    out["no_js"] += no_js
    out["unknown"] += max(0, opened - judged - no_js)
    return out


def summarise(
    rows: Iterable[VerdictRow], columns: Sequence[str]
) -> tuple[dict[tuple[str, ...], VerdictTally], VerdictTally]:
    finest: dict[tuple[str, str, str], tuple[VerdictRow, dict[str, int]]] = {}
    for row in rows:
        entry = finest.setdefault((row.day, row.country, row.group), (row, {}))
        entry[1][row.verdict] = entry[1].get(row.verdict, 0) + row.count
    groups: dict[tuple[str, ...], VerdictTally] = {}
    total = VerdictTally()
    for row, counts in finest.values():
        group = groups.setdefault(_key(row, columns), VerdictTally())
        for verdict, n in verdicts(counts).items():
            group.add(verdict, n)
            total.add(verdict, n)
    return dict(sorted(groups.items())), total
