"""Which host a URL in a page loads from, as browsers parse it (the WHATWG URL standard),
and which consent categories the policy's host globs give that host.

Only what decides the host is implemented: C0 controls and spaces stripped at both ends,
tab and newline removed anywhere, backslash read as slash for special schemes, `//host`
and `\\\\host` relative to the page's scheme, userinfo up to the last `@`, the port cut at
the first `:`, percent-decoding, IDNA (UTS #46 mapping: case, full-width letters and
dots, ignored code points), IPv4 in any of its numeric forms, and the trailing dot.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from urllib.parse import unquote_to_bytes

import idna

_C0_SPACE = "".join(chr(i) for i in range(0x21))
_TAB_NEWLINE = str.maketrans("", "", "\t\n\r")
_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.\-]*:")
# `file:` URLs have no host a page can load from, and other schemes no host at all.
_SPECIAL = frozenset({"http", "https", "ws", "wss", "ftp"})
_AUTHORITY_END = re.compile(r"[/\\?#]")
_FORBIDDEN = re.compile(r"[\x00-\x20#%/:<>?@\[\\\]^|\x7f]")
_SIMPLE = re.compile(r"[a-z0-9\-_.]+")
CACHE_SIZE = 4096


def _slashes(text: str) -> bool:
    return len(text) >= 2 and text[0] in "/\\" and text[1] in "/\\"


def url_hosts(value: str, base_host: str | None) -> tuple[str, ...]:
    """Hosts `value` (an attribute value, references decoded) may load from. A relative URL
    loads from `base_host`; `https:host` counts both ways, since its reading depends on
    whether the page itself is on https."""
    url = value.strip(_C0_SPACE).translate(_TAB_NEWLINE)
    scheme = _SCHEME.match(url)
    if scheme is None:
        if _slashes(url):
            host = _authority_host(url.lstrip("/\\"))
            return (host,) if host else ()
        return (base_host,) if base_host else ()
    if url[: scheme.end() - 1].lower() not in _SPECIAL:
        return ()
    rest = url[scheme.end() :]
    hosts = []
    if not _slashes(rest) and base_host:
        hosts.append(base_host)  # same scheme as the page: a path relative to it
    host = _authority_host(rest.lstrip("/\\"))
    if host:
        hosts.append(host)
    return tuple(hosts)


def _authority_host(text: str) -> str | None:
    end = _AUTHORITY_END.search(text)
    authority = text[: end.start()] if end else text
    hostport = authority[authority.rfind("@") + 1 :]
    if hostport.startswith("["):
        close = hostport.find("]")
        return hostport[: close + 1].lower() if close > 0 else None
    return parse_host(hostport.split(":", 1)[0])


def parse_host(text: str) -> str | None:
    """The host as the URL parser serialises it (lower-case ASCII, IPv4 dotted), without a
    trailing dot; None when the URL would fail to parse (no request is made)."""
    if not text:
        return None
    if "%" in text:
        text = unquote_to_bytes(text).decode("utf-8", "replace")
    if not _SIMPLE.fullmatch(text):
        ascii_text = _to_ascii(text)
        if ascii_text is None or _FORBIDDEN.search(ascii_text):
            return None
        text = ascii_text
    else:
        text = text.lower()
    if not text or text == ".":
        return None
    labels = text.split(".")
    if labels[-1] == "" and len(labels) > 1:
        labels.pop()
    if _is_number(labels[-1]):
        return _ipv4(labels)
    return ".".join(labels).rstrip(".") or None


def _to_ascii(text: str) -> str | None:
    try:
        mapped = idna.uts46_remap(text, std3_rules=False, transitional=False)
    except idna.IDNAError:
        return None
    labels = []
    for label in mapped.split("."):
        if label.isascii():
            labels.append(label)
        else:
            try:
                labels.append("xn--" + label.encode("punycode").decode("ascii"))
            except UnicodeError:
                return None
    return ".".join(labels)


def _is_number(label: str) -> bool:
    if label.isdigit() and label.isascii():
        return True
    return label[:2] in ("0x", "0X") and all(c in "0123456789abcdefABCDEF" for c in label[2:])


def _number(part: str) -> int | None:
    if not part:
        return None
    base = 10
    if part[:2] in ("0x", "0X"):
        part, base = part[2:], 16
    elif len(part) > 1 and part[0] == "0":
        part, base = part[1:], 8
    if not part:
        return 0
    try:
        return int(part, base) if part.isascii() and part.isalnum() else None
    except ValueError:
        return None


def _ipv4(labels: list[str]) -> str | None:
    if len(labels) > 4:
        return None
    numbers = [_number(label) for label in labels]
    if any(n is None for n in numbers):
        return None
    values: list[int] = [n for n in numbers if n is not None]
    if any(n > 255 for n in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        return None
    address = values[-1]
    for i, n in enumerate(values[:-1]):
        address += n * 256 ** (3 - i)
    return ".".join(str((address >> shift) & 255) for shift in (24, 16, 8, 0))


def _glob_host(glob: str) -> str:
    """A policy host glob in the form hosts take (case, IDNA, trailing dot)."""
    glob = glob.strip().rstrip(".")
    if not glob.isascii():
        glob = ".".join(
            part if part == "*" else (_to_ascii(part) or part) for part in glob.split(".")
        )
    return glob.lower()


class HostCategories:
    """The categories of the policy's host globs that a URL's host matches.

    `*.example.com` also matches `example.com` itself. Lookups are cached per URL and
    base host, bounded by `CACHE_SIZE`.
    """

    def __init__(self, hosts: Mapping[str, Iterable[str]]) -> None:
        self.patterns: list[tuple[re.Pattern[str], str]] = []
        for category, globs in hosts.items():
            for glob in globs:
                host = _glob_host(glob)
                self.patterns.append((re.compile(fnmatch.translate(host)), category))
                if host.startswith("*."):
                    self.patterns.append((re.compile(re.escape(host[2:]) + r"\Z"), category))
        self._hosts: dict[str, tuple[str, ...]] = {}
        self._urls: dict[tuple[str, str | None], tuple[str, ...]] = {}

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def of_host(self, host: str) -> tuple[str, ...]:
        found = self._hosts.get(host)
        if found is None:
            found = tuple(
                dict.fromkeys(
                    category for pattern, category in self.patterns if pattern.match(host)
                )
            )
            if len(self._hosts) >= CACHE_SIZE:
                self._hosts.clear()
            self._hosts[host] = found
        return found

    def of_url(self, value: str, base_host: str | None) -> tuple[str, ...]:
        """Categories of the hosts `value` may load from (empty: none of the policy's)."""
        if not self.patterns:
            return ()
        key = (value, base_host)
        found = self._urls.get(key)
        if found is None:
            cats: dict[str, None] = {}
            for host in url_hosts(value, base_host):
                cats.update(dict.fromkeys(self.of_host(host)))
            found = tuple(cats)
            if len(self._urls) >= CACHE_SIZE:
                self._urls.clear()
            self._urls[key] = found
        return found
