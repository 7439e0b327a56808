"""The apps the benchmarks compare, built the same way for every mode.

(a) bare: a Starlette app with a 20 KB article page (ETag/304 support), a 200 KB one and a
    JSON endpoint; both pages set the analytics cookie `_ga` and tag a script;
(b) gatekeeper: the same app wrapped by Gatekeeper with the full demo policy;
(c) naive: the same app behind a BaseHTTPMiddleware that buffers the body and does a string
    replace, the way most tutorials inject a banner.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from gatekeeper import Gatekeeper
from gatekeeper.demo import write_policy

PARAGRAPH = (
    "<p>The harbour board met on Tuesday to weigh the cost of dredging the inner basin "
    "against the fees the new moorings would bring, and agreed to publish the figures.</p>\n"
)


def article(size: int = 20 * 1024) -> bytes:
    head = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Bench</title>'
        '<script data-consent="analytics" src="/a.js"></script></head><body><main><h1>News</h1>'
    )
    body = PARAGRAPH * (size // len(PARAGRAPH))
    return (head + body + "</main></body></html>").encode()


PAGE = article()
LONG_PAGE = article(200 * 1024)
ETAG = '"' + hashlib.sha256(PAGE).hexdigest()[:16] + '"'


async def page(request: Request) -> Response:
    if request.headers.get("if-none-match") == ETAG:
        return Response(status_code=304, headers={"etag": ETAG})
    response = HTMLResponse(PAGE, headers={"etag": ETAG})
    response.set_cookie("_ga", "GA1.1.1.1", max_age=63072000)
    return response


async def long_page(request: Request) -> Response:
    response = HTMLResponse(LONG_PAGE)
    response.set_cookie("_ga", "GA1.1.1.1", max_age=63072000)
    return response


async def api(request: Request) -> JSONResponse:
    return JSONResponse({"articles": [{"slug": f"a{i}", "title": "News"} for i in range(10)]})


def bare() -> Starlette:
    return Starlette(routes=[Route("/", page), Route("/long", long_page), Route("/api", api)])


class NaiveBanner(BaseHTTPMiddleware):
    BANNER = b'<div class="cookie-banner">We use cookies. <button>OK</button></div>'

    async def dispatch(self, request, call_next):
        response = await call_next(request)
        if not response.headers.get("content-type", "").startswith("text/html"):
            return response
        body = b"".join([chunk async for chunk in response.body_iterator])
        body = body.replace(b"</body>", self.BANNER + b"</body>")
        headers = {k: v for k, v in response.headers.items() if k != "content-length"}
        return Response(body, status_code=response.status_code, headers=headers)


def naive() -> Starlette:
    app = bare()
    app.add_middleware(NaiveBanner)
    return app


def demo_policy(data: Path) -> Path:
    """The demo's full policy (consent, adblock, notices, country blocks) in `data`."""
    os.environ.setdefault("GATEKEEPER_SECRET", secrets.token_urlsafe(40))
    return write_policy(data)


def wrapped(data: Path) -> Gatekeeper:
    return Gatekeeper(bare(), policy=demo_policy(data))


# Factories for `uvicorn --factory` in the end-to-end mode; the data folder comes from
# the environment because uvicorn imports them in its own process.
def bare_factory() -> Starlette:
    return bare()


def naive_factory() -> Starlette:
    return naive()


def gatekeeper_factory() -> Gatekeeper:
    return wrapped(Path(os.environ["GATEKEEPER_BENCH_DATA"]))


def unlimited_factory() -> Gatekeeper:
    """The demo policy with the per-network limit on consent posts lifted: wrk posts from
    one address, and what the consent benchmark measures is the log, not the limit."""
    path = demo_policy(Path(os.environ["GATEKEEPER_BENCH_DATA"]))
    text = path.read_text(encoding="utf-8")
    unlimited = path.with_name("unlimited.yaml")
    unlimited.touch(mode=0o600)  # it holds the demo's secret, as policy.yaml does
    unlimited.write_text(
        text + "\nlimits:\n  consent:\n    per_minute: 100000000\n    burst: 1000000\n",
        encoding="utf-8",
    )
    return Gatekeeper(bare(), policy=unlimited)
