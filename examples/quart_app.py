"""Quart, wrapped through `app.asgi_app`, the Quart (and Flask) way to add ASGI middleware.

    export GATEKEEPER_SECRET=...   # 32+ characters
    uvicorn examples.quart_app:app --no-proxy-headers     # or hypercorn, granian

Replacing `app.asgi_app` keeps `app` a Quart object (`app.run()`, `app.test_client()` and
extensions keep working) while every request goes through gatekeeper. Quart ends every
response with an empty body message; gatekeeper's injector handles it like any chunk.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from html import escape
from pathlib import Path
from typing import Any

from quart import Quart, Response, request

import gatekeeper
from gatekeeper import Gatekeeper

POLICY = Path(__file__).with_name("policy.yaml")

PAGE = """<!doctype html>
<html lang="{language}">
<head><meta charset="utf-8"><title>Quart example</title></head>
<body>
<h1>Quart, wrapped by gatekeeper</h1>
<dl>
<dt>Country</dt><dd id="country">{country}</dd>
<dt>Language</dt><dd id="language">{language}</dd>
<dt>Analytics allowed</dt><dd id="analytics">{analytics}</dd>
<dt>Ad blocker</dt><dd id="adblock">{adblock}</dd>
</dl>
</body>
</html>
"""

app = Quart(__name__)


def _facts() -> dict[str, str]:
    # Quart's `request` proxy exposes the ASGI scope as request.scope.
    visitor = gatekeeper.visitor(request)
    analytics = visitor.consent is not None and visitor.consent.allows("analytics")
    return {
        "country": escape(visitor.country or "unknown"),
        "language": escape(visitor.language),
        "analytics": "yes" if analytics else "no",
        "adblock": escape(visitor.adblock or "not checked"),
    }


@app.get("/")
async def home() -> Response:
    response = Response(PAGE.format(**_facts()), mimetype="text/html")
    # Set on every response, as third-party tag code does. gatekeeper removes it from the
    # response until the visitor allows analytics.
    response.set_cookie("_ga", "GA1.1.1234567890.1700000000", max_age=63072000)
    return response


@app.get("/stream")
async def stream() -> Response:
    facts = _facts()

    async def chunks() -> AsyncIterator[bytes]:
        yield f'<!doctype html>\n<html lang="{facts["language"]}">\n<head></head>\n'.encode()
        yield b"<body>\n<h1>A streamed Quart page</h1>\n"
        for number in range(1, 4):
            yield f"<p>Chunk {number} for a visitor from {facts['country']}.</p>\n".encode()
        yield b"</body>\n</html>\n"

    return Response(chunks(), mimetype="text/html")


@app.get("/api/visitor")
async def visitor_json() -> dict[str, Any]:
    visitor = gatekeeper.visitor(request)
    return {
        "country": visitor.country,
        "subdivision": visitor.subdivision,
        "language": visitor.language,
        "analytics": visitor.consent is not None and visitor.consent.allows("analytics"),
        "adblock": visitor.adblock,
    }


app.asgi_app = Gatekeeper(app.asgi_app, policy=POLICY)  # type: ignore[method-assign]
