"""The auditor view: a read-only HTML view of the consent log under `{prefix}/audit`.

Off unless `policy.audit.view.enabled`, and never open: it answers only requests that
carry the configured token (`Authorization: Bearer ...`, `?token=`, or the cookie a
`?token=` visit leaves) or HTTP Basic credentials. Enabled without any credential, it
refuses every request with 403 and says why.

    /audit                 records, filtered (dates, event, mode, country, consent id),
                           paged by sequence number (`after`)
    /audit/consent?id=...  one consent id's history, with the texts the visitor was shown
    /audit/verify          runs verification: OK, or the findings and the first bad record
    /audit/stats           decisions by day, mode and choice; acceptance rates as bars
    /audit/adblock         adblock verdicts and blocked rates by day, country, path group
    /audit/export.jsonl    the filtered export, verifiable offline (gatekeeper.audit.export)
    /audit/export.csv      the same records for spreadsheets

Every value in a record that a visitor chose (user agent, path, consent id) is rendered
through Jinja2's autoescape. The pages need no JavaScript and no inline styles, so they
carry a strict Content-Security-Policy.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import io
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from ..endpoints import BadRequest, Request, Response, Route, redirect
from ..html.render import Renderer
from ..policy import Policy
from .export import Format
from .export import export as write_export
from .log import ConsentLog
from .record import EVENT_TYPES, MODES, Record, iso
from .stats import Tally
from .store import LogUnavailable, Query

log = logging.getLogger("gatekeeper.audit")

COOKIE = "gk_audit"  # the gk_ prefix: the consent stage counts it as strictly necessary
SESSION_SECONDS = 8 * 3600
REALM = "gatekeeper audit"
LANGUAGE = "en"
PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
SCAN_PAGE = 500
SCAN_MAX = 20_000  # records one request reads looking for event/mode matches
EXPORT_MAX = 200_000  # records one download may hold (it is built in memory)

CSP = (
    b"default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    b"frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = (
    (b"content-security-policy", CSP),
    (b"x-robots-tag", b"noindex, nofollow"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
)
HTML = b"text/html; charset=utf-8"
EXPORT_TYPES = {"jsonl": b"application/x-ndjson; charset=utf-8", "csv": b"text/csv; charset=utf-8"}
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")

Handler = Callable[[Request], Awaitable[Response]]


# --- access ---------------------------------------------------------------------------


def _scope_header(scope: Mapping[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    presented: bool = False  # credentials were sent (and were wrong, when not allowed)
    set_cookie: bool = False  # allowed through ?token=: leave a cookie so links work


class Access:
    """Who may see the view: the token, HTTP Basic credentials, or the token's cookie."""

    def __init__(self, policy: Policy, cookie_path: str) -> None:
        view = policy.audit.view
        self.token = view.token.encode() if view.token else None
        self.basic: tuple[bytes, bytes] | None = None
        if view.username and view.password:
            self.basic = (view.username.encode(), view.password.encode())
        elif view.username or view.password:
            log.warning(
                "audit.view: username and password must both be set for HTTP Basic; ignored"
            )
        self.keys = tuple(key.encode() for key in policy.secret_keys)
        self.cookie_path = cookie_path
        if view.enabled and not self.configured:
            log.warning(
                "audit.view is enabled without a token or username/password: "
                "the auditor view refuses every request until one is set"
            )
        elif self.token is not None and len(self.token) < 24:
            log.warning(
                "audit.view.token is short (%d characters): use 32 or more random ones",
                len(self.token),
            )

    @property
    def configured(self) -> bool:
        return self.token is not None or self.basic is not None

    def _token_ok(self, given: str) -> bool:
        if self.token is None:
            return False
        return hmac.compare_digest(given.encode("utf-8", "replace"), self.token)

    def _basic_ok(self, encoded: str) -> bool:
        if self.basic is None:
            return False
        try:
            raw = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        user, sep, password = raw.partition(b":")
        if not sep:
            return False
        # Both compared every time, so the answer's timing does not say which was wrong.
        user_ok = hmac.compare_digest(user, self.basic[0])
        password_ok = hmac.compare_digest(password, self.basic[1])
        return user_ok and password_ok

    def _mac(self, key: bytes, issued: str) -> str:
        assert self.token is not None
        message = b"gatekeeper audit view\x00" + self.token + b"\x00" + issued.encode()
        return hmac.new(key, message, hashlib.sha256).hexdigest()

    def cookie_value(self, now: float | None = None) -> str:
        """`issued.mac`: proves a token was given, without holding the token itself."""
        issued = str(int(time.time() if now is None else now))
        return f"{issued}.{self._mac(self.keys[0], issued)}"

    def _cookie_ok(self, value: str, now: float | None = None) -> bool:
        if self.token is None:
            return False
        issued, sep, mac = value.partition(".")
        if not sep or not (issued.isascii() and issued.isdigit()) or len(issued) > 12:
            return False
        age = (time.time() if now is None else now) - int(issued)
        if not -60 <= age <= SESSION_SECONDS:
            return False
        # The token is in the MAC: changing it ends every session made with the old one.
        given = mac.encode("utf-8", "replace")
        return any(hmac.compare_digest(given, self._mac(key, issued).encode()) for key in self.keys)

    def set_cookie(self, secure: bool) -> str:
        parts = [
            f"{COOKIE}={self.cookie_value()}",
            f"Max-Age={SESSION_SECONDS}",
            f"Path={self.cookie_path}",
            "HttpOnly",
            "SameSite=Strict",
        ]
        if secure:
            parts.append("Secure")
        return "; ".join(parts)

    def check(self, request: Request) -> Verdict:
        presented = False
        authorization = _scope_header(request.scope, b"authorization")
        if authorization:
            scheme, _, credentials = authorization.strip().partition(" ")
            presented = True
            if scheme.lower() == "bearer" and self._token_ok(credentials.strip()):
                return Verdict(True)
            if scheme.lower() == "basic" and self._basic_ok(credentials):
                return Verdict(True)
        given = request.query().get("token")
        if given is not None:
            presented = True
            if self._token_ok(given):
                return Verdict(True, set_cookie=True)
        cookie = request.cookies().get(COOKIE)
        if cookie and self._cookie_ok(cookie):
            return Verdict(True)
        # An expired session cookie is not a wrong guess: ask again, without a warning.
        return Verdict(False, presented=presented)

    def challenges(self, invalid: bool) -> list[tuple[bytes, bytes]]:
        out = []
        if self.basic is not None:
            out.append((b"www-authenticate", f'Basic realm="{REALM}", charset="UTF-8"'.encode()))
        if self.token is not None:
            error = ', error="invalid_token"' if invalid else ""
            out.append((b"www-authenticate", f'Bearer realm="{REALM}"{error}'.encode()))
        return out


# --- filters --------------------------------------------------------------------------


def _moment(text: str, name: str, *, end_of_day: bool = False) -> str:
    """A date (midnight UTC; with `end_of_day`, the midnight after it) or an ISO time."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return iso(moment + timedelta(days=1) if end_of_day else moment)
        return iso(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except (ValueError, OverflowError):
        raise BadRequest(
            f"{name}: {text!r} is not a date (2026-11-01) or a time (2026-11-01T12:00:00Z)"
        ) from None


def _number(value: str | None, name: str, default: int, low: int, high: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number") from None
    if not low <= number <= high:
        raise BadRequest(f"{name} must be between {low} and {high}")
    return number


@dataclass(frozen=True, slots=True)
class Filters:
    """The filter form's values as given (to refill the form and build links)."""

    since: str = ""
    until: str = ""
    event: str = ""
    mode: str = ""
    country: str = ""
    consent_id: str = ""

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> Filters:
        found = cls(**{name: params.get(name, "").strip() for name in cls.__dataclass_fields__})
        found.query()  # validates the dates
        if found.event and found.event not in EVENT_TYPES:
            raise BadRequest(f"event must be one of {', '.join(EVENT_TYPES)}")
        if found.mode and found.mode not in MODES:
            raise BadRequest(f"mode must be one of {', '.join(MODES)}")
        if found.country and not _COUNTRY.match(found.country):
            raise BadRequest("country must be a two-letter code such as DE")
        if len(found.consent_id) > 128:
            raise BadRequest("consent id is longer than any the log keeps")
        return found

    def query(self) -> Query:
        """What the store filters on: dates (the until date included), country, consent id."""
        return Query(
            since=_moment(self.since, "since") if self.since else None,
            until=_moment(self.until, "until", end_of_day=True) if self.until else None,
            consent_id=self.consent_id or None,
            country=self.country.upper() or None,
        )

    @property
    def in_python(self) -> bool:
        """Filters the store cannot apply (event, mode): checked here, record by record."""
        return bool(self.event or self.mode)

    def matches(self, record: Record) -> bool:
        return (not self.event or record.event == self.event) and (
            not self.mode or record.mode == self.mode
        )

    def params(self, *, store_only: bool = False) -> dict[str, str]:
        names = ("since", "until", "country", "consent_id")
        if not store_only:
            names += ("event", "mode")
        return {name: getattr(self, name) for name in names if getattr(self, name)}

    @property
    def active(self) -> bool:
        return bool(self.params())


# --- presentation ---------------------------------------------------------------------


def _when(text: str | None) -> str:
    """`2026-11-27T12:00:00.000000Z` as `2026-11-27 12:00:00 UTC`."""
    if not text:
        return ""
    return text[:19].replace("T", " ") + " UTC"


def _machine(text: str | None) -> str:
    """A record time as an HTML `datetime` value (at most milliseconds)."""
    if not text:
        return ""
    return text[:23] + "Z" if len(text) > 23 else text


def _percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.1%}"


def _width(rate: float | None) -> str:
    """The bar class for a share, in 5% steps (no inline styles under the CSP)."""
    return f"gk-w-{round((rate or 0.0) * 20) * 5}"


def _categories(categories: Mapping[str, bool]) -> list[dict[str, Any]]:
    return [{"name": name, "allowed": allowed} for name, allowed in categories.items()]


def _tally(label: str, tally: Tally) -> dict[str, Any]:
    shares = {}
    for kind in ("accept_all", "partial", "reject_all"):
        rate = getattr(tally, kind) / tally.decisions if tally.decisions else None
        shares[kind] = {"text": _percent(rate), "bar": _width(rate)}
    return {
        "label": label,
        "decisions": tally.decisions,
        "accept_all": tally.accept_all,
        "partial": tally.partial,
        "reject_all": tally.reject_all,
        "withdrawn": tally.withdrawn,
        "expired": tally.expired,
        "gpc": tally.gpc,
        "acceptance": _percent(tally.acceptance),
        "bar": _width(tally.acceptance),
        "shares": shares,
        "rates": [
            {"name": name, "text": _percent(rate), "bar": _width(rate)}
            for name, rate in tally.rates().items()
        ],
    }


ADBLOCK_VERDICTS = ("blocked", "allowed", "no_js", "unknown")


def _adblock_row(row: Mapping[str, Any]) -> dict[str, Any]:
    rate = row.get("blocked_rate")
    return {
        "key": str(row.get("key", "")),
        "counts": [int(row.get(verdict, 0)) for verdict in ADBLOCK_VERDICTS],
        "views": int(row.get("views", 0)),
        "rate": _percent(rate),
        "bar": _width(rate),
    }


class AuditorView:
    """The auditor view's routes, for the endpoints stage; none when it is disabled.

    `adblock_rates`, when given, reads the adblock verdict counts as plain data (the
    feature supplies it; this package does not import it): `by_day`, `by_country` and
    `by_path`, lists of rows with `key`, a count per verdict, `views` and `blocked_rate`
    (None when nothing was judged), and `total`; None when detection is off.
    """

    def __init__(
        self,
        policy: Policy,
        log: ConsentLog,
        renderer: Renderer,
        css_url: str,
        *,
        adblock_rates: Callable[[], Awaitable[Mapping[str, Any] | None]] | None = None,
    ) -> None:
        self.policy = policy
        self.adblock_rates = adblock_rates
        self.log = log
        self.renderer = renderer
        self.css_url = css_url
        self.enabled = policy.audit.view.enabled
        self.base = policy.prefix + "/audit"
        self.access = Access(policy, self.base)
        self._verifying = asyncio.Lock()  # one verification at a time: it reads the whole log

    def routes(self) -> dict[str, Route]:
        if not self.enabled:
            return {}
        pages: dict[str, Handler] = {
            "/audit": self.records,
            "/audit/consent": self.consent,
            "/audit/verify": self.verify,
            "/audit/stats": self.stats,
            "/audit/adblock": self.adblock,
            "/audit/export.jsonl": self.export_jsonl,
            "/audit/export.csv": self.export_csv,
        }
        get = frozenset({"GET"})
        return {path: Route(get, self._guarded(handler)) for path, handler in pages.items()}

    # --- plumbing ---------------------------------------------------------------------

    def _guarded(self, handler: Handler) -> Handler:
        async def answer(request: Request) -> Response:
            response = await self._answer(request, handler)
            response.headers.extend(SECURITY_HEADERS)
            return response

        return answer

    async def _answer(self, request: Request, handler: Handler) -> Response:
        if not self.access.configured:
            return self._page(
                "audit_error.html",
                status=403,
                title="Auditor view not configured",
                message=(
                    "The auditor view is enabled, but the policy sets no credentials for it. "
                    "Set audit.view.token, or audit.view.username and audit.view.password; "
                    "until then it refuses every request."
                ),
                login=False,
                nav=False,
            )
        verdict = self.access.check(request)
        if not verdict.allowed:
            if verdict.presented:
                log.warning("auditor view: wrong credentials from %s", request.visitor.ip)
            response = self._page(
                "audit_error.html",
                status=401,
                title="Sign in to the auditor view",
                message=(
                    "Those credentials were not accepted."
                    if verdict.presented
                    else "The consent log is only shown to auditors with the access token "
                    "or the user name and password from the site's policy."
                ),
                login=self.access.token is not None,
                login_action=request.scope["path"],
                login_keep=[(k, v) for k, v in request.query().items() if k != "token"],
                nav=False,
            )
            response.headers.extend(self.access.challenges(verdict.presented))
            return response
        if verdict.set_cookie and request.visitor.headers.get("sec-fetch-site") in (
            "none",
            "same-origin",
        ):
            # Typed, bookmarked or from the sign-in form: take the token out of the address
            # bar and history. A link from another site is answered in place instead: a
            # SameSite=Strict cookie would not come along on the redirect of a cross-site
            # navigation.
            response = redirect(self._without_token(request))
            response.set_cookie(self.access.set_cookie(request.secure))
            return response
        try:
            response = await handler(request)
        except BadRequest as exc:
            response = self._page(
                "audit_error.html",
                status=exc.status,
                title="That request cannot be answered",
                message=exc.reason,
                login=False,
                nav=True,
            )
        except LogUnavailable as exc:
            log.warning("auditor view: the consent log is unavailable: %s", exc)
            response = self._page(
                "audit_error.html",
                status=503,
                title="The consent log cannot be read right now",
                message="The consent log did not answer. Try again in a moment.",
                login=False,
                nav=True,
            )
        if verdict.set_cookie:
            response.set_cookie(self.access.set_cookie(request.secure))
        return response

    def _without_token(self, request: Request) -> str:
        raw = request.scope.get("query_string", b"").decode("latin-1")
        kept = [(k, v) for k, v in parse_qsl(raw, keep_blank_values=True) if k != "token"]
        return request.scope["path"] + (f"?{urlencode(kept)}" if kept else "")

    def _url(self, page: str = "", **params: Any) -> str:
        query = urlencode({k: v for k, v in params.items() if v is not None and v != ""})
        return f"{self.base}{page}" + (f"?{query}" if query else "")

    def _nav(self, current: str) -> list[dict[str, Any]]:
        return [
            {"label": label, "href": self._url(page), "current": page == current}
            for page, label in (
                ("", "Records"),
                ("/consent", "Consent history"),
                ("/verify", "Verification"),
                ("/stats", "Statistics"),
                ("/adblock", "Adblock"),
            )
        ]

    def _page(
        self,
        template: str,
        *,
        status: int = 200,
        title: str,
        current: str | None = None,
        nav: bool = True,
        **context: Any,
    ) -> Response:
        body = self.renderer.render(
            template,
            LANGUAGE,
            title=title,
            site_name=self.policy.site.name,
            css_url=self.css_url,
            base=self.base,
            nav=self._nav(current or "") if nav else [],
            **context,
        )
        return Response(status=status, body=body.encode("utf-8"), content_type=HTML)

    def _row(self, record: Record | Mapping[str, Any]) -> dict[str, Any]:
        data = record.to_dict() if isinstance(record, Record) else dict(record)
        place = "-".join(p for p in (data["country"], data["subdivision"]) if p)
        consent_id = data["consent_id"]
        return {
            **data,
            "when": _when(data["time"]),
            "time_attr": _machine(data["time"]),
            "valid_until_text": _when(data["valid_until"]),
            "valid_until_attr": _machine(data["valid_until"]),
            "place": place,
            "categories": _categories(data["categories"]),
            "history_url": self._url("/consent", id=consent_id) if consent_id else None,
        }

    # --- pages ------------------------------------------------------------------------

    async def _scan(
        self, filters: Filters, after: int, limit: int
    ) -> tuple[list[Record], int | None, bool]:
        """Up to `limit` matching records after `after`; the seq to continue after (None
        at the end of the log); whether the scan stopped early at SCAN_MAX."""
        query = filters.query()
        found: list[Record] = []
        cursor = after
        scanned = 0
        while len(found) < limit:
            size = SCAN_PAGE if filters.in_python else limit - len(found)
            page = await self.log.records(query, after=cursor, limit=size)
            for record in page:
                cursor = record.seq
                if filters.matches(record):
                    found.append(record)
                    if len(found) == limit:
                        break
            scanned += len(page)
            if len(page) < size and len(found) < limit:
                return found, None, False
            if len(found) < limit and scanned >= SCAN_MAX:
                return found, cursor, True
        return found, cursor, False

    async def records(self, request: Request) -> Response:
        params = request.query()
        filters = Filters.parse(params)
        after = _number(params.get("after"), "after", -1, -1, 2**62)
        limit = _number(params.get("limit"), "limit", PAGE_SIZE, 1, MAX_PAGE_SIZE)
        found, next_after, stopped = await self._scan(filters, after, limit)
        head = await self.log.head()
        keep = filters.params()
        if limit != PAGE_SIZE:
            keep["limit"] = str(limit)
        return self._page(
            "audit_records.html",
            title="Consent records",
            current="",
            filters=filters,
            events=EVENT_TYPES,
            modes=MODES,
            rows=[self._row(r) for r in found],
            log_size=head.size,
            after=after,
            stopped=stopped,
            scanned_to=next_after,
            next_url=self._url(after=next_after, **keep) if next_after is not None else None,
            first_url=self._url(**keep) if after >= 0 else None,
            exports={
                "jsonl": self._url("/export.jsonl", **filters.params(store_only=True)),
                "csv": self._url("/export.csv", **filters.params(store_only=True)),
            },
        )

    async def consent(self, request: Request) -> Response:
        consent_id = request.query().get("id", "").strip()
        if len(consent_id) > 128:
            raise BadRequest("consent id is longer than any the log keeps")
        history: list[dict[str, Any]] = []
        texts: list[dict[str, Any]] = []
        if consent_id:
            history = await self.log.history(consent_id)
            seen: list[str] = []
            for entry in history:
                if entry["texts_hash"] not in seen:
                    seen.append(entry["texts_hash"])
            for digest in seen:
                archived = await self.log.texts(digest)
                texts.append(
                    {
                        "hash": digest,
                        "texts": sorted(archived.texts.items()) if archived else [],
                        "shown": [
                            {"revision": r, "language": lang, "first_seen": _when(t)}
                            for r, lang, t in (archived.shown if archived else ())
                        ],
                    }
                )
        return self._page(
            "audit_consent.html",
            title="Consent history",
            current="/consent",
            consent_id=consent_id,
            rows=[self._row(entry) for entry in history],
            texts=texts,
            export_url=self._url("/export.jsonl", consent_id=consent_id),
        )

    async def verify(self, request: Request) -> Response:
        async with self._verifying:
            report = await self.log.verify()
        first = report.first_bad
        bad: dict[str, Any] | None = None
        if first is not None and first.seq is not None:
            page = await self.log.records(after=first.seq - 1, limit=1)
            if page and page[0].seq == first.seq:
                bad = self._row(page[0])
        findings = [
            {
                "seq": f.seq,
                "message": f.message,
                "url": self._url(after=f.seq - 1, limit=1) if f.seq is not None else None,
            }
            for f in report.findings
        ]
        return self._page(
            "audit_verify.html",
            title="Verification",
            current="/verify",
            report=report,
            ok=report.ok,
            findings=findings,
            first=first,
            bad=bad,
            checked_at=_when(iso(datetime.now(UTC))),
        )

    async def stats(self, request: Request) -> Response:
        params = request.query()
        filters = Filters.parse(
            {k: params[k] for k in ("since", "until", "country") if k in params}
        )
        summary = await self.log.stats(filters.query())
        return self._page(
            "audit_stats.html",
            title="Statistics",
            current="/stats",
            filters=filters,
            total=_tally("All", summary.total),
            by_mode=[_tally(mode, t) for mode, t in sorted(summary.by_mode.items())],
            by_day=[
                {"day": day, **_tally(mode, t)} for (day, mode), t in sorted(summary.by_day.items())
            ],
        )

    async def adblock(self, request: Request) -> Response:
        data: Mapping[str, Any] | None = None
        if self.adblock_rates is not None:
            try:
                data = await self.adblock_rates()
            except Exception as exc:  # the feature's own errors: this package cannot name them
                log.warning("auditor view: the adblock counts are unavailable: %s", exc)
                return self._page(
                    "audit_error.html",
                    status=503,
                    title="The adblock counts cannot be read right now",
                    message="The database did not answer. Try again in a moment.",
                    login=False,
                    nav=True,
                    current="/adblock",
                )
        total = _adblock_row(data.get("total") or {}) if data else None
        return self._page(
            "audit_adblock.html",
            title="Adblock rates",
            current="/adblock",
            off=data is None,
            verdicts=ADBLOCK_VERDICTS,
            total=total if total and total["views"] else None,
            tables=[
                {
                    "id": name,
                    "heading": heading,
                    "column": column,
                    "rows": [_adblock_row(row) for row in (data or {}).get(name, ())],
                }
                for name, heading, column in (
                    ("by_day", "By day", "Day"),
                    ("by_country", "By country", "Country"),
                    ("by_path", "By path group", "Path group"),
                )
            ],
        )

    async def _export(self, request: Request, fmt: Format) -> Response:
        filters = Filters.parse(request.query())
        if filters.in_python:
            raise BadRequest(
                "downloads filter by dates, country and consent id only: "
                "remove the event and mode filters"
            )
        query = filters.query()
        found = await self.log.store.seq_range(query)
        if found is not None and found[2] > EXPORT_MAX:
            raise BadRequest(
                f"{found[2]} records match, more than one download holds ({EXPORT_MAX}): "
                "narrow the dates, or run `gatekeeper audit export` on the server",
                413,
            )
        out = io.StringIO()
        await write_export(self.log.store, out, fmt, query)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        kind = EXPORT_TYPES[fmt]
        disposition = f'attachment; filename="consent-log-{stamp}.{fmt}"'.encode()
        return Response(
            body=out.getvalue().encode("utf-8"),
            content_type=kind,
            headers=[(b"content-disposition", disposition)],
        )

    async def export_jsonl(self, request: Request) -> Response:
        return await self._export(request, "jsonl")

    async def export_csv(self, request: Request) -> Response:
        return await self._export(request, "csv")
