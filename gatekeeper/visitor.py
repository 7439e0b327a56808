"""What gatekeeper knows about the person behind a request, computed once per request.

`Identify` builds the `Visitor` at the front of the stack and stores it in the scope;
every later stage, and the app, reads it from there and never recomputes it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl

from .geo import GeoReader, Location
from .language import LanguageNegotiator
from .net import IPAddress, ProxyTrust, parse_ip
from .policy.codes import GROUPS, check_place

log = logging.getLogger("gatekeeper")

SCOPE_KEY = "gatekeeper.visitor"

# The request headers any stage reads. Picking them out in one pass over the raw header
# list is cheaper than each stage scanning it again.
HEADERS = frozenset(
    {
        "accept",
        "accept-language",
        "cf-connecting-ip",
        "cf-ipcountry",
        "cookie",
        "dnt",
        "forwarded",
        "hx-request",
        "origin",
        "sec-fetch-dest",
        "sec-fetch-site",
        "sec-gpc",
        "user-agent",
        "x-forwarded-for",
        "x-gatekeeper-country",
    }
)

# Self-declared crawlers and tools. Headless browsers are not listed: they run our scripts
# and behave like visitors.
_BOT = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|facebookexternalhit|embedly|curl/|wget/|"
    r"python-requests|python-httpx|go-http-client|java/|okhttp|lighthouse|pingdom",
    re.IGNORECASE,
)


class ConsentView(Protocol):
    """What the app may ask of a visitor's consent (filled in by the consent stage)."""

    def allows(self, category: str) -> bool: ...


@dataclass(slots=True)
class Visitor:
    ip: IPAddress | None
    country: str | None
    subdivision: str | None
    language: str
    gpc: bool
    dnt: bool
    bot: bool
    located: bool
    """The location came from a working database, a trusted proxy or debug mode."""
    headers: Mapping[str, str] = field(repr=False, default_factory=dict)
    """The request headers gatekeeper reads, lower-cased names, repeated ones joined."""
    consent: ConsentView | None = None
    adblock: str | None = None

    @property
    def places(self) -> tuple[str, ...]:
        """Most specific first: ("US-CA", "US"), ("GB",) or ()."""
        if self.subdivision and self.country:
            return (self.subdivision, self.country)
        return (self.country,) if self.country else ()


def visitor(request_or_scope: Any) -> Visitor:
    """The Visitor of a request: pass an ASGI scope or any request object with `.scope`
    (Starlette, FastAPI, Django, Litestar, Quart)."""
    scope = getattr(request_or_scope, "scope", request_or_scope)
    try:
        return scope[SCOPE_KEY]
    except (KeyError, TypeError):
        raise LookupError(
            "no gatekeeper visitor on this request: is the app wrapped by Gatekeeper?"
        ) from None


def pick_headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    picked: dict[str, str] = {}
    for name_bytes, value_bytes in raw:
        name = name_bytes.decode("latin-1").lower()
        if name in HEADERS:
            value = value_bytes.decode("latin-1")
            if name in picked:
                separator = "; " if name == "cookie" else ", "
                picked[name] = picked[name] + separator + value
            else:
                picked[name] = value
    return picked


def _debug_place(scope: Mapping[str, Any], headers: Mapping[str, str]) -> str | None:
    wanted = headers.get("x-gatekeeper-country")
    if wanted is None and b"gk_country=" in scope.get("query_string", b""):
        query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
        wanted = query.get("gk_country")
    if not wanted:
        return None
    try:
        place = check_place(wanted)
    except ValueError:
        return None
    return None if place in GROUPS else place  # a group (EEA) is not a location


class Identify:
    """The first stage: builds the Visitor and stores it in the scope."""

    def __init__(
        self,
        app: Any,
        *,
        proxies: ProxyTrust,
        geo: GeoReader | None,
        languages: LanguageNegotiator,
        debug: bool = False,
    ) -> None:
        self.app = app
        self.proxies = proxies
        self.geo = geo
        self.languages = languages
        self.debug = debug

    def identify(self, scope: dict[str, Any]) -> Visitor:
        headers = pick_headers(scope.get("headers", []))
        client = scope.get("client")
        address = self.proxies.resolve(client[0] if client else None, headers)
        location = Location()
        located = False
        if address.proxy_country:
            location = Location(country=address.proxy_country, found=True)
            located = True
        elif address.ip is not None and self.geo is not None:
            location = self.geo.lookup(address.ip)
            located = True
        if self.debug:
            place = _debug_place(scope, headers)
            if place:
                country, _, region = place.partition("-")
                location = Location(country=country, subdivision=place if region else None)
                located = True
        agent = headers.get("user-agent", "")
        return Visitor(
            ip=address.ip,
            country=location.country,
            subdivision=location.subdivision,
            language=self.languages.choose(headers.get("accept-language")),
            gpc=headers.get("sec-gpc", "").strip() == "1",
            dnt=headers.get("dnt", "").strip() == "1",
            bot=bool(agent and _BOT.search(agent)),
            located=located,
            headers=headers,
        )

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        found = self.identify(scope)
        scope[SCOPE_KEY] = found
        # Starlette, FastAPI and Litestar expose scope["state"] as request.state; copy it so
        # a server that shares one state dict between requests never sees another's visitor.
        scope["state"] = {**scope.get("state", {}), "gatekeeper": found}
        await self.app(scope, receive, send)


__all__ = ["SCOPE_KEY", "ConsentView", "Identify", "Visitor", "parse_ip", "visitor"]
