"""Adblock verdicts and blocked rates by day, country and path group."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ...endpoints import Request, Response
from ...i18n import builtin
from .. import present
from .frame import Frame

log = logging.getLogger("gatekeeper.audit")

ADBLOCK_VERDICTS = ("blocked", "allowed", "no_js", "unknown")
TABLES = (
    (
        "by_day",
        builtin("By day"),
        builtin("Adblock verdicts and the blocked rate, by day"),
        builtin("Day"),
    ),
    (
        "by_country",
        builtin("By country"),
        builtin("Adblock verdicts and the blocked rate, by country"),
        builtin("Country"),
    ),
    (
        "by_path",
        builtin("By path group"),
        builtin("Adblock verdicts and the blocked rate, by path group"),
        builtin("Path group"),
    ),
)


def adblock_row(row: Mapping[str, Any]) -> dict[str, Any]:
    rate = row.get("blocked_rate")
    return {
        "key": str(row.get("key", "")),
        "counts": [int(row.get(verdict, 0)) for verdict in ADBLOCK_VERDICTS],
        "views": int(row.get("views", 0)),
        "rate": present.percent(rate),
        "bar": present.width(rate),
    }


async def adblock(frame: Frame, request: Request) -> Response:
    data: Mapping[str, Any] | None = None
    if frame.adblock_rates is not None:
        try:
            data = await frame.adblock_rates()
        except Exception as exc:  # the feature's own errors: this package cannot name them
            log.warning("auditor view: the adblock counts are unavailable: %s", exc)
            return frame.page(
                "audit_error.html",
                status=503,
                title=builtin("The adblock counts cannot be read right now"),
                message=builtin("The database did not answer. Try again in a moment."),
                login=False,
                nav=True,
                current="/adblock",
            )
    total = adblock_row(data.get("total") or {}) if data else None
    return frame.page(
        "audit_adblock.html",
        title=builtin("Adblock rates"),
        current="/adblock",
        off=data is None,
        verdicts=ADBLOCK_VERDICTS,
        total=total if total and total["views"] else None,
        tables=[
            {
                "id": name,
                "heading": heading,
                "caption": caption,
                "column": column,
                "rows": [adblock_row(row) for row in (data or {}).get(name, ())],
            }
            for name, heading, caption, column in TABLES
        ],
    )
