"""The `since` / `until` of a period, read the same way by the CLI and the auditor view.

A date means a whole UTC day: `since 2026-11-01` starts at its midnight, `until
2026-11-30` ends at the midnight after it, so the until day is included. A time (ISO
8601, `Z` or an offset; naive means UTC) is an instant: `until` a time excludes it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from .record import iso


class PeriodError(ValueError):
    """A since or until that is neither a date nor a time."""


def moment(text: str, *, until: bool = False) -> str:
    """The `iso()` text the store filters on: since inclusive, until exclusive."""
    text = text.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return iso(start + timedelta(days=1) if until else start)
        return iso(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except (ValueError, OverflowError):
        raise PeriodError(
            f"{text!r} is not a date (2026-11-01) or a time (2026-11-01T12:00:00Z)"
        ) from None


def describe(since: str | None, until: str | None) -> str:
    """The period in words, as the filters were given."""
    if since and until:
        return f"from {since} to {until}"
    if since:
        return f"from {since}"
    if until:
        return f"up to {until}"
    return "the whole log"
