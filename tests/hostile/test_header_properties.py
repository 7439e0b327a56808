"""Generated hostile headers on every kind of request (hypothesis).

Any set of the headers gatekeeper reads, repeated or not, with values that matter mixed
with arbitrary bytes (in-process, so bytes a server would refuse get through too), from
a direct visitor, a trusted proxy or a located address, on the app's pages, the block
page and every endpoint: never a 500 or a hang; Set-Cookie, Link and Location name only
the validated Host; gatekeeper's own answers carry nosniff once; a consent post that is
refused leaves the log as it was.

`GATEKEEPER_HOSTILE_EXAMPLES` sets the examples per test (default 150).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.hostile.target import (
    AUTH,
    BROWSER,
    GB,
    PREFIX,
    PROXY,
    ROUTES,
    TOKEN,
    US_WA,
    check_answer,
)
from tests.hostile.test_header_cases import GOOD_HOSTS, HOSTILE_HOSTS, check_host_use

pytestmark = pytest.mark.asyncio(loop_scope="module")

EXAMPLES = int(os.environ.get("GATEKEEPER_HOSTILE_EXAMPLES", "150"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

MEANINGFUL: dict[str, list[bytes]] = {
    "origin": [b"http://www.example.com", b"https://www.example.com", b"http://evil.example",
               b"http://www.example.com:8080", b"null"],
    "sec-fetch-site": [b"same-origin", b"none", b"same-site", b"cross-site"],
    "sec-fetch-dest": [b"document", b"iframe", b"empty", b"script"],
    "sec-fetch-mode": [b"navigate", b"cors"],
    "cookie": [b"_ga=1", b"_ga=1; IDE=2", b"gk_consent=forged", b"gk_dismissed=sale",
               b"gk_adblock=blocked", b"gk_audit=1.2", b"_ga_ABC=1; gk_consent="],
    "accept": [b"text/html", b"application/json", b"application/problem+json", b"*/*"],
    "accept-language": [b"de", b"de-AT,en;q=0.5", b"*", b"fr"],
    "user-agent": [BROWSER[1].encode(), b"Googlebot/2.1", b"curl/8.0"],
    "x-forwarded-for": [GB.encode(), US_WA.encode(), b"203.0.113.5, " + GB.encode(), b"unknown"],
    "forwarded": [b"for=" + GB.encode(), b'for="[2001:218::1]"', b"for=_hidden"],
    "cf-connecting-ip": [GB.encode()],
    "cf-ipcountry": [b"KP", b"XX", b"T1"],
    "sec-gpc": [b"1", b"0"],
    "dnt": [b"1"],
    "x-gatekeeper-country": [b"KP", b"GB", b"US-CA", b"EEA", b"ZZ"],
    "referer": [b"http://www.example.com/page", b"http://evil.example/", b"http://[x/"],
    "content-type": [b"application/x-www-form-urlencoded", b"application/json", b"text/plain"],
    "authorization": [AUTH[1].encode(), b"Basic Og==", b"Bearer x"],
    "if-none-match": [b"*", b'"abc"'],
    "accept-encoding": [b"gzip", b"br"],
}  # fmt: skip

header = st.sampled_from(sorted(MEANINGFUL)).flatmap(
    lambda name: st.tuples(
        st.just(name),
        st.one_of(st.sampled_from(MEANINGFUL[name]), st.binary(max_size=80)),
    )
)
hosts = st.one_of(st.sampled_from(HOSTILE_HOSTS + GOOD_HOSTS), st.binary(max_size=40))
peers = st.sampled_from(["203.0.113.9", PROXY, GB, US_WA, "2001:218::1", "::ffff:81.2.69.160"])
pages = st.sampled_from(
    ["/", "/articles/live", "/articles/live/x", "/privacy", "/?gk_country=KP",
     "/?gk_country=%ff", *(PREFIX + p for p in ROUTES), f"{PREFIX}/audit?token={TOKEN}",
     PREFIX + "/nosuch"]
)  # fmt: skip
bodies = st.sampled_from(
    [None, b"action=accept_all&id=sale", b'{"action": "reject_all"}', b"action=save&categories=ads",
     b"\xff"]
)  # fmt: skip


@SETTINGS
@given(
    method=st.sampled_from(["GET", "GET", "HEAD", "POST"]),
    path=pages,
    headers=st.lists(header, max_size=10),
    host=hosts,
    peer=peers,
    body=bodies,
)
async def test_any_headers_on_any_request(target, method, path, headers, host, peer, body):
    before = await target.log_size()
    content = body if method == "POST" else None
    response = await target.request(
        method, path, headers=headers, content=content, host=host, peer=peer
    )
    check_answer(response)
    check_host_use(response, host)
    grown = await target.log_size() - before
    event(f"{method} {response.status_code}")
    on_consent = method == "POST" and path == PREFIX + "/consent"
    if on_consent and response.status_code >= 400:
        assert grown == 0, "a refused consent post changed the log"
    elif not on_consent:
        # A GPC visitor's first page view is recorded (the opt-out is evidence); nothing
        # else outside a consent post writes to the log.
        assert grown <= 1
        if grown:
            assert method == "GET" and response.status_code == 200
            assert any(name == "sec-gpc" for name, _ in headers)


@SETTINGS
@given(
    host=hosts,
    cookies=st.lists(st.sampled_from(["_ga", "_ga_X", "IDE", "gk_consent", "other"]), min_size=1),
    path=st.sampled_from(["/", "/articles/live", PREFIX + "/consent", PREFIX + "/nosuch"]),
)
async def test_expired_cookies_only_name_the_validated_host(target, host, cookies, path):
    cookie = "; ".join(f"{name}=1" for name in cookies)
    headers = [("cookie", cookie), ("x-gatekeeper-country", "GB"), BROWSER]
    response = await target.request("GET", path, headers=headers, host=host)
    check_answer(response)
    check_host_use(response, host)
    if {"_ga", "_ga_X", "IDE"} & set(cookies):
        # GB is opt-in and nothing was accepted: each refused cookie is expired.
        assert response.headers.get_list("set-cookie")
