"""Plain Starlette, for `gatekeeper serve`, which wraps the app and runs it under uvicorn:

    export GATEKEEPER_SECRET=...   # 32+ characters
    gatekeeper serve examples.starlette_app:app --policy examples/policy.yaml

`app` is deliberately *not* wrapped here: `gatekeeper serve` wraps what it is given, and
wrapping twice would put every notice on the page twice. To run it under another ASGI
server, wrap it in a module of your own:

    from gatekeeper import Gatekeeper
    from examples.starlette_app import app as site

    app = Gatekeeper(site, policy="examples/policy.yaml")
"""

from __future__ import annotations

from html import escape

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

import gatekeeper

PAGE = """<!doctype html>
<html lang="{language}">
<head><meta charset="utf-8"><title>Starlette example</title></head>
<body>
<h1>Starlette, wrapped by gatekeeper</h1>
<dl>
<dt>Country</dt><dd id="country">{country}</dd>
<dt>Language</dt><dd id="language">{language}</dd>
<dt>Analytics allowed</dt><dd id="analytics">{analytics}</dd>
<dt>Ad blocker</dt><dd id="adblock">{adblock}</dd>
</dl>
</body>
</html>
"""


async def home(request: Request) -> HTMLResponse:
    visitor = gatekeeper.visitor(request)
    analytics = visitor.consent is not None and visitor.consent.allows("analytics")
    response = HTMLResponse(
        PAGE.format(
            country=escape(visitor.country or "unknown"),
            language=escape(visitor.language),
            analytics="yes" if analytics else "no",
            adblock=escape(visitor.adblock or "not checked"),
        )
    )
    # Set on every response, as third-party tag code does. gatekeeper removes it from the
    # response until the visitor allows analytics, so the app need not remember to.
    response.set_cookie("_ga", "GA1.1.1234567890.1700000000", max_age=63072000)
    return response


async def visitor_json(request: Request) -> JSONResponse:
    # The same Visitor as gatekeeper.visitor(request), reached through request.state.
    visitor: gatekeeper.Visitor = request.state.gatekeeper
    return JSONResponse(
        {
            "country": visitor.country,
            "subdivision": visitor.subdivision,
            "language": visitor.language,
            "analytics": visitor.consent is not None and visitor.consent.allows("analytics"),
            "adblock": visitor.adblock,
        }
    )


app = Starlette(routes=[Route("/", home), Route("/api/visitor", visitor_json)])
