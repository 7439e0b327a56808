"""The demo news site: "The Harbour Ledger", a made-up local paper.

A plain Starlette app with no knowledge of gatekeeper. It behaves like the sites
gatekeeper is written for: every HTML page sets an analytics cookie (`_ga`) and carries
tagged analytics scripts (`data-consent="analytics"`), so the demo can show the middleware
dropping the cookie and keeping the scripts inert until the visitor agrees.

It is laid out like any small site: the text is data (`content/`, read by `articles`),
the markup is Jinja templates (`templates/`, autoescaped), the styles, script and
pictures are static files (`static/`). Routes: `/`, `/articles/{slug}`, `/privacy`,
`/contact`, `/api/articles` (JSON) and the static files under `/assets/`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from .articles import ARTICLES, SITE, SUBSCRIBE_SLUG, Article, Site

__all__ = ["ARTICLES", "SUBSCRIBE_SLUG", "create_app"]

HERE = Path(__file__).resolve().parent
DEFAULT_CONSENT_PATH = "/_gatekeeper/consent"

ANALYTICS_COOKIE = "_ga"
EDITION_COOKIE = "hl_edition"
ANALYTICS_MAX_AGE = 2 * 365 * 24 * 60 * 60  # two years, as Google Analytics does
_GA_VALUE = re.compile(r"GA1\.\d\.\d{6,12}\.\d{9,11}")

ASSET_CACHE_CONTROL = "public, max-age=3600"
_MEDIA_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def long_date(day: date) -> str:
    """ "24 November 2026", whatever the process's locale."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


@dataclass(frozen=True, slots=True)
class StaticFile:
    body: bytes
    media_type: str
    etag: str


def load_assets(folder: Path = HERE / "static") -> dict[str, StaticFile]:
    """Every file in `folder` by name, with an ETag of its content."""
    assets = {}
    for path in sorted(folder.iterdir()):
        body = path.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        assets[path.name] = StaticFile(body, _MEDIA_TYPES[path.suffix], etag)
    return assets


def environment() -> jinja2.Environment:
    """The site's templates: autoescaped, and strict about missing values."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["long_date"] = long_date
    return env


def render_page(name: str, site: Site = SITE, **context: Any) -> str:
    """One template of the site, rendered (for pages added around the site, such as the
    partners' page of `gatekeeper demo --tcf`)."""
    return environment().get_template(name).render(site=site, **context)


def render_pages(
    consent_path: str | None,
    articles: tuple[Article, ...] = ARTICLES,
    site: Site = SITE,
) -> dict[str, str]:
    """Every page, by name: "home", "articles/SLUG", "privacy", "contact" and
    "contact-sent", "not-found"."""
    env = environment()

    def render(name: str, **context: Any) -> str:
        return env.get_template(name).render(site=site, **context)

    def others(current: Article) -> list[Article]:
        return [article for article in articles if article is not current]

    lead = articles[0]
    pages = {
        "home": render("home.html", lead=lead, others=others(lead)),
        f"articles/{SUBSCRIBE_SLUG}": render("subscribe.html", articles=articles),
        "privacy": render("privacy.html", consent_path=consent_path),
        "contact": render("contact.html", sent=False),
        "contact-sent": render("contact.html", sent=True),
        "not-found": render("not_found.html", articles=articles),
    }
    for article in articles:
        pages[f"articles/{article.slug}"] = render(
            "article.html", article=article, others=others(article)
        )
    return pages


def _analytics_cookie_value(request: Request) -> str:
    current = request.cookies.get(ANALYTICS_COOKIE, "")
    if _GA_VALUE.fullmatch(current):
        return current  # keep the visitor's id, refresh the expiry (as the real tag does)
    return f"GA1.1.{secrets.randbelow(900_000_000) + 100_000_000}.{int(time.time())}"


def _html(request: Request, content: str, status_code: int = 200) -> HTMLResponse:
    response = HTMLResponse(content, status_code=status_code)
    response.set_cookie(
        ANALYTICS_COOKIE,
        _analytics_cookie_value(request),
        max_age=ANALYTICS_MAX_AGE,
        path="/",
        samesite="lax",
    )
    return response


def create_app(*, consent_path: str | None = DEFAULT_CONSENT_PATH) -> Starlette:
    """The demo news site.

    `consent_path` is where the privacy page's "withdraw" form posts (gatekeeper's
    consent endpoint); None leaves the form out.
    """
    # The pages do not change between requests: render them once.
    pages = render_pages(consent_path)
    assets = load_assets()
    api_articles_body = [
        {
            "slug": item.slug,
            "title": item.title,
            "summary": item.summary,
            "published": item.published.isoformat(),
            "url": item.url,
        }
        for item in ARTICLES
    ]

    async def home(request: Request) -> Response:
        response = _html(request, pages["home"])
        # A cookie the demo's policy does not list: the cookie inventory flags it.
        response.set_cookie(EDITION_COOKIE, "coast", max_age=30 * 86400, samesite="lax")
        return response

    async def article(request: Request) -> Response:
        page = pages.get(f"articles/{request.path_params['slug']}")
        if page is None:
            raise HTTPException(404)
        return _html(request, page)

    async def privacy(request: Request) -> Response:
        return _html(request, pages["privacy"])

    async def contact(request: Request) -> Response:
        # A submitted form (any field filled in) is thanked; nothing is kept or echoed.
        sent = any(request.query_params.get(name) for name in ("name", "email", "topic", "message"))
        return _html(request, pages["contact-sent" if sent else "contact"])

    async def api_articles(request: Request) -> Response:
        return JSONResponse(api_articles_body)

    async def asset(request: Request) -> Response:
        found = assets.get(request.path_params["name"])
        if found is None:
            raise HTTPException(404)
        headers = {
            "Cache-Control": ASSET_CACHE_CONTROL,
            "ETag": found.etag,
            "X-Content-Type-Options": "nosniff",
        }
        if found.etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(found.body, media_type=found.media_type, headers=headers)

    async def not_found(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        return _html(request, pages["not-found"], status_code=404)

    return Starlette(
        routes=[
            Route("/", home),
            Route("/articles/{slug}", article),
            Route("/privacy", privacy),
            Route("/contact", contact),
            Route("/api/articles", api_articles),
            Route("/assets/{name}", asset),
        ],
        exception_handlers={404: not_found},
    )
