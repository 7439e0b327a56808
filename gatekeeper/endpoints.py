"""gatekeeper's own endpoints under the prefix, and the HTTP rules they share.

`{prefix}/static/` serves gatekeeper's own JS and CSS (`static_response`); which files
there are, and their hashed names, is html.assets' business.

Every state-changing endpoint is a plain form post that also answers JSON, so notices work
without JavaScript (303 back to `next`) and with it (JSON, no reload). The rules that keep
those posts safe live here once: same-origin only, `next` only a same-site relative path
(percent-encoded before it reaches a header), bodies capped, malformed input a 4xx with
the reason — checked before a handler does anything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl, quote, urlsplit

from starlette.types import Receive, Scope

from .http import Headers, origin_of, request_host
from .visitor import Visitor

Handler = Callable[["Request"], Awaitable["Response"]]

MAX_BODY = 8 * 1024
MAX_FIELDS = 64
MAX_JSON_DEPTH = 8
MAX_NEXT = 2048
# What a path may keep as it is in a Location header; everything else is percent-encoded
# (UTF-8), so any `next` a visitor sends becomes ASCII that means the same path.
_PATH_SAFE = "/-._~!$&'()*+,;=:@%?#"
# A `.` or `..` segment, also spelled %2e as browsers read it: `/.//evil.example` resolves
# to the path `//evil.example`, which an app that redirects to its own path (adding a
# trailing slash, say) would send to another host.
_DOT_SEGMENT = re.compile(r"(?:^|/)(?:\.|%2e){1,2}(?:/|$)", re.IGNORECASE)


class BadRequest(Exception):
    """Answered as a 4xx with the reason; never a 500."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(slots=True)
class Response:
    status: int = 200
    body: bytes = b""
    content_type: bytes = b"application/json"
    headers: Headers = field(default_factory=list)
    cache_control: bytes = b"no-store"

    def set_cookie(self, header_value: str) -> None:
        """Add a Set-Cookie header built elsewhere (prefer `gatekeeper.http.set_cookie`)."""
        self.headers.append((b"set-cookie", header_value.encode("latin-1")))


def json_response(data: Any, status: int = 200) -> Response:
    body = json.dumps(data, separators=(",", ":")).encode()
    return Response(status=status, body=body)


def text_response(text: str, status: int) -> Response:
    return Response(
        status=status, body=text.encode() + b"\n", content_type=b"text/plain; charset=utf-8"
    )


def redirect_to(path: str) -> Response:
    """A 303 to `path`, which must come from `safe_next` (validated and ASCII)."""
    return Response(
        status=303,
        content_type=b"text/plain; charset=utf-8",
        headers=[(b"location", path.encode("ascii"))],
    )


redirect = redirect_to


def safe_next(value: str | None, fallback: str = "/") -> str:
    """A same-site relative path to return to, percent-encoded; else `fallback`.

    Refuses absolute URLs, scheme-relative `//host` and `/\\host` (browsers read both as
    another host), dot segments, control characters, and anything over 2 KB.
    """
    if not value or len(value) > MAX_NEXT or not value.startswith("/"):
        return fallback
    if value.startswith(("//", "/\\")):
        return fallback
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value):
        return fallback
    try:
        encoded = quote(value, safe=_PATH_SAFE, errors="strict")
    except UnicodeEncodeError:
        return fallback  # a lone surrogate is no path
    parts = urlsplit(encoded)
    if parts.scheme or parts.netloc or encoded.startswith("//"):
        return fallback
    if _DOT_SEGMENT.search(parts.path):
        return fallback
    return encoded


def _depth(value: Any, limit: int) -> int:
    if limit < 0:
        return 0
    if isinstance(value, dict):
        return 1 + max((_depth(v, limit - 1) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v, limit - 1) for v in value), default=0)
    return 0


class Request:
    """A request to one of gatekeeper's endpoints."""

    __slots__ = ("_form", "body", "field_limit", "scope", "visitor")

    def __init__(
        self, scope: Scope, visitor: Visitor, body: bytes = b"", field_limit: int = MAX_FIELDS
    ) -> None:
        self.scope = scope
        self.visitor = visitor
        self.body = body
        self.field_limit = field_limit
        self._form: dict[str, list[str]] | None = None

    @property
    def method(self) -> str:
        return self.scope["method"]

    @property
    def wants_json(self) -> bool:
        return "application/json" in self.visitor.header(b"accept") or self.is_json

    @property
    def content_type(self) -> bytes:
        value = self.visitor.raw_headers.get(b"content-type", b"")
        return value.split(b";")[0].strip().lower()

    @property
    def is_json(self) -> bool:
        return self.content_type == b"application/json"

    @property
    def secure(self) -> bool:
        return self.scope.get("scheme") == "https"

    def query(self) -> dict[str, str]:
        return dict(parse_qsl(self.scope.get("query_string", b"").decode("latin-1")))

    def fields(self) -> dict[str, list[str]]:
        """The posted fields, from a form or a JSON object; lists for repeated names."""
        if self._form is None:
            self._form = self._json_fields() if self.is_json else self._form_fields()
        return self._form

    def _json_fields(self) -> dict[str, list[str]]:
        try:
            data = json.loads(self.body or b"{}")
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise BadRequest("body is not valid JSON") from None
        if not isinstance(data, dict):
            raise BadRequest("JSON body must be an object")
        if _depth(data, MAX_JSON_DEPTH) > 2:
            raise BadRequest("JSON body must be an object of strings or lists of strings")
        if len(data) > self.field_limit:
            raise BadRequest(f"more than {self.field_limit} fields")
        form: dict[str, list[str]] = {}
        for key, value in data.items():
            items = value if isinstance(value, list) else [value]
            if not all(isinstance(item, str | int | float | bool) for item in items):
                raise BadRequest(f"field {key[:40]!r} must be a string or a list of strings")
            form[key] = [str(item) for item in items]
        return form

    def _form_fields(self) -> dict[str, list[str]]:
        try:
            text = self.body.decode("utf-8")
            pairs = parse_qsl(
                text, keep_blank_values=True, errors="strict", max_num_fields=self.field_limit
            )
        except UnicodeDecodeError:
            raise BadRequest("form body is not UTF-8") from None
        except ValueError:
            raise BadRequest(f"more than {self.field_limit} fields") from None
        form: dict[str, list[str]] = {}
        for key, value in pairs:
            form.setdefault(key, []).append(value)
        return form

    def field(self, name: str) -> str | None:
        values = self.fields().get(name)
        return values[0] if values else None

    def next_path(self) -> str:
        """The validated, percent-encoded page to return to (form field `next`)."""
        return safe_next(self.field("next"))

    def page(self) -> str | None:
        """The same-site page this request was made from: `next`, else the Referer's path
        when the Referer is this site; None when neither says."""
        found = safe_next(self.field("next"), "")
        if found:
            return found
        referer = self.visitor.header(b"referer")
        if not referer:
            return None
        try:
            parts = urlsplit(referer)
        except ValueError:  # "http://[evil/": an unbalanced IPv6 bracket names no page
            return None
        host = request_host(self.scope)
        if host is None or parts.netloc.lower() != host:
            return None
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        found = safe_next(path, "")
        return found or None

    def check_same_origin(self) -> None:
        """Refuse cross-site posts (CSRF): by Sec-Fetch-Site, else by Origin (scheme, host
        and port must all be this request's own)."""
        site = self.visitor.raw_headers.get(b"sec-fetch-site")
        if site is not None:
            # same-site is refused too: a sibling subdomain is another party.
            if site not in (b"same-origin", b"none"):
                raise BadRequest("cross-site requests are refused", 403)
            return
        origin = self.visitor.raw_headers.get(b"origin")
        if origin is None:
            return  # no browser signal at all: a same-origin form post from an old browser
        host = request_host(self.scope)
        if host is None:
            raise BadRequest("the Host header is not valid", 400)
        scheme = self.scope.get("scheme", "http")
        try:
            parts = urlsplit(origin.decode("latin-1"))
            theirs = origin_of(parts.scheme, parts.netloc.lower()) if parts.netloc else None
        except ValueError:
            theirs = None
        if theirs is None or theirs != origin_of(scheme, host):
            raise BadRequest("cross-site requests are refused", 403)


async def read_body(receive: Receive, limit: int = MAX_BODY) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise BadRequest("client went away", 400)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BadRequest(f"body larger than {limit} bytes", 413)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def response_headers(response: Response) -> Headers:
    return [
        (b"content-type", response.content_type),
        (b"content-length", b"%d" % len(response.body)),
        (b"cache-control", response.cache_control),
        (b"x-content-type-options", b"nosniff"),
        *response.headers,
    ]


@dataclass(frozen=True, slots=True)
class Route:
    methods: frozenset[str]
    handler: Handler
    body_limit: int = MAX_BODY
    field_limit: int = MAX_FIELDS


class StaticFile(Protocol):
    """One of gatekeeper's static files, read and compressed once (`html.assets.Asset`)."""

    @property
    def body(self) -> bytes: ...
    @property
    def gzipped(self) -> bytes: ...
    @property
    def content_type(self) -> bytes: ...
    @property
    def etag(self) -> bytes: ...


def static_response(file: StaticFile | None, scope: Scope) -> Response:
    """The answer for a static file (None: no such file): cached for a year, since its
    name changes with its content; gzipped when the client accepts it."""
    if file is None:
        return text_response("not found", 404)
    if scope["method"] not in ("GET", "HEAD"):
        response = text_response("method not allowed", 405)
        response.headers.append((b"allow", b"GET, HEAD"))
        return response
    accepts_gzip = False
    not_modified = False
    for name, value in scope.get("headers", []):
        if name == b"accept-encoding" and b"gzip" in value:
            accepts_gzip = True
        elif name == b"if-none-match" and file.etag in value:
            not_modified = True
    response = Response(
        status=304 if not_modified else 200,
        body=b"" if not_modified else file.gzipped if accepts_gzip else file.body,
        content_type=file.content_type,
        headers=[(b"etag", file.etag), (b"vary", b"Accept-Encoding")],
        cache_control=b"public, max-age=31536000, immutable",
    )
    if accepts_gzip and not not_modified:
        response.headers.append((b"content-encoding", b"gzip"))
    return response


class Endpoints:
    """Answers requests under the prefix: exact routes below it, `{prefix}/static/...`.

    `static` finds a static file by its name below `{prefix}/static/`.
    """

    def __init__(
        self,
        prefix: str,
        routes: Mapping[str, Route],
        static: Callable[[str], StaticFile | None] | None = None,
    ) -> None:
        self.prefix = prefix
        self.routes = {prefix + path: route for path, route in routes.items()}
        self.static = static
        self.static_base = prefix + "/static/"

    def owns(self, path: str) -> bool:
        """Whether `path` is gatekeeper's (`/_gatekeeperish` belongs to the app)."""
        return path == self.prefix or path.startswith(self.prefix + "/")

    async def answer(self, scope: Scope, receive: Receive, visitor: Visitor) -> Response:
        path: str = scope["path"]
        if self.static is not None and path.startswith(self.static_base):
            return static_response(self.static(path[len(self.static_base) :]), scope)
        route = self.routes.get(path)
        if route is None:
            return json_response({"error": "not found"}, 404)
        method = scope["method"]
        if method not in route.methods and not (method == "HEAD" and "GET" in route.methods):
            # HEAD is GET without the body (RFC 9110 9.3.2), which the responder drops.
            allowed = route.methods | {"HEAD"} if "GET" in route.methods else route.methods
            response = json_response({"error": "method not allowed"}, 405)
            response.headers.append((b"allow", ", ".join(sorted(allowed)).encode()))
            return response
        request = Request(scope, visitor, field_limit=route.field_limit)
        try:
            if scope["method"] == "POST":
                request.body = await read_body(receive, route.body_limit)
                request.check_same_origin()
            return await route.handler(request)
        except BadRequest as exc:
            return json_response({"error": exc.reason}, exc.status)
