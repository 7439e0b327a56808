"""The HTTP rules gatekeeper applies, each in one place.

Cookie headers are parsed here once per distinct header value (browsers repeat theirs on
every request); every Set-Cookie gatekeeper writes is built by `set_cookie`; every cookie
it expires by `expire_cookies`; `Vary` is merged by `vary_with`; and the Host of a request
is validated here before any header is built from it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from .memo import Memo

Headers = list[tuple[bytes, bytes]]
SameSite = Literal["Lax", "Strict", "None"]

# RFC 6265 cookie-name (a token) and the bytes a cookie-value may hold: what gatekeeper
# writes is checked against these, so no value can smuggle an attribute in.
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_COOKIE_VALUE = re.compile(r"^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$")
# A host as it may appear in a header we write: a DNS name or an IPv4 address, or an
# IPv6 literal in brackets, with an optional port. Anything else never reaches a header.
_HOST = re.compile(
    r"^(?:(?P<name>[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?)*)"
    r"|\[(?P<v6>[0-9a-f:.]+)\])(?::(?P<port>[0-9]{1,5}))?$"
)
_EXPIRED = b"=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/"
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def _parse_cookie_header(header: bytes) -> Mapping[str, str]:
    cookies: dict[str, str] = {}
    for item in header.decode("latin-1").split(";"):
        name, sep, value = item.strip().partition("=")
        name = name.strip()
        if not sep or not name or name in cookies:
            continue  # the first of a repeated name is the most specific path's (RFC 6265)
        value = value.strip()
        if len(value) > 1 and value[0] == value[-1] == '"':
            value = value[1:-1]
        cookies[name] = value
    return cookies


class CookieJar:
    """The cookies of a request, parsed once per distinct Cookie header."""

    __slots__ = ("_parsed",)

    EMPTY: Mapping[str, str] = {}

    def __init__(self, limit: int = 8192) -> None:
        self._parsed: Memo[bytes, Mapping[str, str]] = Memo(_parse_cookie_header, limit)

    def __call__(self, header: bytes | None) -> Mapping[str, str]:
        """Name -> value; the mapping is shared between requests: never mutate it."""
        return self._parsed[header] if header else self.EMPTY


def set_cookie(
    name: str,
    value: str,
    *,
    max_age: int | None,
    path: str = "/",
    domain: str | None = None,
    secure: bool = False,
    http_only: bool = True,
    same_site: SameSite = "Lax",
) -> tuple[bytes, bytes]:
    """One `Set-Cookie` header, refusing names and values that would change its meaning."""
    if not _TOKEN.match(name) or not _COOKIE_VALUE.match(value):
        raise ValueError(f"not a safe cookie: {name!r}={value!r}")
    parts = [f"{name}={value}"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    parts.append(f"Path={path}")
    if domain:
        parts.append(f"Domain={domain}")
    parts.append(f"SameSite={same_site}")
    if secure or same_site == "None":
        parts.append("Secure")
    if http_only:
        parts.append("HttpOnly")
    return (b"set-cookie", "; ".join(parts).encode("latin-1"))


def parent_domains(host: str | None) -> list[str]:
    """Domains a cookie for `host` may have been set on: www.a.example.com ->
    a.example.com, example.com. Single labels (com) are left out; IP addresses and
    unvalidated hosts have none."""
    if not host:
        return []
    name = host.rsplit(":", 1)[0] if host[0] != "[" else ""
    if not name or name.replace(".", "").isdigit():
        return []
    labels = name.split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


def expire_cookies(names: Iterable[str], host: str | None) -> Headers:
    """Set-Cookie headers that delete `names` host-only and on every parent domain of the
    (validated) `host`: a refused cookie may have been set on any of them."""
    domains = [d.encode() for d in parent_domains(host)]
    headers: Headers = []
    for name in names:
        if not _TOKEN.match(name):
            continue  # a name we cannot write back safely stays as the browser has it
        base = name.encode("latin-1") + _EXPIRED
        headers.append((b"set-cookie", base))
        headers.extend((b"set-cookie", base + b"; Domain=" + d) for d in domains)
    return headers


def vary_with(headers: Sequence[tuple[bytes, bytes]], field: bytes = b"Cookie") -> Headers:
    """The headers with `field` in Vary: a response that depends on it must not be handed
    to anyone else by a shared cache. Existing Vary lines are merged into one."""
    if not any(name.lower() == b"vary" for name, _ in headers):
        return [*headers, (b"vary", field)]  # most responses vary on nothing yet
    out: Headers = []
    fields: list[bytes] = []
    for name, value in headers:
        if name.lower() == b"vary":
            fields.extend(f.strip() for f in value.split(b",") if f.strip())
        else:
            out.append((name, value))
    lowered = {f.lower() for f in fields}
    if b"*" not in lowered and field.lower() not in lowered:
        fields.append(field)
    out.append((b"vary", b", ".join(fields)))
    return out


def valid_host(value: str) -> str | None:
    """`value` lower-cased if it is a well-formed host[:port], else None."""
    host = value.strip().lower()
    match = _HOST.match(host)
    if match is None:
        return None
    port = match.group("port")
    if port is not None and not 0 < int(port) <= 65535:
        return None
    return host


def request_host(scope: Mapping[str, Any]) -> str | None:
    """The validated Host the client asked for (host[:port]), else the server's own
    address; None when neither is well-formed."""
    for name, value in scope.get("headers", ()):
        if name == b"host":
            return valid_host(value.decode("latin-1"))
    server = scope.get("server")
    if server and server[0]:
        host = server[0] if ":" not in server[0] else f"[{server[0]}]"
        port = server[1]
        default = DEFAULT_PORTS.get(scope.get("scheme", "http"))
        return valid_host(host if port in (None, default) else f"{host}:{port}")
    return None


def origin_of(scheme: str, host: str) -> tuple[str, str, int]:
    """(scheme, host name, port) with the scheme's default port made explicit."""
    name, port = host, DEFAULT_PORTS.get(scheme, 0)
    if host.startswith("["):
        end = host.find("]")
        name, rest = host[: end + 1], host[end + 1 :]
        if rest.startswith(":"):
            port = int(rest[1:])
    elif ":" in host:
        name, _, number = host.rpartition(":")
        port = int(number)
    return (scheme, name, port)
