"""Country rules: which visitors may use which paths, and the answer for those who may not.

`CountryRules` turns the policy's `geoblock` section into a `Decision` for a visitor and
a path; `Refusal` builds the answer to a blocked request (451 per RFC 7725, or 403, as a
page or an RFC 9457 problem document), so the app never sees it. Websocket handshakes
obey the same rules.

How a decision is made, first answer wins:

1. exempt paths (the policy's, plus gatekeeper's own static assets the block page needs)
   and exempt networks let the request through;
2. an anonymous address (VPN, proxy, Tor) is blocked when `geoblock.anonymous: block`;
3. an unknown location is decided by `geoblock.unknown` (by `geoip.on_missing` when the
   configured database could not be opened);
4. `geoblock.deny` and `geoblock.allow` hold for the whole site;
5. the first per-path rule whose globs match the path decides for that path.

Global lists are checked before per-path rules so "blocked from the whole site" stays
true whatever a path rule says; exemptions are the one way to open a path.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote, urljoin

from starlette.types import Scope

from .counters import Counters, Table, day_of
from .geo import GeoDatabaseError, GeoReader, Location
from .html.render import localise
from .http import Headers, request_host
from .memo import Memo
from .net import IPAddress
from .policy import Policy, compile_globs
from .policy.codes import expand
from .policy.sections.geo import GeoRuleSettings
from .visitor import Visitor

__all__ = [
    "BLOCKS",
    "BlockCounter",
    "CountryRules",
    "Decision",
    "Refusal",
    "compile_globs",
    "decide_address",
    "geo_findings",
    "policy_findings",
    "wants_problem_json",
]


log = logging.getLogger("gatekeeper.geoblock")


class AnonymityCheck(Protocol):
    """What the rules need of an Anonymous-IP reader (`gatekeeper.geo.anonymous`)."""

    def is_anonymous(self, ip: IPAddress) -> bool: ...


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a request is blocked, and the part of the policy that said so."""

    blocked: bool
    rule: str


ALLOWED = Decision(False, "allowed")
EXEMPT_PATH = Decision(False, "exempt path")
EXEMPT_NETWORK = Decision(False, "exempt network")
ANONYMOUS = Decision(True, "geoblock.anonymous")


@dataclass(frozen=True, slots=True)
class _PathRule:
    name: str
    matches: Callable[[str], bool]
    places: frozenset[str]
    only_listed: bool
    """True for an allow list (only these places enter), False for a deny list."""

    def decide(self, places: tuple[str, ...]) -> Decision:
        listed = any(place in self.places for place in places)
        return Decision(listed != self.only_listed, self.name)


class _Networks:
    """Membership in a fixed set of networks, as integer mask tests."""

    def __init__(self, networks: Iterable[str]) -> None:
        parsed = [ipaddress.ip_network(n, strict=False) for n in networks]
        self._by_version = {
            version: tuple(
                (int(n.netmask), int(n.network_address)) for n in parsed if n.version == version
            )
            for version in (4, 6)
        }

    def __contains__(self, ip: IPAddress) -> bool:
        value = int(ip)
        return any(value & mask == prefix for mask, prefix in self._by_version[ip.version])


class CountryRules:
    """The policy's `geoblock` section, prepared once; `decide` is called per request."""

    def __init__(
        self,
        policy: Policy,
        *,
        anonymous: AnonymityCheck | None = None,
        geo_available: bool = True,
    ) -> None:
        config = policy.geoblock
        exempt_path = compile_globs((*config.exempt.paths, f"{policy.prefix}/static/*"))
        # Paths and places repeat from request to request: each answer is kept.
        self._exempt_path: Memo[str, bool] = Memo(exempt_path, 4096)
        self._exempt_networks = (
            _Networks(config.exempt.networks) if config.exempt.networks else None
        )
        # Without `block` there is nothing to ask the database, so it is never consulted.
        self._anonymous = anonymous if config.anonymous == "block" else None
        self._deny = expand(config.deny)
        self._allow = expand(config.allow) if config.allow is not None else None
        self._rules = tuple(_path_rule(index, rule) for index, rule in enumerate(config.rules))
        self._unknown = Decision(_unknown_blocked(policy, geo_available), "geoblock.unknown")
        self._passed = Decision(False, "geoblock.allow") if self._allow is not None else ALLOWED
        self._denied = Decision(True, "geoblock.deny")
        self._not_allowed = Decision(True, "geoblock.allow")
        self._decided: Memo[tuple[tuple[str, ...], str | None], Decision] = Memo(
            lambda key: self._by_place(key[0], key[1] or ""), 8192
        )

    def decide(self, visitor: Visitor, path: str) -> Decision:
        if self._exempt_path[path]:
            return EXEMPT_PATH
        ip = visitor.ip
        if ip is not None and self._exempt_networks is not None and ip in self._exempt_networks:
            return EXEMPT_NETWORK
        if self._anonymous is not None and ip is not None and self._anonymous.is_anonymous(ip):
            return ANONYMOUS
        places = visitor.places
        if not places:
            return self._unknown
        return self._decided[(places, path if self._rules else None)]

    def _by_place(self, places: tuple[str, ...], path: str) -> Decision:
        deny = self._deny
        if deny and any(place in deny for place in places):
            return self._denied
        allow = self._allow
        if allow is not None and not any(place in allow for place in places):
            return self._not_allowed
        for rule in self._rules:
            if rule.matches(path):
                return rule.decide(places)
        return self._passed


def _path_rule(index: int, rule: GeoRuleSettings) -> _PathRule:
    # The schema guarantees exactly one of allow and deny.
    listed = rule.allow if rule.allow is not None else rule.deny or ()
    return _PathRule(
        name=f"geoblock.rules[{index}]",
        matches=compile_globs(rule.paths),
        places=expand(listed),
        only_listed=rule.allow is not None,
    )


def _unknown_blocked(policy: Policy, geo_available: bool) -> bool:
    missing = not geo_available and policy.geoip.database is not None
    if missing and policy.geoip.on_missing in ("allow", "block"):
        return policy.geoip.on_missing == "block"
    return policy.geoblock.unknown == "block"


def decide_address(
    policy: Policy,
    ip: IPAddress,
    location: Location | None,
    anonymous: AnonymityCheck | None,
    path: str,
) -> Decision:
    """What the rules decide for `ip` at `path`, as the server would, for
    `gatekeeper geoip lookup`; `location` is None when no location database is open."""
    visitor = Visitor(
        ip=ip,
        country=location.country if location else None,
        subdivision=location.subdivision if location else None,
        language=policy.languages.default,
        located=location is not None,
    )
    rules = CountryRules(policy, anonymous=anonymous, geo_available=location is not None)
    return rules.decide(visitor, path)


# --- findings for `gatekeeper check` ---------------------------------------------------


def _place_lists(policy: Policy) -> list[tuple[str, tuple[str, ...]]]:
    config = policy.geoblock
    lists: list[tuple[str, tuple[str, ...]]] = [("geoblock.deny", config.deny)]
    if config.allow is not None:
        lists.append(("geoblock.allow", config.allow))
    for index, rule in enumerate(config.rules):
        kind = "allow" if rule.allow is not None else "deny"
        lists.append((f"geoblock.rules[{index}].{kind}", rule.allow or rule.deny or ()))
    return lists


def _blocks_anyone(policy: Policy) -> bool:
    config = policy.geoblock
    return bool(
        config.deny
        or config.allow is not None
        or config.rules
        or config.unknown == "block"
        or config.anonymous == "block"
    )


def geo_findings(policy: Policy) -> list[str]:
    """`policy_findings` with the configured location database opened, if it is there.

    A database that is not there is no finding: checks usually run away from the
    deployment (a laptop, a lint job); the subdivision check is then skipped.
    """
    geo: GeoReader | None = None
    if policy.geoip.database is not None:
        try:
            geo = GeoReader(policy.geoip.database, cache_size=0)
        except GeoDatabaseError:
            geo = None
    try:
        return policy_findings(policy, geo)
    finally:
        if geo is not None:
            geo.close()


def policy_findings(policy: Policy, geo: GeoReader | None) -> list[str]:
    """Warnings about country rules that cannot work as written.

    `geo` is the opened location database, or None when none is configured or it could
    not be opened (the subdivision check is then skipped).
    """
    findings: list[str] = []
    findings += _subdivision_findings(policy, geo)
    findings += _database_findings(policy)
    findings += _contact_findings(policy)
    return findings


def _subdivision_findings(policy: Policy, geo: GeoReader | None) -> list[str]:
    if geo is None or geo.has_subdivisions:
        return []
    findings = []
    for name, places in _place_lists(policy):
        for place in places:
            if "-" in place:
                findings.append(
                    f"{name} names {place}, a subdivision, but geoip.database is a Country "
                    f"database ({geo.database_type}): subdivisions are never known"
                )
    return findings


def _database_findings(policy: Policy) -> list[str]:
    config, geoip = policy.geoblock, policy.geoip
    findings = []
    by_place = config.deny or config.allow is not None or config.rules
    if geoip.database is None and by_place:
        findings.append(
            "geoblock has country rules but geoip.database is not set: every location is "
            f"unknown, so geoblock.unknown ({config.unknown}) decides every request"
        )
    if geoip.database is None and config.unknown == "block":
        findings.append(
            "geoblock.unknown is block but geoip.database is not set: every visitor is blocked"
        )
    if config.anonymous == "block" and geoip.anonymous_database is None:
        findings.append(
            "geoblock.anonymous is block but geoip.anonymous_database is not set: "
            "anonymous addresses are never recognised"
        )
    return findings


def _contact_findings(policy: Policy) -> list[str]:
    contact = policy.site.contact_url
    if not contact or not contact.startswith("/") or not _blocks_anyone(policy):
        return []
    path = contact.split("?", 1)[0].split("#", 1)[0]
    if compile_globs(policy.geoblock.exempt.paths)(path):
        return []
    return [
        f"site.contact_url {contact} is linked from the block page but not in "
        "geoblock.exempt.paths: blocked visitors cannot reach it"
    ]


# --- the ASGI stage ----------------------------------------------------------------------


BLOCKS = Table("geoblock_blocks", ("day", "country", "rule"))
"""Blocked requests per day, country ("" when unknown) and rule, across every process."""


class BlockCounter:
    """Blocked requests counted by (country, rule); country None means unknown.

    `snapshot()` is this process's count since it started; with `counters`, every block
    is also added to the deployment's database (table `geoblock_blocks`, per day), where
    all processes and hosts add up (`gatekeeper counts`).
    """

    def __init__(self, counters: Counters | None = None) -> None:
        self._counts: Counter[tuple[str | None, str]] = Counter()
        self.counters = counters
        # The counter may be shared by event loops in several threads.
        self._lock = threading.Lock()

    def add(self, country: str | None, rule: str) -> None:
        with self._lock:
            self._counts[(country, rule)] += 1
            if self.counters is not None:
                self.counters.add(BLOCKS, (day_of(time.time()), country or "", rule))

    def snapshot(self) -> dict[tuple[str | None, str], int]:
        with self._lock:
            return dict(self._counts)


_REASONS = {451: "Unavailable For Legal Reasons", 403: "Forbidden"}
# Characters a URI may carry as they are; anything else is percent-encoded so an operator
# URL can never break out of the Link header's angle brackets.
_URI_SAFE = ":/?#[]@!$&'()*+,;=%~-._"


class Refusal:
    """The answer to a blocked request, and the count of blocks by country and rule."""

    def __init__(
        self,
        policy: Policy,
        *,
        page: Callable[[str], bytes],
        counter: BlockCounter | None = None,
    ) -> None:
        self.page = page
        # Passing the previous policy's counter keeps the counts across a reload.
        self.counter = counter if counter is not None else BlockCounter()
        self.status = policy.geoblock.status
        self._operator_url = policy.site.operator_url
        default = policy.languages.default
        text = policy.geoblock.page.text
        self._details = {
            language: localise(text, language, default) for language in policy.languages.available
        }
        self._default_detail = localise(text, default, default)

    def note(self, scope: Scope, visitor: Visitor, decision: Decision) -> None:
        self.counter.add(visitor.country, decision.rule)
        # Location and rule only: the address is personal data and stays out of logs.
        log.info(
            "blocked %s %s: country=%s subdivision=%s rule=%s status=%d",
            scope.get("method", "WEBSOCKET"),
            scope["path"],
            visitor.country or "unknown",
            visitor.subdivision or "-",
            decision.rule,
            self.status,
        )

    def answer(self, scope: Scope, visitor: Visitor) -> tuple[int, Headers, bytes]:
        """Status, headers and body of the refusal."""
        if wants_problem_json(visitor.header(b"accept")):
            body, content_type = self._problem(scope, visitor), b"application/problem+json"
        else:
            body, content_type = self.page(visitor.language), b"text/html; charset=utf-8"
        headers = [
            (b"content-type", content_type),
            (b"content-length", b"%d" % len(body)),
            # 451 is cacheable by default (RFC 7725); a block must not outlive the rule.
            (b"cache-control", b"no-store"),
            (b"content-language", visitor.language.encode("latin-1")),
            (b"x-content-type-options", b"nosniff"),
        ]
        if self.status == 451:
            headers.append((b"link", self._blocked_by(scope)))
        return self.status, headers, body

    def _problem(self, scope: Scope, visitor: Visitor) -> bytes:
        """An RFC 9457 problem; `about:blank` because the status code says it all."""
        problem = {
            "type": "about:blank",
            "title": _REASONS[self.status],
            "status": self.status,
            "detail": self._details.get(visitor.language, self._default_detail),
            "instance": quote(scope.get("path", "/"), safe=_URI_SAFE),
        }
        return json.dumps(problem, ensure_ascii=False).encode()

    def _blocked_by(self, scope: Scope) -> bytes:
        """The RFC 7725 Link naming who blocks: the operator, else the site itself."""
        target = self._operator_url or "/"
        host = request_host(scope)
        if host is not None:
            scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
            target = urljoin(f"{scheme}://{host}/", target)
        return f'<{quote(target, safe=_URI_SAFE)}>; rel="blocked-by"'.encode("latin-1")


def _media_ranges(accept: str) -> Iterable[tuple[str, float]]:
    # Real clients send a few hundred bytes; the cap bounds the work a hostile header costs.
    for index, item in enumerate(accept[:2048].split(",")):
        media, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
                if not 0.0 <= quality <= 1.0:  # also false for NaN
                    quality = 0.0
        # Earlier entries win ties, so a tiny order bonus keeps the listing order.
        yield media.lower(), quality - index * 1e-6


_JSON = ("application/json", "application/problem+json")
_HTML = ("text/html", "application/xhtml+xml")


def wants_problem_json(accept: str) -> bool:
    """True when Accept prefers JSON (or problem+json) to HTML.

    Wildcards count for neither, so `*/*` and a missing header get the HTML page.
    """
    if "json" not in accept.lower():
        return False
    best_json = best_html = 0.0
    for media, quality in _media_ranges(accept):
        if media in _JSON:
            best_json = max(best_json, quality)
        elif media in _HTML:
            best_html = max(best_html, quality)
    return best_json > 0 and best_json > best_html
