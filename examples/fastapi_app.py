"""FastAPI, wrapped with `app.add_middleware`, behind GZip; the visitor as a dependency.

    export GATEKEEPER_SECRET=...   # 32+ characters
    uvicorn examples.fastapi_app:app --no-proxy-headers   # or hypercorn, granian

FastAPI builds its middleware stack on the first request (or at lifespan startup), so the
policy is read then, not at import.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from starlette.middleware.gzip import GZipMiddleware

import gatekeeper
from gatekeeper import Gatekeeper, Visitor
from gatekeeper.fastapi import CurrentVisitor, current_visitor

POLICY = Path(__file__).with_name("policy.yaml")

PAGE = """<!doctype html>
<html lang="{language}">
<head><meta charset="utf-8"><title>FastAPI example</title></head>
<body>
<h1>FastAPI, wrapped by gatekeeper</h1>
<dl>
<dt>Country</dt><dd id="country">{country}</dd>
<dt>Language</dt><dd id="language">{language}</dd>
<dt>Analytics allowed</dt><dd id="analytics">{analytics}</dd>
<dt>Ad blocker</dt><dd id="adblock">{adblock}</dd>
</dl>
<p>{filler}</p>
</body>
</html>
"""

app = FastAPI(title="gatekeeper FastAPI example")
# Middleware added last runs first. Gatekeeper goes in before GZip, so GZip is outside it:
# gatekeeper must see the page as plain HTML to put its notices in, and GZip then
# compresses the page with the notices.
app.add_middleware(Gatekeeper, policy=POLICY)
app.add_middleware(GZipMiddleware, minimum_size=500)


@app.get("/", response_class=HTMLResponse)
async def home(request: Request) -> HTMLResponse:
    visitor = gatekeeper.visitor(request)
    analytics = visitor.consent is not None and visitor.consent.allows("analytics")
    response = HTMLResponse(
        PAGE.format(
            country=escape(visitor.country or "unknown"),
            language=escape(visitor.language),
            analytics="yes" if analytics else "no",
            adblock=escape(visitor.adblock or "not checked"),
            filler="Long enough to be worth compressing. " * 20,
        )
    )
    # Set on every response, as third-party tag code does. gatekeeper removes it from the
    # response until the visitor allows analytics.
    response.set_cookie("_ga", "GA1.1.1234567890.1700000000", max_age=63072000)
    return response


@app.get("/api/visitor")
async def visitor_json(
    visitor: Annotated[Visitor, Depends(current_visitor)],
) -> dict[str, object]:
    return {
        "country": visitor.country,
        "subdivision": visitor.subdivision,
        "language": visitor.language,
        "analytics": visitor.consent is not None and visitor.consent.allows("analytics"),
        "adblock": visitor.adblock,
    }


@app.get("/api/language")
async def language(visitor: CurrentVisitor) -> dict[str, str]:
    # `CurrentVisitor` is the annotation above under a short name: the same dependency.
    return {"language": visitor.language}
