"""Decisions by mode and by day, with acceptance rates as bars and charts over time."""

from __future__ import annotations

from ...endpoints import Request, Response
from ...i18n import builtin
from .. import present
from ..charts import charts
from .filters import Filters
from .frame import Frame

ALL = builtin("All")


async def stats(frame: Frame, request: Request) -> Response:
    params = request.query()
    filters = Filters.parse({k: params[k] for k in ("since", "until", "country") if k in params})
    summary = await frame.log.stats(filters.query())
    return frame.page(
        "audit_stats.html",
        title=builtin("Statistics"),
        current="/stats",
        filters=filters,
        total=present.tally(frame.text(ALL), summary.total),
        by_mode=[present.tally(mode, t) for mode, t in sorted(summary.by_mode.items())],
        by_day=[
            {"day": day, **present.tally(mode, t)}
            for (day, mode), t in sorted(summary.by_day.items())
        ],
        charts=charts(summary.days()),
        report_url=frame.url(
            "/report.html", **{k: v for k, v in filters.params().items() if k != "country"}
        ),
    )
