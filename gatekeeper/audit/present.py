"""How log values read in HTML: times, shares, bars and tallies, for the auditor view and
the evidence report alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .stats import Tally


def when(text: str | None) -> str:
    """`2026-11-27T12:00:00.000000Z` as `2026-11-27 12:00:00 UTC`."""
    if not text:
        return ""
    return text[:19].replace("T", " ") + " UTC"


def machine(text: str | None) -> str:
    """A record time as an HTML `datetime` value (at most milliseconds)."""
    if not text:
        return ""
    return text[:23] + "Z" if len(text) > 23 else text


def percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.1%}"


def width(rate: float | None) -> str:
    """The bar class for a share, in 5% steps (no inline styles under the CSP)."""
    return f"gk-w-{round((rate or 0.0) * 20) * 5}"


def categories(allowed: Mapping[str, bool]) -> list[dict[str, Any]]:
    return [{"name": name, "allowed": value} for name, value in allowed.items()]


def tally(label: str, counts: Tally) -> dict[str, Any]:
    shares = {}
    for kind in ("accept_all", "partial", "reject_all"):
        rate = getattr(counts, kind) / counts.decisions if counts.decisions else None
        shares[kind] = {"text": percent(rate), "bar": width(rate)}
    return {
        "label": label,
        "decisions": counts.decisions,
        "accept_all": counts.accept_all,
        "partial": counts.partial,
        "reject_all": counts.reject_all,
        "withdrawn": counts.withdrawn,
        "expired": counts.expired,
        "gpc": counts.gpc,
        "acceptance": percent(counts.acceptance),
        "bar": width(counts.acceptance),
        "shares": shares,
        "rates": [
            {"name": name, "text": percent(rate), "bar": width(rate)}
            for name, rate in counts.rates().items()
        ],
    }
