"""What gatekeeper knows about the person behind a request, computed once per request.

`Identifier` reads the request headers in one pass and builds the `Visitor`: address
(through trusted proxies only), location, language, privacy signals, bot or not. Each of
those is derived from raw header bytes that a visitor repeats on every request, so each
is remembered per distinct value (`Memo`). The features then add what they read from
the visitor's cookies (`visitor.consent`, `visitor.adblock`), and every later step, and
the app, read the same object from the scope.

`Visitors` remembers the whole result: the same address with the same Cookie,
User-Agent, Accept-Language and privacy headers is the same visitor until something
time-bound in it runs out (the consent cookie's expiry, the day, a replaced GeoIP
database), so a returning visitor costs one dict lookup and a copy.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import parse_qsl

from .geo import GeoReader
from .language import LanguageNegotiator
from .memo import Memo
from .net import IPAddress, ProxyTrust, parse_ip
from .policy.codes import GROUPS, check_place

SCOPE_KEY = "gatekeeper.visitor"
DEBUG_COOKIE = "gk_debug_place"
"""Debug mode only: the `?gk_country=` a visit asked for, so its assets, baits and beacon
are answered for the same place as its page."""

# Self-declared crawlers and tools. Headless browsers are not listed: they run our scripts
# and behave like visitors.
_BOT = re.compile(
    rb"bot\b|bot/|crawl|spider|slurp|facebookexternalhit|embedly|curl/|wget/|"
    rb"python-requests|python-httpx|go-http-client|java/|okhttp|lighthouse|pingdom",
    re.IGNORECASE,
)
_PROXY_HEADERS = (b"forwarded", b"x-forwarded-for", b"cf-connecting-ip", b"cf-ipcountry")
_NO_HEADERS: Mapping[bytes, bytes] = {}


class ConsentView(Protocol):
    """What the app may ask of a visitor's consent (filled in by the consent feature)."""

    def allows(self, category: str) -> bool: ...


class Visitor:
    """The visitor of one request (`gatekeeper.visitor(request)`)."""

    __slots__ = (
        "adblock",
        "bot",
        "consent",
        "cookies",
        "country",
        "debug_place",
        "dnt",
        "gpc",
        "ip",
        "language",
        "located",
        "raw_headers",
        "subdivision",
        "tcf",
    )

    def __init__(
        self,
        ip: IPAddress | None = None,
        country: str | None = None,
        subdivision: str | None = None,
        language: str = "en",
        gpc: bool = False,
        dnt: bool = False,
        bot: bool = False,
        located: bool = False,
        raw_headers: Mapping[bytes, bytes] = _NO_HEADERS,
        cookies: Mapping[str, str] | None = None,
    ) -> None:
        self.ip = ip
        self.country = country
        self.subdivision = subdivision
        self.language = language
        self.gpc = gpc
        self.dnt = dnt
        self.bot = bot
        self.located = located
        """The location came from a working database, a trusted proxy or debug mode."""
        self.raw_headers = raw_headers
        """The request's headers by lower-case name (bytes); repeated ones joined."""
        self.cookies: Mapping[str, str] = cookies if cookies is not None else {}
        """The request's cookies, parsed once; shared between requests, never mutated."""
        self.consent: ConsentView | None = None
        self.adblock: str | None = None
        self.tcf: Any = None
        self.debug_place: str | None = None
        """Debug mode: a place asked for in the query, to remember in DEBUG_COOKIE."""

    @property
    def places(self) -> tuple[str, ...]:
        """Most specific first: ("US-CA", "US"), ("GB",) or ()."""
        if self.subdivision and self.country:
            return (self.subdivision, self.country)
        return (self.country,) if self.country else ()

    @property
    def headers(self) -> Mapping[str, str]:
        """The request headers as text, lower-case names (decoded on each access)."""
        return {k.decode("latin-1"): v.decode("latin-1") for k, v in self.raw_headers.items()}

    def header(self, name: bytes) -> str:
        """One request header as text, "" when absent."""
        value = self.raw_headers.get(name)
        return value.decode("latin-1") if value is not None else ""

    def renewed(self, raw_headers: Mapping[bytes, bytes]) -> Visitor:
        """A fresh copy for another request with the same identifying bytes: everything
        derived from them shared (all of it immutable), the request's own headers its
        own, nothing a step or the app set on this one's request."""
        twin = _new_visitor(Visitor)
        twin.ip = self.ip
        twin.country = self.country
        twin.subdivision = self.subdivision
        twin.language = self.language
        twin.gpc = self.gpc
        twin.dnt = self.dnt
        twin.bot = self.bot
        twin.located = self.located
        twin.raw_headers = raw_headers
        twin.cookies = self.cookies
        twin.consent = self.consent
        twin.adblock = self.adblock
        twin.tcf = self.tcf
        twin.debug_place = None
        return twin

    def __repr__(self) -> str:
        return (
            f"Visitor(ip={self.ip!r}, country={self.country!r}, "
            f"subdivision={self.subdivision!r}, language={self.language!r}, gpc={self.gpc}, "
            f"bot={self.bot}, consent={self.consent!r}, adblock={self.adblock!r})"
        )


_new_visitor = object.__new__


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


def request_headers(raw: list[tuple[bytes, bytes]]) -> Mapping[bytes, bytes]:
    """Header name -> value. ASGI servers lower-case names; repeated headers (HTTP/2
    splits Cookie, proxies repeat X-Forwarded-For) are joined as their grammar says."""
    fields = dict(raw)
    if len(fields) == len(raw):
        return fields
    joined: dict[bytes, bytes] = {}
    for name, value in raw:
        if name in joined:
            joined[name] += (b"; " if name == b"cookie" else b", ") + value
        else:
            joined[name] = value
    return joined


_Place = tuple[IPAddress | None, str | None, str | None, bool]


class Identifier:
    """Builds the Visitor of a request; compiled once per policy."""

    def __init__(
        self,
        *,
        proxies: ProxyTrust,
        geo: GeoReader | None,
        languages: LanguageNegotiator,
        cookies: Callable[[bytes | None], Mapping[str, str]],
        debug: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.proxies = proxies
        self.geo = geo
        self.debug = debug
        self.cookies = cookies
        self._clock = clock
        self._generation = geo.generation if geo is not None else 0
        self._next_geo_check = clock()
        self._places: Memo[tuple[Any, ...], _Place] = Memo(self._place, 8192)
        self._languages: Memo[bytes, str] = Memo(
            lambda raw: languages.choose(raw.decode("latin-1")), 1024
        )
        self._bots: Memo[bytes, bool] = Memo(lambda raw: _BOT.search(raw) is not None, 4096)
        self.default_language = languages.default
        self._proxied = proxies.configured
        # The headers a Visitor is made of beside the peer address and the five every
        # visitor has (see `key`): the proxy headers where proxies are trusted, the debug
        # header in debug mode.
        self._also_identifying = (
            *(_PROXY_HEADERS if self._proxied else ()),
            *((b"x-gatekeeper-country",) if debug else ()),
        )

    def key(
        self, scope: Mapping[str, Any], headers: Mapping[bytes, bytes]
    ) -> tuple[Any, ...] | None:
        """Every request byte `identify` (and a feature's `read`) depends on, or None when
        the request asks for something of its own (debug mode's `?gk_country=`)."""
        # `bytes.find`, not `in`: `in` first tries the needle as an int and formats a
        # TypeError it then discards, on every request.
        if self.debug and scope.get("query_string", b"").find(b"gk_country=") >= 0:
            return None
        client = scope.get("client")
        get = headers.get
        # Spelled out: every request builds this key, and a literal tuple of five calls
        # costs less than half of a `map` over the names.
        key = (
            client[0] if client else None,
            get(b"cookie"),
            get(b"user-agent"),
            get(b"accept-language"),
            get(b"sec-gpc"),
            get(b"dnt"),
        )
        also = self._also_identifying
        return (*key, *map(get, also)) if also else key

    def generation(self) -> int:
        """The GeoIP database's generation, checked for a replacement when one is due:
        locations found before a change are not to be reused after it."""
        geo = self.geo
        if geo is not None and self._clock() >= self._next_geo_check:
            self._check_geo(geo)
        return self._generation

    def identify(
        self, scope: Mapping[str, Any], headers: Mapping[bytes, bytes] | None = None
    ) -> Visitor:
        if headers is None:
            headers = request_headers(scope["headers"])
        client = scope.get("client")
        peer = client[0] if client else None
        if self._proxied:
            key: tuple[Any, ...] = (peer, *map(headers.get, _PROXY_HEADERS))
        else:
            key = (peer,)
        self.generation()
        ip, country, subdivision, located = self._places[key]
        asked = None
        if self.debug:
            place, asked = _debug_place(scope, headers, self.cookies(headers.get(b"cookie")))
            if place:
                country, _, region = place.partition("-")
                subdivision, located = (place if region else None), True
        language = headers.get(b"accept-language")
        agent = headers.get(b"user-agent")
        found = Visitor(
            ip,
            country,
            subdivision,
            self._languages[language] if language else self.default_language,
            headers.get(b"sec-gpc", b"").strip() == b"1",
            headers.get(b"dnt", b"").strip() == b"1",
            self._bots[agent] if agent else False,
            located,
            headers,
            self.cookies(headers.get(b"cookie")),
        )
        found.debug_place = asked
        return found

    def _check_geo(self, geo: GeoReader) -> None:
        self._next_geo_check = self._clock() + geo.check_interval
        geo.refresh()
        if geo.generation != self._generation:
            self._generation = geo.generation
            self._places.clear()  # answers of the replaced database

    def _place(self, key: tuple[Any, ...]) -> _Place:
        peer = key[0]
        if self._proxied:
            names = [n.decode() for n in _PROXY_HEADERS]
            headers = {n: v.decode("latin-1") for n, v in zip(names, key[1:], strict=True) if v}
            address = self.proxies.resolve(peer, headers)
        else:
            address = self.proxies.resolve(peer, {})
        if address.proxy_country:
            return (address.ip, address.proxy_country, None, True)
        if address.ip is not None and self.geo is not None:
            location = self.geo.lookup(address.ip)
            return (address.ip, location.country, location.subdivision, True)
        return (address.ip, None, None, False)


_Entry = tuple[float, object, Visitor]


class Visitors:
    """The visitors of recent requests, by the request bytes that made them (see
    `Identifier.key`). `readers` are the features' `read(visitor)`: each must depend on
    nothing but those bytes, the location and the time; `until` say how long what they
    read stays true (a consent cookie's expiry); `stamps` name what they read that can be
    replaced meanwhile (the TCF vendor list's edition): a visitor is reused only while
    every stamp is the same object. Nothing is kept past the UTC day, which dated readings
    (TCF) go by."""

    def __init__(
        self,
        identifier: Identifier,
        readers: tuple[Callable[[Visitor], None], ...],
        until: tuple[Callable[[Visitor], float], ...] = (),
        stamps: tuple[Callable[[], object], ...] = (),
        *,
        limit: int = 8192,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.identifier = identifier
        self.readers = readers
        self.until = until
        self.stamps = stamps
        self.clock = clock
        self._seen: Memo[tuple[Any, ...], _Entry] = Memo(_no_compute, limit)

    def visitor(self, scope: Mapping[str, Any]) -> Visitor:
        """The Visitor of this request, with what every feature reads set."""
        headers = request_headers(scope["headers"])
        identifier = self.identifier
        key = identifier.key(scope, headers)
        now = self.clock()
        generation: object = identifier.generation()
        if self.stamps:
            generation = (generation, *[stamp() for stamp in self.stamps])
        if key is not None:
            entry = self._seen.get(key)
            if entry is not None and now < entry[0] and entry[1] == generation:
                return entry[2].renewed(headers)
        found = identifier.identify(scope, headers)
        for read in self.readers:
            read(found)
        if key is not None:
            deadline = (now // 86400 + 1) * 86400
            for until in self.until:
                deadline = min(deadline, until(found))
            self._seen.remember(key, (deadline, generation, found.renewed(headers)))
        return found


def _no_compute(key: tuple[Any, ...]) -> _Entry:
    raise KeyError(key)


def _debug_place(
    scope: Mapping[str, Any], headers: Mapping[bytes, bytes], cookies: Mapping[str, str]
) -> tuple[str | None, str | None]:
    """(the place to act as, the place the query asked for to remember) in debug mode:
    the header first, then `?gk_country=`, then the visit's debug cookie."""
    asked = None
    wanted = headers.get(b"x-gatekeeper-country", b"").decode("latin-1")
    if not wanted and scope.get("query_string", b"").find(b"gk_country=") >= 0:
        query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
        wanted = asked = query.get("gk_country", "")
    if not wanted:
        wanted = cookies.get(DEBUG_COOKIE, "")
    if not wanted:
        return None, None
    try:
        place = check_place(wanted)
    except ValueError:
        return None, None
    if place in GROUPS:
        return None, None  # a group (EEA) is not a location
    return place, (place if asked is not None and cookies.get(DEBUG_COOKIE) != place else None)


__all__ = [
    "DEBUG_COOKIE",
    "SCOPE_KEY",
    "ConsentView",
    "Identifier",
    "Visitor",
    "Visitors",
    "parse_ip",
    "visitor",
]
