"""The site the hostile-input suites attack, and what every answer must satisfy.

One policy turns on everything that has an endpoint or reads a header: consent (opt-in
for the EEA and GB, GPC honoured), adblock detection in notice mode (beacon, baits,
dismiss), a dismissible notification, country rules (a site-wide deny and a per-path
rule), the auditor view with a token, trusted proxies with both proxy headers, and debug
mode (so the debug header and `?gk_country=` are read as well). The consent log is a
SQLite file in the test's folder, so the suites can check it did not grow.

Every request goes through `Gatekeeper(app, policy=...)` itself; `Target.request` puts a
hang guard around each one.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote_to_bytes

import ada_url
import httpx

from gatekeeper import Gatekeeper
from tests.conftest import BASE_POLICY, DATA

PREFIX = "/_gatekeeper"
HOST = "www.example.com"
BASE = f"http://{HOST}"
TOKEN = "auditor-token-0123456789abcdef0123"
PASSWORD = "auditor-password-0123456789"
PEER = "203.0.113.9"  # not in the test database: an unknown location (opt-in)
PROXY = "10.0.0.1"
GB, SE, US_WA = "81.2.69.160", "89.160.20.112", "216.160.83.56"
# A guard against hangs, not a measurement: an answer takes milliseconds.
HANG_SECONDS = 30.0

SECTIONS = f"""\
debug: true
trusted_proxies: [10.0.0.0/8]
proxy_headers: [forwarded, x-forwarded-for]
geoip: {{database: "{DATA / "geoip" / "GeoIP2-City-Test.mmdb"}"}}
languages: {{default: en, available: [en, de]}}
consent:
  modes: {{opt_in: [EEA, GB], opt_out: [US-CA], default: notice, unknown: opt_in}}
  gpc: honor
  categories:
    necessary: {{required: true, label: {{en: Necessary, de: Notwendig}}}}
    analytics: {{label: {{en: Analytics, de: Statistik}}, cookies: ["_ga", "_ga_*"]}}
    ads: {{label: {{en: Ads, de: Werbung}}, cookies: ["IDE"], sale_or_sharing: true}}
adblock: {{mode: notice, requires_consent: none}}  # beacons from any visitor, to fuzz them
notifications:
  - {{id: sale, text: {{en: Winter sale, de: Winterschlussverkauf}}, dismissible: true}}
geoblock:
  deny: [KP]
  rules: [{{paths: ["/articles/live", "/articles/live/*"], deny: [GB]}}]
offline_notice: {{enabled: true}}
audit:
  store: "{{store}}"
  view: {{enabled: true, token: "{TOKEN}", username: auditor, password: "{PASSWORD}"}}
# Thousands of requests from one address: the limits (tests/limits) would answer 429 to
# most, and every case here is about what an endpoint does with what it is sent.
limits:
  beacon: {{per_minute: 1000000, burst: 1000000}}
  consent: {{per_minute: 1000000, burst: 1000000}}
  dismiss: {{per_minute: 1000000, burst: 1000000}}
  gpc_records: {{per_minute: 1000000, burst: 1000000}}
"""

FORM = "application/x-www-form-urlencoded"
AUTH = ("authorization", f"Bearer {TOKEN}")
# httpx's own User-Agent reads as a bot, which gets no adblock check.
BROWSER = ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/140.0")

# Every endpoint under the prefix, with the methods it answers.
ROUTES: dict[str, tuple[str, ...]] = {
    "/consent": ("GET", "POST"),
    "/preferences": ("GET",),
    "/notifications/dismiss": ("POST",),
    "/adblock/dismiss": ("POST",),
    "/beacon": ("POST",),
    "/prebid/gpt.js": ("GET",),
    "/adbanners/banner-728x90.gif": ("GET",),
    "/audit": ("GET",),
    "/audit/consent": ("GET",),
    "/audit/verify": ("GET",),
    "/audit/stats": ("GET",),
    "/audit/adblock": ("GET",),
    "/audit/export.jsonl": ("GET",),
    "/audit/export.csv": ("GET",),
    "/audit/report.html": ("GET",),
}
POSTS = tuple(path for path, methods in ROUTES.items() if "POST" in methods)
AUDIT = tuple(path for path in ROUTES if path.startswith("/audit"))

# `next` values an attacker tries: outside Latin-1, lookalikes of `/`, line separators,
# scheme-relative and backslash forms, control characters, overlong, broken escapes.
HOSTILE_NEXT = [
    "/%E2%82%AC",
    "/€",
    "/。evil.example",
    "/\u2028evil",
    "/\u2029evil",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "/\\/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\nSet-Cookie: x=1",
    "/\x00",
    "/\x7f",
    "/\x85",
    "/\ud800",
    "/%ff",
    "/%",
    "/%zz",
    "/%0d%0aSet-Cookie:%20x=1",
    "/%2F%2Fevil.example",
    "/.//evil.example",
    "/%2e//evil.example",
    "/a/..//evil.example",
    "/%5Cevil.example",
    "/" + "a" * 5000,
    "https://evil.example/",
    "javascript:alert(1)",
    " /evil",
    "/ok?next=//evil#frag",
    "/日本語/ページ",
    "/🍪",
    "",
]


def policy_text(store: Path | str) -> str:
    """The policy, its consent log a SQLite file at `store` or at a store URL."""
    url = store if isinstance(store, str) else f"sqlite:///{store}"
    return BASE_POLICY + SECTIONS.replace("{store}", url)


class Hang(AssertionError):
    """gatekeeper did not answer within HANG_SECONDS."""


@dataclass
class Target:
    gatekeeper: Gatekeeper
    folder: Path

    @classmethod
    def build(cls, folder: Path, app, store: str | None = None) -> Target:
        path = folder / "policy.yaml"
        path.write_text(policy_text(store or folder / "consent.db"), encoding="utf-8")
        return cls(Gatekeeper(app, policy=path), folder)

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: Sequence[tuple[str | bytes, str | bytes]] = (),
        content: bytes | None = None,
        params: Iterable[tuple[str, str]] | None = None,
        peer: str = PEER,
        host: str = HOST,
    ) -> httpx.Response:
        """One request with header lines exactly as given; Host as given too."""
        transport = httpx.ASGITransport(app=self.gatekeeper, client=(peer, 40000))
        lines = [(b"host", host.encode("latin-1") if isinstance(host, str) else host)]
        lines += [(_bytes(n), _bytes(v)) for n, v in headers]
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            request = client.build_request(method, path, content=content, params=params)
            # httpx's own lines (Host, User-Agent, ...) give way to the test's.
            given = {name for name, _ in lines}
            request.headers = httpx.Headers(
                [*lines, *((n, v) for n, v in request.headers.raw if n.lower() not in given)]
            )
            try:
                async with asyncio.timeout(HANG_SECONDS):
                    return await client.send(request)
            except TimeoutError:
                raise Hang(f"{method} {path}: no answer within {HANG_SECONDS}s") from None

    async def post(
        self, path: str, content: bytes, content_type: str | None = FORM, **options
    ) -> httpx.Response:
        headers = list(options.pop("headers", ()))
        if content_type is not None:
            headers.append(("content-type", content_type))
        return await self.request("POST", path, headers=headers, content=content, **options)

    async def log_size(self) -> int:
        return (await self.gatekeeper.plan.log.head()).size

    async def close(self) -> None:
        await self.gatekeeper.close()


def _bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("latin-1")


# --- what every answer must satisfy ----------------------------------------------------------


def check_answer(response: httpx.Response, *, ours: bool | None = None) -> None:
    """No 500; a 4xx says why; gatekeeper's own answers carry nosniff once; a Location
    only ever names a same-site path, percent-encoded.

    `ours`: whether gatekeeper made the answer; by default, anything under the prefix and
    anything the app did not (the app of these tests only ever answers 200)."""
    status = response.status_code
    if ours is None:
        path = response.request.url.path
        ours = path == PREFIX or path.startswith(PREFIX + "/") or status != 200
    where = f"{response.request.method} {response.request.url.raw_path!r}"
    assert status < 500, f"{where}: {status} {response.text[:300]!r}"
    if 400 <= status < 500 and response.request.method != "HEAD":
        assert reason(response), f"{where}: {status} without a reason"
    if ours:
        assert response.headers.get_list("x-content-type-options") == ["nosniff"], where
    location = response.headers.get("location")
    if location is not None:
        check_location(location)


def reason(response: httpx.Response) -> str:
    """What a refusal says: the JSON `error`, or the text (HTML pages have it in them)."""
    kind = response.headers.get("content-type", "")
    if kind.startswith("application/json"):
        error = json.loads(response.content).get("error")
        return error if isinstance(error, str) else ""
    return response.text.strip()


def check_location(location: str) -> None:
    assert location.isascii() and location.isprintable(), repr(location)
    assert location.startswith("/") and not location.startswith(("//", "/\\")), location
    resolved = ada_url.URL(location, f"{BASE}{PREFIX}/consent")
    assert (resolved.protocol, resolved.host) == ("http:", HOST), location


def same_path(location: str, asked: str) -> bool:
    """`location` is `asked` with characters percent-encoded (UTF-8), nothing else."""
    return unquote_to_bytes(location) == unquote_to_bytes(asked)
