"""Litestar, wrapped from the outside.

    export GATEKEEPER_SECRET=...   # 32+ characters
    uvicorn examples.litestar_app:app --no-proxy-headers  # or hypercorn, granian

Wrap the Litestar app itself, `Gatekeeper(Litestar(...), policy=...)`, rather than
listing gatekeeper in `Litestar(middleware=[...])`: Litestar runs that middleware only
for requests that matched a route handler, so gatekeeper's own endpoints
(`/_gatekeeper/consent`, ...) would answer 404 and blocked countries would reach
unmatched paths.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, get
from litestar.datastructures import Cookie
from litestar.response import Response

import gatekeeper
from gatekeeper import Gatekeeper, Visitor

POLICY = Path(__file__).with_name("policy.yaml")

PAGE = """<!doctype html>
<html lang="{language}">
<head><meta charset="utf-8"><title>Litestar example</title></head>
<body>
<h1>Litestar, wrapped by gatekeeper</h1>
<dl>
<dt>Country</dt><dd id="country">{country}</dd>
<dt>Language</dt><dd id="language">{language}</dd>
<dt>Analytics allowed</dt><dd id="analytics">{analytics}</dd>
<dt>Ad blocker</dt><dd id="adblock">{adblock}</dd>
</dl>
</body>
</html>
"""


@get("/", media_type="text/html; charset=utf-8")
async def home(request: Request[Any, Any, Any]) -> Response[str]:
    visitor = gatekeeper.visitor(request)
    analytics = visitor.consent is not None and visitor.consent.allows("analytics")
    page = PAGE.format(
        country=escape(visitor.country or "unknown"),
        language=escape(visitor.language),
        analytics="yes" if analytics else "no",
        adblock=escape(visitor.adblock or "not checked"),
    )
    # Set on every response, as third-party tag code does. gatekeeper removes it from the
    # response until the visitor allows analytics.
    tracker = Cookie(key="_ga", value="GA1.1.1234567890.1700000000", max_age=63072000)
    return Response(page, media_type="text/html; charset=utf-8", cookies=[tracker])


@get("/api/visitor")
async def visitor_json(request: Request[Any, Any, Any]) -> dict[str, Any]:
    # Litestar's request.state is a view of scope["state"], where gatekeeper put it too.
    visitor: Visitor = request.state.gatekeeper
    return {
        "country": visitor.country,
        "subdivision": visitor.subdivision,
        "language": visitor.language,
        "analytics": visitor.consent is not None and visitor.consent.allows("analytics"),
        "adblock": visitor.adblock,
    }


app = Gatekeeper(Litestar(route_handlers=[home, visitor_json]), policy=POLICY)
