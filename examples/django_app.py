"""A whole Django project in one file, configured in code, wrapped by gatekeeper.

    export GATEKEEPER_SECRET=...   # 32+ characters
    uvicorn examples.django_app:application --no-proxy-headers  # or hypercorn, granian

Django's ASGI handler is an ordinary ASGI app, so gatekeeper wraps it from the outside:
`Gatekeeper(get_asgi_application(), policy=...)`. In a real project that line goes in
`asgi.py`. What this example shows:

- `/`: the visitor in a Django view, a form protected by Django's CSRF middleware and a
  signed-cookie session. `csrftoken` and `sessionid` are listed under `necessary` in the
  policy, so gatekeeper leaves them alone before any consent.
- `/stream`: a `StreamingHttpResponse`. Django sends it in chunks and ends with an empty
  body message; gatekeeper injects into it while it streams.
- `/api/visitor`: the visitor as JSON.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from html import escape
from pathlib import Path

from django.conf import settings

POLICY = Path(__file__).with_name("policy.yaml")

if not settings.configured:  # a test process may import this module more than once
    settings.configure(
        DEBUG=False,
        # Django's own signing key (sessions, CSRF); not gatekeeper's.
        SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret-" + "x" * 32),
        ALLOWED_HOSTS=os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1").split(","),
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=[],
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
        ],
        # Sessions in a signed cookie: no database for a one-file example.
        SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
        USE_TZ=True,
    )

from django.core.asgi import get_asgi_application  # noqa: E402 (needs settings first)
from django.http import (  # noqa: E402
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.middleware.csrf import get_token  # noqa: E402
from django.urls import path  # noqa: E402

import gatekeeper  # noqa: E402
from gatekeeper import Gatekeeper  # noqa: E402

PAGE = """<!doctype html>
<html lang="{language}">
<head><meta charset="utf-8"><title>Django example</title></head>
<body>
<h1>Django, wrapped by gatekeeper</h1>
<dl>
<dt>Country</dt><dd id="country">{country}</dd>
<dt>Language</dt><dd id="language">{language}</dd>
<dt>Analytics allowed</dt><dd id="analytics">{analytics}</dd>
<dt>Ad blocker</dt><dd id="adblock">{adblock}</dd>
<dt>Visits this session</dt><dd id="visits">{visits}</dd>
</dl>
<form method="post" action="/">
<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">
<label for="note">Note</label> <input id="note" name="note">
<button type="submit">Send</button>
</form>
<p id="posted">{posted}</p>
</body>
</html>
"""


def _facts(request: HttpRequest) -> dict[str, str]:
    # Django's ASGIRequest keeps the ASGI scope as request.scope: gatekeeper.visitor() reads
    # the Visitor from it.
    visitor = gatekeeper.visitor(request)
    analytics = visitor.consent is not None and visitor.consent.allows("analytics")
    return {
        "country": escape(visitor.country or "unknown"),
        "language": escape(visitor.language),
        "analytics": "yes" if analytics else "no",
        "adblock": escape(visitor.adblock or "not checked"),
    }


def home(request: HttpRequest) -> HttpResponse:
    visits = int(request.session.get("visits", 0)) + 1
    request.session["visits"] = visits  # sets the sessionid cookie
    posted = request.POST.get("note", "") if request.method == "POST" else ""
    response = HttpResponse(
        PAGE.format(
            **_facts(request),
            visits=visits,
            csrf=get_token(request),  # sets the csrftoken cookie
            posted=escape(f"You sent: {posted}" if posted else ""),
        )
    )
    # Set on every response, as third-party tag code does. gatekeeper removes it from the
    # response until the visitor allows analytics.
    response.set_cookie("_ga", "GA1.1.1234567890.1700000000", max_age=63072000)
    return response


async def _chunks(facts: dict[str, str]) -> AsyncIterator[str]:
    # An async iterator: under ASGI, Django warns about (and buffers) sync iterators.
    yield f'<!doctype html>\n<html lang="{facts["language"]}">\n'
    yield "<head><meta charset='utf-8'><title>Streamed</title></head>\n<body>\n"
    yield "<h1>A streamed Django page</h1>\n"
    for number in range(1, 6):
        yield f"<p>Chunk {number} for a visitor from {facts['country']}.</p>\n"
    yield "</body>\n</html>\n"


def stream(request: HttpRequest) -> StreamingHttpResponse:
    return StreamingHttpResponse(_chunks(_facts(request)), content_type="text/html")


def visitor_json(request: HttpRequest) -> JsonResponse:
    visitor = gatekeeper.visitor(request)
    return JsonResponse(
        {
            "country": visitor.country,
            "subdivision": visitor.subdivision,
            "language": visitor.language,
            "analytics": visitor.consent is not None and visitor.consent.allows("analytics"),
            "adblock": visitor.adblock,
        }
    )


urlpatterns = [
    path("", home),
    path("stream", stream),
    path("api/visitor", visitor_json),
]

application = Gatekeeper(get_asgi_application(), policy=POLICY)
