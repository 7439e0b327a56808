"""Decisions and rates over time as charts: geometry here, SVG in audit_macros.html.

Computed on the server and drawn as inline SVG, so a chart needs no script, no style
attribute (the view's CSP) and no file beside the page (the report is one file). Every
chart has a title and a description, and every bar and point a <title> with its numbers;
the tables next to the charts carry the same figures for screen readers and print.

Days without decisions are drawn as empty, not skipped, so time reads evenly. Long
periods are grouped by week (over 92 days) or by month (over two years).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from .stats import Tally

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 48
MAX_LABELS = 7  # a date label is about 65 px wide at 11 px

# Colours that stay apart for common colour-vision deficiencies (Okabe–Ito), and in grey.
CHOICE_COLOURS = {"accept_all": "#0072b2", "partial": "#e69f00", "reject_all": "#555555"}
CHOICE_LABELS = {"accept_all": "Accepted all", "partial": "Partial", "reject_all": "Rejected all"}
LINE_COLOURS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#56b4e9", "#e69f00", "#000000")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 2", "4 4", "10 2")


@dataclass(frozen=True, slots=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    fill: str
    title: str


@dataclass(frozen=True, slots=True)
class Point:
    x: float
    y: float
    title: str


@dataclass(frozen=True, slots=True)
class Line:
    label: str
    colour: str
    dash: str
    segments: tuple[str, ...]  # SVG `points` lists; a bucket without data breaks the line
    points: tuple[Point, ...]


@dataclass(frozen=True, slots=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True, slots=True)
class Chart:
    id: str
    title: str
    description: str
    rects: tuple[Rect, ...]
    lines: tuple[Line, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    legend: tuple[tuple[str, str, str], ...]  # (label, colour, dash)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM

    @property
    def empty(self) -> bool:
        return not self.rects and not any(line.points for line in self.lines)


def _bucket(day: date, unit: str) -> date:
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


def _next(day: date, unit: str) -> date:
    if unit == "week":
        return day + timedelta(days=7)
    if unit == "month":
        return (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return day + timedelta(days=1)


def series(days: Mapping[str, Tally]) -> tuple[str, list[tuple[str, Tally]]]:
    """Every bucket from the first day to the last, empty ones included: (unit, buckets)."""
    if not days:
        return "day", []
    parsed = {date.fromisoformat(day): counts for day, counts in days.items()}
    first, last = min(parsed), max(parsed)
    span = (last - first).days
    unit = "month" if span > 731 else "week" if span > 92 else "day"
    buckets: dict[date, Tally] = {}
    cursor = _bucket(first, unit)
    while cursor <= last:
        buckets[cursor] = Tally()
        cursor = _next(cursor, unit)
    for day, counts in parsed.items():
        buckets[_bucket(day, unit)].merge(counts)
    label = {"day": "%Y-%m-%d", "week": "week of %Y-%m-%d", "month": "%Y-%m"}[unit]
    return unit, [(when.strftime(label), counts) for when, counts in sorted(buckets.items())]


def _nice(top: int) -> int:
    """A round upper bound for a count axis with four whole steps: 4 times 1, 2 or 5
    times a power of ten."""
    power = 1
    while True:
        for factor in (1, 2, 5):
            if 4 * power * factor >= top:
                return 4 * power * factor
        power *= 10


def _x_ticks(labels: Sequence[str], slot: float) -> tuple[Tick, ...]:
    every = max(1, -(-len(labels) // MAX_LABELS))
    return tuple(
        Tick(LEFT + slot * (i + 0.5), label.removeprefix("week of "))
        for i, label in enumerate(labels)
        if i % every == 0
    )


def decisions_chart(buckets: Sequence[tuple[str, Tally]], unit: str) -> Chart:
    """Decisions per bucket, stacked by choice."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(buckets))
    top = _nice(max((counts.decisions for _, counts in buckets), default=0) or 1)
    rects: list[Rect] = []
    for i, (label, counts) in enumerate(buckets):
        base = float(HEIGHT - BOTTOM)
        for kind, colour in CHOICE_COLOURS.items():
            value = getattr(counts, kind)
            if not value:
                continue
            height = plot_h * value / top
            base -= height
            rects.append(
                Rect(
                    x=LEFT + slot * i + slot * 0.15,
                    y=base,
                    width=max(slot * 0.7, 1.0),
                    height=height,
                    fill=colour,
                    title=f"{label}: {CHOICE_LABELS[kind].lower()} {value} of "
                    f"{counts.decisions} decisions",
                )
            )
    y_ticks = tuple(Tick(HEIGHT - BOTTOM - plot_h * k / 4, f"{top * k / 4:g}") for k in range(5))
    total = sum(counts.decisions for _, counts in buckets)
    return Chart(
        id="decisions",
        title=f"Decisions per {unit}, by choice",
        description=f"Stacked bars: {total} decisions over {len(buckets)} {unit}s, "
        "split into accepted all, partial and rejected all.",
        rects=tuple(rects),
        lines=(),
        x_ticks=_x_ticks([label for label, _ in buckets], slot),
        y_ticks=y_ticks,
        legend=tuple((CHOICE_LABELS[k], c, "") for k, c in CHOICE_COLOURS.items()),
    )


def rates_chart(buckets: Sequence[tuple[str, Tally]], unit: str) -> Chart:
    """The share that accepted all, and the share allowing each category, per bucket."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(buckets))
    names = sorted({name for _, counts in buckets for name in counts.allowed})
    wanted: list[tuple[str, str | None]] = [("Accepted all", None)]
    wanted += [(f"Allowed {name}", name) for name in names]
    lines: list[Line] = []
    for index, (label, category) in enumerate(wanted):
        segments: list[str] = []
        points: list[Point] = []
        current: list[str] = []
        for i, (bucket, counts) in enumerate(buckets):
            if not counts.decisions:
                if current:
                    segments.append(" ".join(current))
                current = []
                continue
            count = counts.accept_all if category is None else counts.allowed.get(category, 0)
            rate = count / counts.decisions
            x, y = LEFT + slot * (i + 0.5), HEIGHT - BOTTOM - plot_h * rate
            current.append(f"{x:.1f},{y:.1f}")
            points.append(
                Point(x, y, f"{bucket}: {label.lower()} {rate:.1%} ({count} of {counts.decisions})")
            )
        if current:
            segments.append(" ".join(current))
        colour = LINE_COLOURS[index % len(LINE_COLOURS)]
        lines.append(
            Line(label, colour, DASHES[index % len(DASHES)], tuple(segments), tuple(points))
        )
    y_ticks = tuple(Tick(HEIGHT - BOTTOM - plot_h * k / 4, f"{k * 25}%") for k in range(5))
    return Chart(
        id="rates",
        title=f"Acceptance per {unit}",
        description=f"Lines over {len(buckets)} {unit}s: the share of decisions that "
        f"accepted every optional category, and the share allowing each category "
        f"({', '.join(names) or 'none'}).",
        rects=(),
        lines=tuple(lines),
        x_ticks=_x_ticks([label for label, _ in buckets], slot),
        y_ticks=y_ticks,
        legend=tuple((line.label, line.colour, line.dash) for line in lines),
    )


def charts(days: Mapping[str, Tally]) -> list[Chart]:
    """The two charts of the decisions in `days` (Summary.days())."""
    unit, buckets = series(days)
    if not buckets:
        return []
    return [decisions_chart(buckets, unit), rates_chart(buckets, unit)]
