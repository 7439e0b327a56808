"""The cookie inventory: every cookie the app was seen setting, unlisted ones flagged
until the policy lists them, and gatekeeper's own cookies with purpose and lifetime."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ...endpoints import Request, Response
from ...i18n import builtin
from .frame import Frame

log = logging.getLogger("gatekeeper.audit")


async def cookies(frame: Frame, request: Request) -> Response:
    data: Mapping[str, Any] | None = None
    if frame.cookie_inventory is not None:
        try:
            data = await frame.cookie_inventory(frame.language)
        except Exception as exc:  # the feature's own errors: this package cannot name them
            log.warning("auditor view: the cookie inventory is unavailable: %s", exc)
            return frame.page(
                "audit_error.html",
                status=503,
                title=builtin("The cookie inventory cannot be read right now"),
                message=builtin("The database did not answer. Try again in a moment."),
                login=False,
                nav=True,
                current="/cookies",
            )
    return frame.page(
        "audit_cookies.html",
        title=builtin("Cookie inventory"),
        current="/cookies",
        off=data is None,
        seen=list((data or {}).get("app", ())),
        own=list((data or {}).get("gatekeeper", ())),
        unlisted=int((data or {}).get("unlisted", 0)),
        counted_as=(data or {}).get("unlisted_cookies", ""),
    )
