"""Generated hostile input against every endpoint under the prefix (hypothesis).

Every field, query parameter and body an endpoint reads is drawn from values that
matter (the real actions, categories, notification id and view tokens, the hostile
`next` values) mixed with arbitrary text (lone surrogates included), raw bytes, broken
percent-escapes, repeated and unknown fields, and JSON of any shape and depth. Whatever
arrives, the answer is a success or a 4xx that says why; never a 500, never a hang; a
consent post that is refused leaves the consent log unchanged, one that is acknowledged
adds exactly one record, and no other endpoint ever writes to it; a redirect names a
same-site path, percent-encoded.

`GATEKEEPER_HOSTILE_EXAMPLES` sets the examples per test (default 150); the figures in
docs/operators.md were measured with 2,000.
"""

from __future__ import annotations

import json
import os
import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.hostile.target import (
    AUDIT,
    AUTH,
    BROWSER,
    HOSTILE_NEXT,
    PREFIX,
    ROUTES,
    TOKEN,
    Target,
    check_answer,
    same_path,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

EXAMPLES = int(os.environ.get("GATEKEEPER_HOSTILE_EXAMPLES", "150"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- values ----------------------------------------------------------------------------------

# Any code point, lone surrogates included (hypothesis leaves them out unless asked).
any_text = st.text(st.characters(exclude_categories=()), max_size=60)
latin_1 = st.binary(max_size=40).map(lambda b: b.decode("latin-1"))
known = st.sampled_from(
    ["accept_all", "reject_all", "save", "withdraw", "banner", "preferences", "necessary",
     "analytics", "ads", "sale", "en", "de", "GB", "KP", "opt_in", "given", "-1", "0", "500",
     "2026-11-01", "2026-11-01T12:00:00Z", "9999-12-31", "0001-01-01", TOKEN, ""]
)  # fmt: skip
value = st.one_of(known, st.sampled_from(HOSTILE_NEXT), any_text, latin_1)
names = st.sampled_from(
    ["action", "categories", "next", "layer", "id", "token", "t", "since", "until", "event",
     "mode", "country", "consent_id", "after", "limit", "script", "cosmetic", "image",
     "proof", "receipt", "gk_country"]
)  # fmt: skip
field_name = st.one_of(names, names, any_text)
fields = st.lists(st.tuples(field_name, value), max_size=12)


def _escape(text: str, how: str) -> str:
    data = text.encode("utf-8", "surrogatepass")
    if how == "raw":
        return data.decode("latin-1")
    if how == "plus":
        return quote(data, safe="").replace("%20", "+")
    return quote(data, safe="")


@st.composite
def form_bodies(draw: st.DrawFn) -> bytes:
    """Form bodies as clients write them, and as they should not."""
    how = draw(st.sampled_from(["quote", "plus", "raw"]))
    pairs = draw(fields)
    text = "&".join(f"{_escape(k, how)}={_escape(v, how)}" for k, v in pairs)
    body = text.encode("latin-1", "replace")
    for _ in range(draw(st.integers(0, 3))):  # splice in broken escapes and bytes
        at = draw(st.integers(0, len(body)))
        piece = draw(st.sampled_from([b"%", b"%f", b"%ff", b"%zz", b"%00", b"&", b"=", b"&&",
                                      b"\xff", b"\x00", b";", b"+", b"%ed%a0%80", b"%c0%af"]))  # fmt: skip
        body = body[:at] + piece + body[at:]
    return body


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | value,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(field_name, inner, max_size=4),
    max_leaves=12,
)


@st.composite
def json_bodies(draw: st.DrawFn, token: str = "") -> bytes:
    shape = draw(st.sampled_from(["object", "any", "deep", "broken"]))
    if shape == "deep":
        depth = draw(st.integers(1, 5000))
        opening, closing = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
        inner = draw(st.sampled_from(["1", '"accept_all"', "[]", "{}"]))
        return (opening * depth + inner + closing * depth).encode()
    if shape == "any":
        data = draw(json_values)
    else:
        data = draw(st.dictionaries(field_name, json_values, max_size=8))
        if token and draw(st.booleans()):
            data["token"] = token
    text = json.dumps(data, ensure_ascii=draw(st.booleans()))
    body = text.encode("utf-8", "surrogatepass")
    if shape == "broken" and body:
        cut = draw(st.integers(0, len(body)))
        body = body[:cut] + draw(st.binary(max_size=4)) + body[cut:]
    return body


content_types = st.sampled_from(
    [None, "application/x-www-form-urlencoded", "application/json", "text/plain",
     "application/json; charset=utf-8", "text/plain;charset=UTF-8", "multipart/form-data",
     "application/octet-stream", "", "application/x-www-form-urlencoded; charset=utf-16"]
)  # fmt: skip
accepts = st.sampled_from(
    [None, "application/json", "text/html", "*/*", "application/json;q=0", ""]
)
origins = st.sampled_from(
    [None, "http://www.example.com", "https://www.example.com", "http://www.example.com:8080",
     "http://evil.example", "null", "http://[::1", "http://www.example.com:", "\xff"]
)  # fmt: skip
fetch_sites = st.sampled_from([None, "same-origin", "none", "same-site", "cross-site", "bogus"])
peers = st.tuples(st.integers(0, 255), st.integers(0, 255)).map(lambda p: f"198.18.{p[0]}.{p[1]}")
bodies = st.one_of(form_bodies(), json_bodies(), st.binary(max_size=200))


def header_lines(content_type, accept, origin, site) -> list[tuple[str, str]]:
    lines = [("content-type", content_type), ("accept", accept), ("origin", origin),
             ("sec-fetch-site", site)]  # fmt: skip
    return [(name, value) for name, value in lines if value is not None]


async def post_checked(target: Target, path: str, body: bytes, headers, peer: str):
    before = await target.log_size()
    response = await target.request("POST", PREFIX + path, headers=headers, content=body, peer=peer)
    check_answer(response)
    grown = await target.log_size() - before
    event(f"{path} {response.status_code}")
    if path == "/consent" and response.status_code < 400:
        assert grown == 1, "an acknowledged decision needs exactly one record"
    else:
        assert grown == 0, f"{path} answered {response.status_code} and the log changed"
    return response


# --- POST endpoints ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/consent", "/notifications/dismiss", "/adblock/dismiss"])
@SETTINGS
@given(
    body=bodies,
    content_type=content_types,
    accept=accepts,
    origin=origins,
    site=fetch_sites,
    peer=peers,
)
async def test_any_post_body(target, path, body, content_type, accept, origin, site, peer):
    await post_checked(target, path, body, header_lines(content_type, accept, origin, site), peer)


@pytest.mark.parametrize("path", ["/consent", "/notifications/dismiss", "/adblock/dismiss"])
@SETTINGS
@given(
    action=st.sampled_from(["accept_all", "reject_all", "save", "withdraw", "sale"]),
    next_value=st.one_of(st.sampled_from(HOSTILE_NEXT), any_text.map(lambda t: "/" + t)),
    extra=fields,
)
async def test_any_next_with_an_otherwise_valid_post(target, path, action, next_value, extra):
    pairs = [("action", action), ("id", action), ("next", next_value), *extra]
    body = "&".join(f"{_escape(k, 'quote')}={_escape(v, 'quote')}" for k, v in pairs).encode()
    response = await post_checked(
        target, path, body, [("content-type", "application/x-www-form-urlencoded")], "198.51.100.7"
    )
    if response.status_code == 303:
        location = response.headers["location"]
        assert location == "/" or same_path(location, next_value), (next_value, location)


async def view_token(target: Target) -> str:
    page = await target.request("GET", "/", headers=[("accept", "text/html"), BROWSER])
    found = re.search(r'data-token="([^"]+)"', page.text)
    assert found, "the page has an adblock view token"
    return found.group(1)


@st.composite
def beacon_reports(draw: st.DrawFn, token: str) -> bytes:
    """Reports shaped like the real one, each field right or wrong."""
    answer = st.one_of(st.booleans(), st.booleans(), st.none(), json_values)
    report = {
        "token": draw(st.sampled_from([token, token, token[:-1] + "A", token[:20]]) | json_values),
        "script": draw(answer),
        "cosmetic": draw(answer),
    }
    for name in ("image", "proof", "receipt"):
        if draw(st.booleans()):
            report[name] = draw(answer)
    for name in draw(st.lists(st.sampled_from(list(report)), max_size=2)):
        report.pop(name, None)
    return json.dumps(report).encode()


@SETTINGS
@given(
    data=st.data(),
    content_type=st.sampled_from(["application/json", "text/plain"]) | content_types,
    peer=peers,
)
async def test_any_beacon(target, data, content_type, peer):
    token = await view_token(target)
    body = data.draw(st.one_of(beacon_reports(token), json_bodies(token), bodies), label="body")
    headers = [("content-type", content_type)] if content_type is not None else []
    response = await post_checked(target, "/beacon", body, headers, peer)
    if response.status_code == 200:
        assert set(response.json()) == {"verdict", "receipt"}


# --- GET endpoints -----------------------------------------------------------------------------

query_pairs = st.lists(st.tuples(field_name, value), max_size=8)


def query_string(pairs, how: str) -> str:
    return "&".join(f"{_escape(k, how)}={_escape(v, how)}" for k, v in pairs)


@pytest.mark.parametrize(
    "path", sorted(set(ROUTES) - {"/notifications/dismiss", "/adblock/dismiss", "/beacon"})
)
@SETTINGS
@given(
    pairs=query_pairs, how=st.sampled_from(["quote", "plus"]), auth=st.booleans(), accept=accepts
)
async def test_any_query(target, path, pairs, how, auth, accept):
    headers = [AUTH] if auth and path in AUDIT else []
    if accept is not None:
        headers.append(("accept", accept))
    before = await target.log_size()
    qs = query_string(pairs, how)
    response = await target.request("GET", f"{PREFIX}{path}?{qs}", headers=headers)
    check_answer(response)
    event(f"{path} {response.status_code}")
    assert await target.log_size() == before


@SETTINGS
@given(
    rest=st.one_of(any_text, st.sampled_from(["/static/", "/static/gatekeeper.js", "/audit/x"])),
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"]),
)
async def test_any_path_under_the_prefix(target, rest, method):
    path = PREFIX + "/" + quote(rest.encode("utf-8", "surrogatepass"), safe="/")
    response = await target.request(method, path, content=b"x" if method == "POST" else None)
    check_answer(response)
    event(str(response.status_code))
