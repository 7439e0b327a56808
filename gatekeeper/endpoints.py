"""gatekeeper's own endpoints under the prefix, and the HTTP rules they share.

Every state-changing endpoint is a plain form post that also answers JSON, so notices work
without JavaScript (303 back to `next`) and with it (JSON, no reload). The rules that keep
those posts safe live here once: same-site only, `next` only a same-site relative path,
bodies capped, malformed input a 4xx with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .visitor import SCOPE_KEY, Visitor

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Handler = Callable[["Request"], Awaitable["Response"]]

MAX_BODY = 8 * 1024


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
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)

    def set_cookie(self, header_value: str) -> None:
        self.headers.append((b"set-cookie", header_value.encode("latin-1")))


def json_response(data: Any, status: int = 200) -> Response:
    body = json.dumps(data, separators=(",", ":")).encode()
    return Response(status=status, body=body)


def redirect(location: str) -> Response:
    return Response(
        status=303,
        body=b"",
        content_type=b"text/plain; charset=utf-8",
        headers=[(b"location", location.encode("latin-1"))],
    )


def safe_next(value: str | None, fallback: str = "/") -> str:
    """A same-site relative path to return to, or `fallback`.

    Refuses absolute URLs, scheme-relative `//host` and `/\\host` (browsers read both as
    another host), and control characters.
    """
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return fallback
    if any(ord(c) < 0x20 or c == "\x7f" for c in value):
        return fallback
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return fallback
    return value


@dataclass(slots=True)
class Request:
    scope: Scope
    visitor: Visitor
    body: bytes = b""
    _form: dict[str, list[str]] | None = None

    @property
    def method(self) -> str:
        return self.scope["method"]

    @property
    def wants_json(self) -> bool:
        accept = self.visitor.headers.get("accept", "")
        return "application/json" in accept or self.is_json

    @property
    def is_json(self) -> bool:
        for name, value in self.scope.get("headers", []):
            if name == b"content-type":
                return value.split(b";")[0].strip().lower() == b"application/json"
        return False

    @property
    def secure(self) -> bool:
        return self.scope.get("scheme") == "https"

    def query(self) -> dict[str, str]:
        return dict(parse_qsl(self.scope.get("query_string", b"").decode("latin-1")))

    def fields(self) -> dict[str, list[str]]:
        """The posted fields, from a form or a JSON object; lists for repeated names."""
        if self._form is not None:
            return self._form
        form: dict[str, list[str]] = {}
        if self.is_json:
            try:
                data = json.loads(self.body or b"{}")
            except (ValueError, UnicodeDecodeError):
                raise BadRequest("body is not valid JSON") from None
            if not isinstance(data, dict):
                raise BadRequest("JSON body must be an object")
            for key, value in data.items():
                items = value if isinstance(value, list) else [value]
                if not all(isinstance(item, str | int | float | bool) for item in items):
                    raise BadRequest(f"field {key!r} must be a string or a list of strings")
                form[str(key)] = [str(item) for item in items]
        else:
            try:
                text = self.body.decode("utf-8")
            except UnicodeDecodeError:
                raise BadRequest("form body is not UTF-8") from None
            for key, value in parse_qsl(text, keep_blank_values=True):
                form.setdefault(key, []).append(value)
        self._form = form
        return form

    def field(self, name: str) -> str | None:
        values = self.fields().get(name)
        return values[0] if values else None

    def cookies(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for item in self.visitor.headers.get("cookie", "").split(";"):
            name, sep, value = item.strip().partition("=")
            if sep and name not in out:
                out[name] = value
        return out

    def check_same_site(self) -> None:
        """Refuse cross-site posts (CSRF): by Sec-Fetch-Site, else by Origin."""
        headers = self.visitor.headers
        site = headers.get("sec-fetch-site")
        if site is not None:
            # same-site is refused too: a sibling subdomain is another party.
            if site not in ("same-origin", "none"):
                raise BadRequest("cross-site requests are refused", 403)
            return
        origin = headers.get("origin")
        if origin is None:
            return  # no browser signal at all: a same-origin form post from an old browser
        if origin == "null" or urlsplit(origin).netloc.lower() != request_host(self.scope).lower():
            raise BadRequest("cross-site requests are refused", 403)


def request_host(scope: Scope) -> str:
    """The Host the client asked for (with its port), else the server's own name."""
    for key, value in scope.get("headers", []):
        if key == b"host":
            return value.decode("latin-1")
    server = scope.get("server")
    return server[0] if server else ""


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


async def send_response(send: Send, response: Response) -> None:
    headers = [
        (b"content-type", response.content_type),
        (b"content-length", str(len(response.body)).encode()),
        (b"cache-control", b"no-store"),
        *response.headers,
    ]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


@dataclass(frozen=True, slots=True)
class Route:
    methods: frozenset[str]
    handler: Handler
    body_limit: int = MAX_BODY


class Endpoints:
    """The stage that answers requests under the prefix; everything else goes on.

    Routes are exact paths below the prefix; `static` handles `{prefix}/static/...`.
    """

    def __init__(
        self,
        app: Any,
        prefix: str,
        routes: Mapping[str, Route],
        static: Callable[[Scope, Send], Awaitable[None]] | None = None,
    ) -> None:
        self.app = app
        self.prefix = prefix
        self.routes = {prefix + path: route for path, route in routes.items()}
        self.static = static
        self.static_base = prefix + "/static/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if not path.startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        if self.static is not None and path.startswith(self.static_base):
            await self.static(scope, send)
            return
        route = self.routes.get(path)
        if route is None:
            if path == self.prefix or path.startswith(self.prefix + "/"):
                await send_response(send, json_response({"error": "not found"}, 404))
            else:
                await self.app(scope, receive, send)  # /_gatekeeperish belongs to the app
            return
        if scope["method"] not in route.methods:
            response = json_response({"error": "method not allowed"}, 405)
            allow = ", ".join(sorted(route.methods)).encode()
            response.headers.append((b"allow", allow))
            await send_response(send, response)
            return
        request = Request(scope, scope[SCOPE_KEY])
        try:
            if scope["method"] == "POST":
                request.body = await read_body(receive, route.body_limit)
                request.check_same_site()
            response = await route.handler(request)
        except BadRequest as exc:
            response = json_response({"error": exc.reason}, exc.status)
        await send_response(send, response)
