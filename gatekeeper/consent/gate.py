"""Script gating: tags of refused categories reach the browser inert.

`<script>`, `<iframe>` and `<img>` tagged `data-consent="CATEGORY"`, and untagged ones
whose source host matches a category's `hosts`, are rewritten while the HTML streams:
scripts get `type="text/plain"` (their own type kept in `data-gk-type`) and every `src`
becomes `data-gk-src`, so nothing runs or loads. gatekeeper.js turns them back on once
the visitor allows the category, keeping the CSP nonce.

The scanner looks only for the few tags it cares about (a compiled regex, C speed) and
skips the raw text of scripts, styles, textareas and comments, where a `<img` is not a
tag. Memory is bounded: a tag longer than `MAX_TAG` passes unchanged.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping

MAX_TAG = 16 * 1024

_START = re.compile(rb"<(?:(script|iframe|img|style|textarea)(?=[\s/>])|(!--))", re.IGNORECASE)
_ATTR = re.compile(rb"""([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?""", re.DOTALL)
_RAW_END = {
    b"script": re.compile(rb"</script", re.IGNORECASE),
    b"style": re.compile(rb"</style", re.IGNORECASE),
    b"textarea": re.compile(rb"</textarea", re.IGNORECASE),
    b"!--": re.compile(rb"-->"),
}
_LONGEST_START = len(b"<textarea") + 1
_EXECUTABLE_TYPES = {b"", b"text/javascript", b"application/javascript", b"module"}


class HostCategories:
    """Which category an untagged source host belongs to, from the policy's `hosts` globs."""

    def __init__(self, hosts: Mapping[str, tuple[str, ...]]) -> None:
        self.patterns = [
            (pattern.lower(), category) for category, globs in hosts.items() for pattern in globs
        ]
        self._cache: dict[str, str | None] = {}

    def category(self, url: bytes) -> str | None:
        if not self.patterns:
            return None
        text = url.decode("latin-1").strip().lower()
        if text.startswith("//"):
            text = "https:" + text
        if not text.startswith(("http://", "https://")):
            return None  # relative: the site's own resource
        host = text.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
        host = host.split(":", 1)[0]
        if host in self._cache:
            return self._cache[host]
        found = None
        for pattern, category in self.patterns:
            if fnmatch.fnmatchcase(host, pattern) or (
                pattern.startswith("*.") and host == pattern[2:]
            ):
                found = category
                break
        if len(self._cache) > 1024:
            self._cache.clear()
        self._cache[host] = found
        return found


def _attributes(tag: bytes) -> list[tuple[bytes, bytes | None]]:
    name_end = 1
    while name_end < len(tag) and tag[name_end] not in b" \t\n\r\x0c/>":
        name_end += 1
    body = tag[name_end:-1]
    out: list[tuple[bytes, bytes | None]] = []
    for match in _ATTR.finditer(body):
        value = match.group(2)
        if value is None:
            value = match.group(3)
        if value is None:
            value = match.group(4)
        out.append((match.group(1), value))
    return out


def _quote(value: bytes) -> bytes:
    return b'"' + value.replace(b'"', b"&quot;") + b'"'


def rewrite_tag(
    tag: bytes,
    name: bytes,
    allows: Callable[[str], bool],
    hosts: HostCategories,
) -> bytes:
    """The tag made inert if its category is not allowed; else unchanged."""
    attributes = _attributes(tag)
    lowered = [(key.lower(), value) for key, value in attributes]
    category: str | None = None
    for key, value in lowered:
        if key == b"data-consent" and value is not None:
            category = value.decode("latin-1").strip()
            break
    tagged = category is not None
    if category is None:
        for key, value in lowered:
            if key == b"src" and value:
                category = hosts.category(value)
                break
    if category is None or allows(category):
        return tag
    if name == b"script":
        for key, value in lowered:
            if key == b"type" and (value or b"").strip().lower() not in _EXECUTABLE_TYPES:
                return tag  # JSON, templates and other data blocks never run anyway
    out = [b"<", name]
    script_type = b""
    for (key, value), (low, _) in zip(attributes, lowered, strict=True):
        if low == b"type" and name == b"script":
            script_type = value or b""
            continue
        if low in (b"src", b"srcset"):
            key = b"data-gk-" + low
        out.append(b" " + key + (b"=" + _quote(value) if value is not None else b""))
    if not tagged:
        out.append(b' data-consent="' + category.encode("latin-1") + b'"')
    if name == b"script":
        out.append(b' type="text/plain"')
        if script_type:
            out.append(b" data-gk-type=" + _quote(script_type))
    out.append(b">")
    return b"".join(out)


def _tag_end(data: bytes, start: int) -> int:
    """Index just past the `>` closing the tag at `start`, or -1 if not in `data`."""
    quote = 0
    for i in range(start + 1, len(data)):
        c = data[i]
        if quote:
            if c == quote:
                quote = 0
        elif c in (0x22, 0x27):  # " '
            # A quote only opens a value after `=` (an attribute value), as browsers read it.
            j = i - 1
            while j > start and data[j] in b" \t\n\r\x0c":
                j -= 1
            if data[j] == 0x3D:  # =
                quote = c
        elif c == 0x3E:  # >
            return i + 1
    return -1


class TagGate:
    """A streaming transformer: feed chunks, get rewritten bytes; `finish` flushes."""

    __slots__ = ("_allows", "_hosts", "_pending", "_raw_end")

    def __init__(self, allows: Callable[[str], bool], hosts: HostCategories) -> None:
        self._allows = allows
        self._hosts = hosts
        self._pending = b""
        self._raw_end: re.Pattern[bytes] | None = None

    def feed(self, chunk: bytes) -> bytes:
        data = self._pending + chunk if self._pending else chunk
        out: list[bytes] = []
        pos = 0
        while True:
            if self._raw_end is not None:
                end = self._raw_end.search(data, pos)
                if end is None:
                    keep = max(pos, len(data) - 10)  # an end marker may straddle chunks
                    out.append(data[pos:keep])
                    self._pending = data[keep:]
                    return b"".join(out)
                out.append(data[pos : end.end()])
                pos = end.end()
                self._raw_end = None
                continue
            match = _START.search(data, pos)
            if match is None:
                keep = max(pos, len(data) - _LONGEST_START)
                lt = data.rfind(b"<", keep)
                keep = lt if lt != -1 else len(data)
                out.append(data[pos:keep])
                self._pending = data[keep:]
                return b"".join(out)
            out.append(data[pos : match.start()])
            if match.group(2):  # a comment
                self._raw_end = _RAW_END[b"!--"]
                out.append(data[match.start() : match.end()])
                pos = match.end()
                continue
            end = _tag_end(data, match.start())
            if end == -1:
                if len(data) - match.start() > MAX_TAG:
                    out.append(data[match.start() : match.end()])  # give up on a giant tag
                    pos = match.end()
                    continue
                self._pending = data[match.start() :]
                return b"".join(out)
            name = match.group(1).lower()
            tag = data[match.start() : end]
            if name in (b"script", b"iframe", b"img"):
                tag = rewrite_tag(tag, name, self._allows, self._hosts)
            out.append(tag)
            pos = end
            if name in (b"script", b"style", b"textarea"):
                self._raw_end = _RAW_END[name]

    def finish(self) -> bytes:
        rest, self._pending = self._pending, b""
        return rest
