"""Named hostile inputs against every endpoint under the prefix, through the whole
middleware: each gets a success or a 4xx that says why, never a 500 or a hang; refused
consent posts leave the consent log as it was; redirects name only same-site paths,
percent-encoded.

The cases are the ones an adversarial pass over the demo found (issue 17) and their
relatives; test_endpoint_properties.py generates the rest.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
from urllib.parse import quote

import pytest

from tests.hostile.target import (
    AUDIT,
    AUTH,
    FORM,
    HOSTILE_NEXT,
    PREFIX,
    ROUTES,
    Target,
    check_answer,
    check_location,
    reason,
    same_path,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

POSTS = ["/consent", "/notifications/dismiss", "/adblock/dismiss", "/beacon"]
REDIRECTING = {
    "/consent": "action=accept_all",
    "/notifications/dismiss": "id=sale",
    "/adblock/dismiss": "",
}


def form(*pairs: tuple[str, str]) -> bytes:
    """A form body; lone surrogates are written as the bytes they stand for, as a
    hostile client would send them."""
    return "&".join(
        f"{quote(k.encode('utf-8', 'surrogatepass'))}={quote(v.encode('utf-8', 'surrogatepass'))}"
        for k, v in pairs
    ).encode()


async def post_and_count(target: Target, path: str, body: bytes, content_type=FORM, **options):
    before = await target.log_size()
    response = await target.post(PREFIX + path, body, content_type, **options)
    check_answer(response)
    grown = await target.log_size() - before
    if path == "/consent" and response.status_code < 400:
        assert grown == 1, "a decision acknowledged without exactly one record"
    else:
        assert grown == 0, f"{response.status_code}: the log changed"
    return response


# --- next ----------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", REDIRECTING)
@pytest.mark.parametrize("next_value", HOSTILE_NEXT, ids=ascii)
async def test_hostile_next_redirects_only_to_its_own_validated_path(target, endpoint, next_value):
    fields = [tuple(p.split("=")) for p in REDIRECTING[endpoint].split("&") if p]
    body = form(*fields, ("next", next_value))
    response = await post_and_count(target, endpoint, body)
    if response.status_code == 400:
        assert "UTF-8" in reason(response)  # the lone surrogate's bytes
        return
    assert response.status_code == 303
    location = response.headers["location"]
    check_location(location)
    # Either the page asked for, only percent-encoded, or the site's front page.
    assert same_path(location, next_value) or location == "/", (next_value, location)
    if next_value.startswith(("//", "/\\", "/\t", "/\n", "/\r", "/.//", "/%2e/", "/a/../")):
        assert location == "/"


@pytest.mark.parametrize("next_value", ["/%E2%82%AC", "/。evil.example", "/\u2028evil"])
async def test_non_latin_1_next_is_logged_once_and_acknowledged(target, next_value):
    # Issue 17: these gave a 500 after the consent was logged, with no cookie set.
    response = await post_and_count(
        target, "/consent", form(("action", "accept_all"), ("next", next_value))
    )
    assert response.status_code == 303
    assert response.headers["location"] == quote(next_value, safe="/%")
    assert response.headers["set-cookie"].startswith("gk_consent=")


@pytest.mark.parametrize("next_value", HOSTILE_NEXT, ids=ascii)
async def test_the_preferences_page_links_back_only_to_validated_paths(target, next_value):
    query = quote(next_value.encode("utf-8", "surrogatepass"), safe="")
    response = await target.request("GET", f"{PREFIX}/preferences?next={query}")
    check_answer(response)
    assert response.status_code == 200
    found = re.findall(r'name="next" value="([^"]*)"', response.text)
    found += re.findall(r'<a href="([^"]*)">', response.text)
    assert found
    for value in found:
        check_location(html.unescape(value))


@pytest.mark.parametrize("next_value", HOSTILE_NEXT, ids=ascii)
async def test_referer_naming_the_page_is_validated_too(target, next_value):
    # Without `next`, the page a choice was made on comes from the Referer.
    path = quote(next_value.encode("utf-8", "surrogatepass"), safe="/%?#:")
    await post_and_count(
        target,
        "/consent",
        b"action=reject_all",
        headers=[("referer", f"http://www.example.com{path}")],
    )


@pytest.mark.parametrize(
    "referer",
    [b"http://[evil/", b"http://[::1", b"http://www.example.com:99999/x", b"http://a:b:c/",
     b"\xff\xfe", b"//www.example.com/x", b"http://www.example.com/\xe2\x82\xac", b":", b"["],
)  # fmt: skip
async def test_a_malformed_referer_is_no_page(target, referer):
    # `http://[evil/` made urlsplit raise, and the consent post answered 500.
    response = await post_and_count(
        target, "/consent", b"action=accept_all", headers=[("referer", referer)]
    )
    assert response.status_code == 303


# --- bodies --------------------------------------------------------------------------------

NOT_UTF_8 = "form body is not UTF-8"
BROKEN_FORMS = [
    (b"action=accept_all&next=/%ff", NOT_UTF_8),  # issue 17
    (b"action=accept_all&%ff=1", NOT_UTF_8),
    (b"action=%ff", NOT_UTF_8),
    (b"action=accept_all&next=\xff", NOT_UTF_8),
    (b"\xff\xfe\xfd", NOT_UTF_8),
    (b"action=accept_all&next=/%ed%a0%80", NOT_UTF_8),  # an encoded surrogate
    (b"action=accept_all&next=/%c0%af", NOT_UTF_8),  # overlong UTF-8 for '/'
    (b"action=save&categories=%ff", NOT_UTF_8),
    (b"action=accept_all&" + b"x=1&" * 70, "more than 64 fields"),
]


@pytest.mark.parametrize("endpoint", REDIRECTING)
@pytest.mark.parametrize(("body", "says"), BROKEN_FORMS, ids=ascii)
async def test_broken_form_bodies_are_refused_before_anything_happens(target, endpoint, body, says):
    response = await post_and_count(target, endpoint, body)
    assert response.status_code == 400
    assert reason(response) == says
    assert "set-cookie" not in response.headers


def nested(depth: int, opening: str = "[", closing: str = "]") -> bytes:
    return (opening * depth + closing * depth).encode()


JSON_BODIES = [
    nested(4000),  # issue 17: 4,000 deep within 8 KB
    b'{"a":' * 1500 + b"1" + b"}" * 1500,
    b'{"action": ' + nested(3000) + b"}",
    b'{"action": "accept_all", "categories": ' + nested(9) + b"}",
    b'{"action": "save", "categories": [{"a": "b"}]}',
    b'{"action": "save", "categories": "analytics"}',
    b'{"action": "accept_all", "next": {"path": "/x"}}',
    b'{"action": "accept_all", "next": "\\ud800"}',
    b'{"action": "save", "categories": ["\\ud800"]}',
    b'{"\\ud800": "x"}',
    b'{"action": "accept_all", "next": 1e999999}',
    b'{"action": "accept_all", "next": ' + b"9" * 5000 + b"}",
    b'{"action": NaN}',
    b'{"action": Infinity}',
    b'{"action": "accept_all"',
    b'{"action": "accept_all"}}',
    b"[]",
    b'"accept_all"',
    b"null",
    b"0",
    b"",
    b"\xef\xbb\xbf{}",
    '{"action": "accept_all"}'.encode("utf-16"),
    b'{"action": "\xff"}',
    b'{"action": "accept_all", "action": "withdraw"}',
    json.dumps({f"k{i}": "v" for i in range(65)}).encode(),
    json.dumps({"action": "save", "categories": ["analytics"] * 1000}).encode(),
]


@pytest.mark.parametrize("endpoint", POSTS)
@pytest.mark.parametrize("body", JSON_BODIES, ids=lambda b: ascii(b[:40]))
async def test_hostile_json_bodies(target, endpoint, body):
    response = await post_and_count(target, endpoint, body, "application/json")
    assert response.headers["content-type"] == "application/json"


CONTENT_TYPES = [
    None,
    "",
    "text/plain",
    "application/json; charset=utf-16",
    "application/JSON",
    "multipart/form-data; boundary=x",
    "application/x-www-form-urlencoded; charset=latin-1",
    "text/html",
    "application/xml",
    "image/gif",
    ";;;",
    "application/json\x00",
    "\xff\xfe",
]


@pytest.mark.parametrize("endpoint", POSTS)
@pytest.mark.parametrize("content_type", CONTENT_TYPES, ids=ascii)
@pytest.mark.parametrize(
    "body", [b"action=accept_all&id=sale", b'{"action": "accept_all", "id": "sale"}']
)
async def test_wrong_content_types(target, endpoint, content_type, body):
    await post_and_count(target, endpoint, body, content_type)


@pytest.mark.parametrize("endpoint", POSTS)
@pytest.mark.parametrize("size", [0, 8 * 1024, 8 * 1024 + 1, 64 * 1024, 1024 * 1024])
async def test_empty_and_oversized_bodies(target, endpoint, size):
    body = b"action=accept_all&pad=" + b"a" * max(0, size - 22) if size else b""
    response = await post_and_count(target, endpoint, body)
    if size > 8 * 1024:
        assert response.status_code == 413
        assert "larger than" in reason(response)


async def test_a_streamed_oversized_body_is_refused_without_reading_it_all(target):
    sent = 0

    async def chunks():
        nonlocal sent
        for _ in range(1000):  # 64 MB if it were all read
            sent += 1
            yield b"a" * 65536

    response = await post_and_count(target, "/consent", chunks())  # type: ignore[arg-type]
    assert response.status_code == 413
    assert sent < 1000


async def test_repeated_fields_take_the_first_and_refuse_unknown_categories(target):
    body = (
        b"action=save&action=accept_all&categories=analytics&categories=nosuch&next=/a&next=//evil"
    )
    response = await post_and_count(target, "/consent", body)
    assert response.status_code == 400
    assert reason(response) == "unknown categories: nosuch"
    body = b"action=save&action=accept_all&categories=analytics&next=/a&next=//evil"
    response = await post_and_count(target, "/consent", body)
    assert response.headers["location"] == "/a"


@pytest.mark.parametrize(
    "body",
    [b"action=" + b"a" * 7000, b"action=save&categories=" + b"x" * 7000, b"action=accept_all&layer=" + b"L" * 7000,
     b"id=" + b"n" * 7000],
)  # fmt: skip
async def test_overlong_values_are_refused_with_a_short_reason(target, body):
    for endpoint in ("/consent", "/notifications/dismiss"):
        response = await post_and_count(target, endpoint, body)
        if response.status_code >= 400:
            assert len(reason(response)) < 300


async def test_refusals_come_before_the_log_is_touched(target):
    # Each of these is refused on its own input, with the log left as it was.
    cases = [
        b"action=save&categories=analytics&categories=nosuch",
        b"action=accept_all&layer=popup",
        b"action=maybe",
        b"",
    ]
    for body in cases:
        response = await post_and_count(target, "/consent", body)
        assert response.status_code == 400
    response = await post_and_count(
        target, "/consent", b"action=accept_all", headers=[("origin", "https://evil.example")]
    )
    assert response.status_code == 403


# --- disconnects ---------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", POSTS)
@pytest.mark.parametrize("after", [0, 1, 3])
async def test_a_client_that_goes_away_mid_body_costs_nothing(target, endpoint, after):
    before = await target.log_size()
    messages = [{"type": "http.request", "body": b"action=acc", "more_body": True}] * after
    messages.append({"type": "http.disconnect"})
    sent: list[dict] = []

    async def receive():
        if messages:
            return messages.pop(0)
        await asyncio.Event().wait()  # a server sends nothing after the disconnect

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": PREFIX + endpoint, "raw_path": (PREFIX + endpoint).encode(),
        "query_string": b"", "root_path": "", "client": ("203.0.113.9", 1), "server": ("www.example.com", 80),
        "headers": [(b"host", b"www.example.com"), (b"content-type", FORM.encode())],
    }  # fmt: skip
    async with asyncio.timeout(30):
        await target.gatekeeper(scope, receive, send)
    assert await target.log_size() == before
    if sent:  # the server drops it; what it would have said is a 400
        assert sent[0]["status"] == 400


# --- every route, every method ---------------------------------------------------------------

METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND"]


@pytest.mark.parametrize("path", [*ROUTES, "", "/", "/nosuch", "/static/", "/static/nosuch.js",
                                  "/static/../static/gatekeeper.css", "/audit/", "/consent/", "/%ff",
                                  "/\u2028", "/static/gatekeeper.js%00"])  # fmt: skip
@pytest.mark.parametrize("method", METHODS)
async def test_every_route_answers_every_method(target, path, method):
    before = await target.log_size()
    headers = [AUTH] if path in AUDIT else []
    response = await target.request(method, PREFIX + path, headers=headers)
    check_answer(response)
    if path not in ROUTES:
        assert response.status_code == 404
    elif method == "HEAD" and "GET" in ROUTES[path]:
        # GET without the body, and no more a decision than GET is
        get = await target.request("GET", PREFIX + path, headers=headers)
        assert (response.status_code, response.content) == (get.status_code, b"")
        assert response.headers["content-type"] == get.headers["content-type"]
    elif method not in ROUTES[path]:
        assert response.status_code == 405
        assert "HEAD" in response.headers["allow"] or "GET" not in ROUTES[path]
    assert await target.log_size() == before
