"""Every request header gatekeeper reads, made hostile, through the whole middleware.

Host must never reach Set-Cookie, Link or Location unvalidated; the CSRF check compares
scheme, host and port; every answer gatekeeper makes itself carries nosniff; forged,
truncated, huge and repeated cookies are no consent and no 500; proxy, language, agent,
GPC and debug headers of any shape are read without a 500; and huge headers cost
nothing once answered (some servers accept headers of any size, and gatekeeper's caches
are keyed by header bytes).
"""

from __future__ import annotations

import gc
import re
import tracemalloc
from pathlib import Path

import pytest

import gatekeeper
from gatekeeper.http import parent_domains, valid_host
from tests.hostile.target import (
    AUDIT,
    AUTH,
    BROWSER,
    FORM,
    GB,
    HOST,
    PREFIX,
    PROXY,
    ROUTES,
    Target,
    check_answer,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

HOSTILE_HOSTS = [
    b"www.example.com;Domain=evil.example;SameSite=None",  # issue 17
    b"www.example.com; Domain=evil.example",
    b"www.example.com,evil.example",
    b"www.example.com\tDomain=evil.example",
    b"www.example.com Domain=evil.example",
    b"evil.example:80@www.example.com",
    b"www.example.com/evil",
    b"www.example.com:80:81",
    b"www.example.com:99999",
    b"www.example.com:-1",
    b"www.example.com:",
    b"[::1",
    b"[::1]x",
    b"[evil.example]",
    b'www.example.com"evil',
    b"www.example.com>; rel=evil, <http://evil.example",
    b"\xe2\x82\xac.example",
    b"xn--evil-.example",
    b"-evil.example",
    b"evil..example",
    b"a" * 300 + b".example",
    b"www.example.com\x00evil.example",
    b"www.example.com\r\nSet-Cookie: x=1",
    b"",
    b" ",
]
GOOD_HOSTS = [b"www.example.com", b"WWW.Example.COM", b"www.example.com:8080", b"127.0.0.1:8000", b"[::1]:8000"]  # fmt: skip


def cookie_domains(response) -> list[str]:
    found = []
    for line in response.headers.get_list("set-cookie"):
        for attribute in line.split(";")[1:]:
            name, _, value = attribute.strip().partition("=")
            if name.lower() == "domain":
                found.append(value)
    return found


def check_host_use(response, host: bytes) -> None:
    """Set-Cookie Domain, Link and Location name only the validated host (or none)."""
    valid = valid_host(host.decode("latin-1"))
    allowed = parent_domains(valid)
    for domain in cookie_domains(response):
        assert domain in allowed, (host, response.headers.get_list("set-cookie"))
    for line in response.headers.get_list("set-cookie"):
        assert "evil" not in line.lower() and "samesite=none" not in line.lower(), line
    link = response.headers.get("link")
    if link is not None:
        assert re.fullmatch(r'<[!-;=?-~]*>; rel="blocked-by"', link), link
        if valid is None:
            assert link == '</>; rel="blocked-by"'
        else:
            assert link == f'<http://{valid}/>; rel="blocked-by"'
    location = response.headers.get("location")
    if location is not None:
        assert location.startswith("/") and "evil" not in location


# --- Host -----------------------------------------------------------------------------------


@pytest.mark.parametrize("host", HOSTILE_HOSTS + GOOD_HOSTS, ids=ascii)
@pytest.mark.parametrize(
    ("method", "path", "extra"),
    [
        ("GET", "/", []),  # the app's page: a refused cookie the browser holds is expired
        ("GET", "/articles/live", [("x-gatekeeper-country", "GB")]),  # the block page
        ("GET", PREFIX + "/consent", []),
        ("POST", PREFIX + "/consent", [("content-type", FORM)]),
        ("POST", PREFIX + "/notifications/dismiss", [("content-type", FORM)]),
        (
            "GET",
            PREFIX + "/audit?token=auditor-token-0123456789abcdef0123",
            [("sec-fetch-site", "none")],
        ),
    ],
)
async def test_host_never_reaches_a_header_unvalidated(target, host, method, path, extra):
    headers = [("cookie", "_ga=1; IDE=2; _ga_X=3"), BROWSER, *extra]
    body = b"action=reject_all&id=sale&next=/back" if method == "POST" else None
    response = await target.request(method, path, headers=headers, content=body, host=host)
    check_answer(response)
    check_host_use(response, host)


async def test_the_issue_17_host_gives_no_domain_at_all(target):
    response = await target.request(
        "GET",
        "/",
        headers=[("cookie", "_ga=1")],
        host=b"www.example.com;Domain=evil.example;SameSite=None",
    )
    expired = response.headers.get_list("set-cookie")
    # The refused _ga the browser holds is expired host-only, and the app's new one dropped.
    assert expired == ["_ga=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/"]


async def test_a_valid_host_expires_on_its_parent_domains(target):
    response = await target.request(
        "GET", "/", headers=[("cookie", "_ga=1")], host="www.example.com"
    )
    assert cookie_domains(response) == ["www.example.com", "example.com"]


async def test_repeated_host_lines_use_the_first(target):
    response = await target.request(
        "GET", "/articles/live", headers=[("host", "evil.example"), ("x-gatekeeper-country", "GB")]
    )
    assert response.status_code == 451
    assert response.headers["link"] == '<http://www.example.com/>; rel="blocked-by"'


# --- CSRF --------------------------------------------------------------------------------

SAME = [
    ("http", "www.example.com", "http://www.example.com"),
    ("http", "www.example.com", "http://www.example.com:80"),
    ("http", "www.example.com:8080", "http://www.example.com:8080"),
    ("https", "www.example.com", "https://www.example.com"),
    ("https", "www.example.com", "https://www.example.com:443"),
    ("http", "[::1]:8000", "http://[::1]:8000"),
]
CROSS = [
    ("http", "www.example.com", "https://www.example.com"),  # issue 17: https on http
    ("https", "www.example.com", "http://www.example.com"),
    ("http", "www.example.com", "http://www.example.com:8080"),
    ("http", "www.example.com:8080", "http://www.example.com"),
    ("http", "www.example.com:8080", "http://www.example.com:8081"),
    ("http", "www.example.com", "http://www.example.com:443"),
    ("https", "www.example.com", "https://www.example.com:80"),
    ("http", "www.example.com", "http://evil.example"),
    ("http", "www.example.com", "http://sub.www.example.com"),
    ("http", "www.example.com", "http://example.com"),
    ("http", "www.example.com", "http://www.example.com.evil.example"),
    ("http", "www.example.com", "http://www.example.com@evil.example"),
    ("http", "www.example.com", "http://evil.example#@www.example.com"),
    ("http", "www.example.com", "null"),
    ("http", "www.example.com", ""),
    ("http", "www.example.com", "www.example.com"),
    ("http", "www.example.com", "http://[::1"),
    ("http", "www.example.com", "http://www.example.com:x"),
    ("http", "www.example.com", "ws://www.example.com"),
    ("http", "www.example.com", "\xffhttp://www.example.com"),
]


async def csrf_post(target, scheme, host, origin, endpoint, extra=()):
    before = await target.log_size()
    headers = [("content-type", FORM), ("origin", origin), *extra]
    target_url = f"{scheme}://{host}{PREFIX}{endpoint}"
    response = await target.request(
        "POST", target_url, headers=headers, content=b"action=accept_all&id=sale", host=host
    )
    check_answer(response)
    return response, await target.log_size() - before


@pytest.mark.parametrize("endpoint", ["/consent", "/notifications/dismiss", "/adblock/dismiss"])
@pytest.mark.parametrize(("scheme", "host", "origin"), SAME)
async def test_an_origin_of_the_same_scheme_host_and_port_is_accepted(target, endpoint, scheme, host, origin):  # fmt: skip
    response, grown = await csrf_post(target, scheme, host, origin, endpoint)
    assert response.status_code == 303
    assert grown == (endpoint == "/consent")


@pytest.mark.parametrize(
    "endpoint", ["/consent", "/notifications/dismiss", "/adblock/dismiss", "/beacon"]
)
@pytest.mark.parametrize(("scheme", "host", "origin"), CROSS)
async def test_an_origin_differing_in_scheme_host_or_port_is_refused(target, endpoint, scheme, host, origin):  # fmt: skip
    response, grown = await csrf_post(target, scheme, host, origin, endpoint)
    assert response.status_code == 403
    assert response.json() == {"error": "cross-site requests are refused"}
    assert grown == 0
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize(
    ("site", "status"),
    [("same-origin", 303), ("none", 303), ("same-site", 403), ("cross-site", 403), ("", 403),
     ("bogus", 403), ("SAME-ORIGIN", 403)],
)  # fmt: skip
async def test_sec_fetch_site_decides_when_it_is_sent(target, site, status):
    # A browser's Sec-Fetch-Site wins over Origin: a page cannot forge either.
    extra = [("sec-fetch-site", site)]
    response, grown = await csrf_post(
        target, "http", HOST, "https://evil.example", "/consent", extra
    )
    assert response.status_code == status
    assert grown == (status == 303)


async def test_an_invalid_host_with_an_origin_is_refused_as_a_bad_host(target):
    before = await target.log_size()
    response = await target.post(
        PREFIX + "/consent",
        b"action=accept_all",
        headers=[("origin", "http://www.example.com;x")],
        host="www.example.com;x",
    )
    assert response.status_code == 400
    assert response.json() == {"error": "the Host header is not valid"}
    assert await target.log_size() == before


async def test_a_post_without_any_browser_signal_is_accepted(target):
    # Old browsers send neither Origin nor Sec-Fetch-Site on a same-origin form post.
    before = await target.log_size()
    response = await target.post(PREFIX + "/consent", b"action=reject_all")
    assert response.status_code == 303
    assert await target.log_size() == before + 1


# --- nosniff ---------------------------------------------------------------------------------


async def static_urls(target: Target) -> list[str]:
    page = await target.request("GET", "/", headers=[BROWSER])
    return sorted(set(re.findall(r'"(/_gatekeeper/static/[^"]+)"', page.text)))


async def test_nosniff_on_every_answer_gatekeeper_makes(target):
    urls = await static_urls(target)
    assert len(urls) >= 2
    etag = (await target.request("GET", urls[0])).headers["etag"]
    form = [("content-type", FORM)]
    ok = b"action=accept_all&id=sale"
    cases = [
        *((m, PREFIX + p, form, ok) for p, methods in ROUTES.items() for m in (*methods, "PUT")),
        *(("GET", PREFIX + p, [AUTH], None) for p in AUDIT),
        *(("GET", u, [], None) for u in urls),
        ("GET", urls[0], [("accept-encoding", "gzip")], None),
        ("GET", urls[0], [("if-none-match", etag)], None),  # 304
        ("HEAD", urls[0], [], None),
        ("POST", urls[0], [], ok),
        ("GET", PREFIX + "/static/nosuch.js", [], None),
        ("GET", PREFIX + "/nosuch", [], None),
        ("GET", PREFIX, [], None),
        ("POST", PREFIX + "/consent", form, b"action=maybe"),
        ("POST", PREFIX + "/consent", [*form, ("origin", "https://evil.example")], ok),
        ("POST", PREFIX + "/consent", form, b"x" * 9000),
        ("GET", "/", [("x-gatekeeper-country", "KP")], None),  # the block page
        ("GET", "/", [("x-gatekeeper-country", "KP"), ("accept", "application/json")], None),
        ("HEAD", "/", [("x-gatekeeper-country", "KP")], None),
        ("GET", "/articles/live", [("x-gatekeeper-country", "GB")], None),
    ]
    statuses = set()
    for method, path, headers, body in cases:
        response = await target.request(method, path, headers=headers, content=body)
        check_answer(response)  # nosniff exactly once
        statuses.add(response.status_code)
    assert {200, 303, 304, 400, 401, 403, 404, 405, 413, 451} <= statuses


# --- cookies ---------------------------------------------------------------------------------


async def consent_cookie(target: Target) -> str:
    response = await target.post(PREFIX + "/consent", b"action=accept_all")
    return response.headers["set-cookie"].split(";")[0].partition("=")[2]


async def decided(target: Target, cookie_lines: list[tuple[str, bytes | str]]) -> bool:
    response = await target.request("GET", PREFIX + "/consent", headers=cookie_lines)
    check_answer(response)
    return response.json()["decided"]


async def test_a_valid_consent_cookie_is_read(target):
    value = await consent_cookie(target)
    assert await decided(target, [("cookie", f"gk_consent={value}")])


@pytest.mark.parametrize(
    "forge",
    [
        lambda v: v[:-1],
        lambda v: v[:10],
        # A character inside the signature: the last one may carry only padding bits, so
        # changing it can leave the decoded signature as it was.
        lambda v: v[:-8] + ("A" if v[-8] != "A" else "B") + v[-7:],
        lambda v: v.replace(".", "", 1),
        lambda v: "." + v,
        lambda v: v + "." + v,
        lambda v: '"' + v,
        lambda v: "",
        lambda v: "x" * 100_000,
        lambda v: "." + "eJ" + "A" * 5000 + ".AAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAA",
        lambda v: v.encode().decode("latin-1").upper(),
    ],
)
async def test_a_forged_consent_cookie_is_no_consent(target, forge):
    value = await consent_cookie(target)
    assert not await decided(target, [("cookie", f"gk_consent={forge(value)}")])


async def test_repeated_consent_cookies_take_the_first(target):
    value = await consent_cookie(target)
    # HTTP/2 splits Cookie into several lines; the first of a repeated name wins (RFC 6265).
    assert await decided(
        target, [("cookie", f"gk_consent={value}"), ("cookie", "gk_consent=forged")]
    )
    assert not await decided(
        target, [("cookie", "gk_consent=forged"), ("cookie", f"gk_consent={value}")]
    )
    assert not await decided(target, [("cookie", f"gk_consent=forged; gk_consent={value}")])


COOKIE_HEADERS = [
    b"gk_consent",
    b"gk_consent=",
    b";;;;",
    b"=====",
    b"gk_adblock=blocked",
    b"gk_adblock=blocked:1:x.y",
    b"gk_dismissed=" + b"sale." * 2000,
    b"gk_dismissed=....",
    b"gk_audit=1.2",
    b"gk_audit=99999999999999999999.ff",
    b'gk_consent="',
    b"\xff\xfe=\xff",
    b"_ga=\x00",
    b"a=" + b"b" * 200_000,
    b"; ".join(b"c%d=%d" % (i, i) for i in range(5000)),
]


@pytest.mark.parametrize("cookie", COOKIE_HEADERS, ids=lambda c: ascii(c[:30]))
@pytest.mark.parametrize(
    ("method", "path", "extra"),
    [
        ("GET", "/", [BROWSER]),
        ("GET", PREFIX + "/consent", []),
        ("POST", PREFIX + "/adblock/dismiss", [("content-type", FORM)]),
        ("POST", PREFIX + "/notifications/dismiss", [("content-type", FORM)]),
        ("GET", PREFIX + "/audit", []),
        ("GET", "/", [("x-gatekeeper-country", "KP")]),
    ],
)
async def test_hostile_cookie_headers(target, cookie, method, path, extra):
    body = b"id=sale" if method == "POST" else None
    response = await target.request(
        method, path, headers=[("cookie", cookie), *extra], content=body
    )
    check_answer(response)
    if path.endswith("/audit"):
        assert response.status_code == 401  # a forged auditor cookie opens nothing


# --- the other headers -----------------------------------------------------------------------

OTHER_HEADERS = [
    ("accept", b"application/json;q=nan, text/html;q=1e999, */*;q=-1"),
    ("accept", b"," * 10_000),
    ("accept", b"application/json;" + b"q=1;" * 5000),
    ("accept-language", b"de;q=nan, en;q=inf, *;q=-1"),
    ("accept-language", b"-, --, ;q=1, \xff\xfe;q=0.5"),
    ("accept-language", b"de-" * 5000),
    ("user-agent", b"Mozilla/5.0 \xff\xfe\x00"),
    ("user-agent", b"bot" * 10_000),
    ("sec-gpc", b"1"),
    ("sec-gpc", b"\xff1"),
    ("dnt", b"1 1"),
    ("x-forwarded-for", b"81.2.69.160, , ,\xff, [::1, 999.1.1.1"),
    ("x-forwarded-for", b",".join([b"81.2.69.160"] * 5000)),
    ("x-forwarded-for", b"unknown"),
    ("x-forwarded-for", b"\x00"),  # inet_pton raises ValueError for a NUL, not OSError
    ("x-forwarded-for", b"81.2.69.160\x00"),
    ("x-forwarded-for", b"::1\x00"),
    ("forwarded", b'for="[::1\x00]"'),
    ("forwarded", b'for="[2001:db8::1"; for=81.2.69.160, for=_hidden;proto=https'),
    ("forwarded", b'for=";;;"; by=x, ""'),
    ("forwarded", b'"' * 999),
    ("x-gatekeeper-country", b"\xdf"),  # Latin-1 sharp s: upper-cases to "SS"
    ("x-gatekeeper-country", b"EEA"),
    ("x-gatekeeper-country", b"US-\xff\xff"),
    ("x-gatekeeper-country", b"kp "),
    ("sec-fetch-dest", b"\xffdocument"),
    ("sec-fetch-mode", b"navigate\x00"),
    ("referer", b"http://[::1/\xff"),
    ("content-type", b"\xff/\xfe"),
    ("if-none-match", b"*" * 10_000),
    ("accept-encoding", b"gzip;q=\xff"),
    ("authorization", b"Basic \xff\xfe"),
    ("authorization", b"Bearer " + b"a" * 100_000),
    ("authorization", b"Basic " + b"=" * 64),
]


@pytest.mark.parametrize(("name", "value"), OTHER_HEADERS, ids=lambda v: ascii(v[:30]))
@pytest.mark.parametrize("peer", ["203.0.113.9", PROXY])
@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/"), ("GET", "/articles/live"), ("GET", "/?gk_country=%ff"), ("GET", PREFIX + "/consent"),
     ("POST", PREFIX + "/consent"), ("GET", PREFIX + "/audit"), ("GET", PREFIX + "/preferences")],
)  # fmt: skip
async def test_hostile_values_of_every_other_header(target, name, value, peer, method, path):
    body = b"action=accept_all" if method == "POST" else None
    extra = [("content-type", FORM)] if method == "POST" and name != "content-type" else []
    response = await target.request(
        method, path, headers=[(name, value), *extra], content=body, peer=peer
    )
    check_answer(response)


@pytest.mark.parametrize(
    ("peer", "headers", "status"),
    [
        (PROXY, [("x-forwarded-for", GB)], 451),
        (PROXY, [("x-forwarded-for", f"203.0.113.5, {GB}")], 451),
        (PROXY, [("x-forwarded-for", f"{GB}, 203.0.113.5")], 200),
        (PROXY, [("x-forwarded-for", f"{GB}, \xff")], 200),  # garbage stops the walk
        (PROXY, [("forwarded", f"for={GB}")], 451),
        (PROXY, [("forwarded", f'for="{GB}:4711";proto=https')], 451),
        (PROXY, [("forwarded", f"for={GB};for=203.0.113.5")], 200),  # two for= in one hop
        ("203.0.113.5", [("x-forwarded-for", GB)], 200),  # an untrusted peer's claim
        ("203.0.113.5", [("forwarded", f"for={GB}")], 200),
        (GB, [("x-forwarded-for", "203.0.113.5")], 451),
    ],
)
async def test_proxy_headers_count_only_from_trusted_proxies(target, peer, headers, status):
    response = await target.request("GET", "/articles/live", headers=headers, peer=peer)
    assert response.status_code == status


# --- huge headers ------------------------------------------------------------------------------


async def test_huge_distinct_headers_are_not_kept_after_the_answer(target):
    """uvicorn with httptools takes headers of any size; gatekeeper remembers what it
    derives from header bytes. 100 requests, each with distinct 256 KB Cookie, User-Agent,
    Accept-Language and X-Forwarded-For, and a 60 KB query: kept, they would hold over 130 MB."""
    big = 256 * 1024

    async def one(i: int) -> None:
        pad = b"%d" % i + b"x" * big
        headers = [
            ("cookie", b"gk_consent=" + pad + b"; gk_adblock=" + pad + b"; _ga=" + pad),
            ("user-agent", b"Mozilla/5.0 " + pad),
            ("accept-language", b"de-" + pad),
            ("x-forwarded-for", b"81.2.69.160, " + pad),
            ("accept", b"text/html"),
        ]
        # httpx sends URLs up to 64 KB.
        query = pad[:60_000].decode()
        response = await target.request("GET", f"/?q={query}", headers=headers, peer=PROXY)
        assert response.status_code == 200

    await one(-1)  # whatever the first request builds once
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for i in range(100):
            await one(i)
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    # What gatekeeper's own code allocated and still holds (the test client keeps some).
    ours = [tracemalloc.Filter(True, str(Path(gatekeeper.__file__).parent / "*"))]
    grown = after.filter_traces(ours).compare_to(before.filter_traces(ours), "lineno")
    kept = sum(stat.size_diff for stat in grown)
    assert kept < 5 * 1024 * 1024, f"{kept / 1e6:.0f} MB kept: {grown[:3]}"
