"""Decisions by day, jurisdiction mode and choice, with acceptance rates."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from .store import StatsRow

Choice = Literal["accept_all", "partial", "reject_all"]
DECISIONS = ("given", "refused", "updated", "gpc")


def choice(categories: dict[str, bool], required: frozenset[str]) -> Choice:
    """What a decision amounted to, over the categories a visitor could refuse."""
    optional = [allowed for name, allowed in categories.items() if name not in required]
    if optional and all(optional):
        return "accept_all"
    if any(optional):
        return "partial"
    return "reject_all"


@dataclass(slots=True)
class Tally:
    decisions: int = 0
    accept_all: int = 0
    partial: int = 0
    reject_all: int = 0
    withdrawn: int = 0
    expired: int = 0
    gpc: int = 0
    allowed: dict[str, int] = field(default_factory=dict)  # category -> decisions allowing it

    def add(self, row: StatsRow, required: frozenset[str]) -> None:
        if row.event == "withdrawn":
            self.withdrawn += row.count
            return
        if row.event == "expired":
            self.expired += row.count
            return
        if row.event == "gpc":
            self.gpc += row.count
        self.decisions += row.count
        kind = choice(row.categories, required)
        setattr(self, kind, getattr(self, kind) + row.count)
        for name, allowed in row.categories.items():
            if name not in required:
                self.allowed[name] = self.allowed.get(name, 0) + (row.count if allowed else 0)

    def merge(self, other: Tally) -> None:
        """Add another tally's counts to this one."""
        for name in ("decisions", "accept_all", "partial", "reject_all", "withdrawn", "expired"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.gpc += other.gpc
        for name, count in other.allowed.items():
            self.allowed[name] = self.allowed.get(name, 0) + count

    @property
    def acceptance(self) -> float | None:
        """Share of decisions that accepted everything."""
        return self.accept_all / self.decisions if self.decisions else None

    def rates(self) -> dict[str, float]:
        """Per category: the share of decisions that allowed it."""
        if not self.decisions:
            return {}
        return {name: n / self.decisions for name, n in sorted(self.allowed.items())}

    def to_dict(self) -> dict[str, Any]:
        return {
            "decisions": self.decisions,
            "accept_all": self.accept_all,
            "partial": self.partial,
            "reject_all": self.reject_all,
            "withdrawn": self.withdrawn,
            "expired": self.expired,
            "gpc": self.gpc,
            "acceptance_rate": self.acceptance,
            "category_rates": self.rates(),
        }


@dataclass(slots=True)
class Summary:
    by_day: dict[tuple[str, str], Tally] = field(default_factory=dict)  # (day, mode)
    by_mode: dict[str, Tally] = field(default_factory=dict)
    total: Tally = field(default_factory=Tally)

    def days(self) -> dict[str, Tally]:
        """One tally per day, every mode together, in day order."""
        out: dict[str, Tally] = {}
        for (day, _), counts in sorted(self.by_day.items()):
            out.setdefault(day, Tally()).merge(counts)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "by_day": [
                {"day": day, "mode": mode, **tally.to_dict()}
                for (day, mode), tally in sorted(self.by_day.items())
            ],
            "by_mode": {mode: t.to_dict() for mode, t in sorted(self.by_mode.items())},
            "total": self.total.to_dict(),
        }

    def lines(self) -> list[str]:
        def pct(value: float | None) -> str:
            return "-" if value is None else f"{value:.1%}"

        head = (
            f"{'day':<10}  {'mode':<8} {'decisions':>9} {'accept_all':>10} {'partial':>7} "
            f"{'reject_all':>10} {'accepted':>8} {'withdrawn':>9} {'gpc':>5}"
        )
        out = [head]
        for (day, mode), t in sorted(self.by_day.items()):
            out.append(
                f"{day:<10}  {mode:<8} {t.decisions:>9} {t.accept_all:>10} {t.partial:>7} "
                f"{t.reject_all:>10} {pct(t.acceptance):>8} {t.withdrawn:>9} {t.gpc:>5}"
            )
        out.append("")
        for mode, t in sorted(self.by_mode.items()):
            rates = ", ".join(f"{name} {pct(rate)}" for name, rate in t.rates().items())
            out.append(
                f"{mode}: {t.decisions} decisions, {pct(t.acceptance)} accepted all"
                + (f"; allowed: {rates}" if rates else "")
            )
        t = self.total
        out.append(
            f"total: {t.decisions} decisions, {pct(t.acceptance)} accepted all, "
            f"{t.withdrawn} withdrawn, {t.expired} expired"
        )
        return out


def summarise(rows: Iterable[StatsRow], required: Iterable[str] = ()) -> Summary:
    needed = frozenset(required)
    summary = Summary()
    for row in rows:
        summary.by_day.setdefault((row.day, row.mode), Tally()).add(row, needed)
        summary.by_mode.setdefault(row.mode, Tally()).add(row, needed)
        summary.total.add(row, needed)
    return summary
