"""Script gating: elements that would load or run a refused resource reach the browser
inert, while the HTML streams.

An element's categories come from its `data-consent` attribute (a space-separated list;
all must be allowed), else from the inherited tag of its `<video>`, `<audio>` or
`<picture>`, else from the policy's host globs matched against every URL it may load
(relative URLs are the page's own host, or the first `<base href>`'s). With a TCF
callback, `data-tcf-vendor`/`data-tcf-purposes` must also be allowed. A refused element
keeps every byte except the attributes that load or run: `src`, `srcset`, `srcdoc`,
`href`, `xlink:href`, `data`, `poster`, `imagesrcset` are renamed `data-gk-…`, a script's
`type` becomes `data-gk-type` beside `type="text/plain"`, and an untagged element gets
the `data-consent` it was judged by. gatekeeper.js's `activate` undoes exactly that.
Which tags are elements at all is the scanner's job (gatekeeper.html.scanner).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping

from ..html import tokenize as tk
from ..html.scanner import Scanner, ScanSpec
from ..html.seen import SeenDocuments
from ..html.tokenize import Tag
from .urlhost import HostCategories, url_hosts

Allows = Callable[[str], bool]
Tcf = Callable[[int, tuple[int, ...]], bool]

# The HTML standard's JavaScript MIME type essences; `module`, `importmap` and
# `speculationrules` run too (the last two fetch or steer what is fetched).
JAVASCRIPT_TYPES = frozenset(
    "application/ecmascript application/javascript application/x-ecmascript "
    "application/x-javascript text/ecmascript text/javascript text/javascript1.0 "
    "text/javascript1.1 text/javascript1.2 text/javascript1.3 text/javascript1.4 "
    "text/javascript1.5 text/jscript text/livescript text/x-ecmascript text/x-javascript "
    "module importmap speculationrules".split()
)
# `<link rel>` tokens that make the browser fetch or connect.
LOADING_RELS = frozenset(
    "stylesheet preload modulepreload prefetch preconnect dns-prefetch prerender icon "
    "apple-touch-icon apple-touch-icon-precomposed mask-icon manifest".split()
)
# Per element, the attributes that load or run it (renamed when it is refused).
HTML_ATTRS: dict[str, tuple[str, ...]] = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "image": ("src", "srcset"),  # the parser renames <image> to <img>
    "iframe": ("src", "srcdoc"),
    "frame": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "link": ("href", "imagesrcset"),
    "source": ("src", "srcset"),
    "track": ("src",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "input": ("src",),
}
SVG_ATTRS: dict[str, tuple[str, ...]] = {
    name: ("href", "xlink:href") for name in ("script", "image", "use", "feimage")
}
MEDIA = frozenset({"video", "audio", "picture"})
_SRCSET = frozenset({"srcset", "imagesrcset"})
_TCF = ("data-tcf-vendor", "data-tcf-purposes")
_ASCII_WS = "\t\n\x0c\r "
_DIGITS = re.compile(r"[0-9]+")
SRCDOC_DEPTH = 2
# Bytes without which a tag has no consent mark and no URL off the page's own host
# (a scheme, `//` or `\\`, a character reference, or a tab/newline that parsers drop).
_QUICK = re.compile(rb"[:&\\\t\n\r]|//|data-consent", re.IGNORECASE)
_QUICK_TCF = re.compile(rb"[:&\\\t\n\r]|//|data-consent|data-tcf", re.IGNORECASE)
RUNAWAY = {  # inserted first into a tag too long to read: the first of repeated attributes wins
    "script": b' type="text/plain"',
    "iframe": b' srcdoc="" src=""',
    "object": b' data=""',
    "link": b' href="" imagesrcset=""',
    "video": b' src="" poster=""',
}


def _renamed(name: str) -> bytes:
    return b"data-gk-" + name.replace(":", "-").encode()


def srcset_urls(value: str) -> list[str]:
    """The URLs of a `srcset` value, by the standard's srcset parsing."""
    urls: list[str] = []
    pos, n = 0, len(value)
    while pos < n:
        while pos < n and (value[pos] in _ASCII_WS or value[pos] == ","):
            pos += 1
        start = pos
        while pos < n and value[pos] not in _ASCII_WS:
            pos += 1
        url = value[start:pos]
        if not url:
            break
        if url.endswith(","):
            urls.append(url.rstrip(","))
            continue
        urls.append(url)
        in_parens = False  # descriptors run to a comma outside parentheses
        while pos < n and (value[pos] != "," or in_parens):
            if value[pos] == "(":
                in_parens = True
            elif value[pos] == ")":
                in_parens = False
            pos += 1
    return urls


def script_runs(first: Mapping[str, tk.Attr], data: bytes) -> bool:
    """Whether a `<script>` with these attributes runs (or fetches), by its type."""
    kind = first.get("type")
    if kind is not None:
        text = tk.decode_attr(kind.raw(data))
        if not text:
            return True
    else:
        language = first.get("language")
        if language is None:
            return True
        text = tk.decode_attr(language.raw(data))
        if not text:
            return True
        text = "text/" + text
    # Only the essence counts; a type with parameters is still treated as running,
    # which at worst holds back a data block.
    essence = text.split(";", 1)[0].strip(_ASCII_WS).lower()
    return not essence or essence in JAVASCRIPT_TYPES


class ScriptGate:
    """Compiled once per policy: `hosts` maps a category to its host globs
    (`consent.categories.<name>.hosts`). `stream()` makes the per-response transform."""

    def __init__(self, hosts: Mapping[str, Iterable[str]]) -> None:
        self.hosts = HostCategories(hosts)
        self.spec = ScanSpec(html=(*HTML_ATTRS, "base", "picture"), svg=SVG_ATTRS, ends=MEDIA)
        self.documents = GatedDocuments()

    def stream(
        self,
        allows: Allows,
        tcf: Tcf | None = None,
        page_host: str | None = None,
        allowed: frozenset[str] | None = None,
    ) -> GateStream:
        """The gate of one response. `allowed`, the set `allows` says yes to, lets whole
        documents seen before be answered from `documents` (never with a TCF callback,
        whose answers depend on more than a set of categories)."""
        stream = GateStream(self, allows, tcf, page_host)
        if allowed is not None and tcf is None:
            stream.cache_key = (allowed, stream.base_host)
        return stream


class GatedDocuments(SeenDocuments[bytes]):
    """Whole documents gated before (`html.seen`), by the gate's key: the same anonymous
    page served to every first-time visitor is gated once."""

    def put(self, key: object, document: bytes, value: bytes, size: int = 0) -> None:
        super().put(key, document, value, len(value))  # the gated copy counts too


class GateStream:
    """One response's gate: `feed(chunk) -> bytes`, `finish() -> bytes`."""

    # Scanning state, set up with the scanner on the first chunk (`scanner`).
    base_seen: bool
    own_clean: bool
    quick_marks: re.Pattern[bytes]
    media: list[tuple[str, list[tuple[str, bytes]]]]  # open tagged media
    refused: dict[str, None]  # categories held back, for srcdoc frames

    def __init__(
        self,
        gate: ScriptGate,
        allows: Allows,
        tcf: Tcf | None,
        page_host: str | None,
        depth: int = 0,
    ) -> None:
        self.gate = gate
        self.allows = allows
        self.tcf = tcf
        self.base_host = page_host.lower().rstrip(".") if page_host else None
        self.depth = depth
        self.cache_key: object = None
        self._scanner: Scanner | None = None

    @property
    def scanner(self) -> Scanner:
        """Made on first use: a whole document gated before never needs one."""
        if self._scanner is None:
            self.base_seen = False
            self.own_clean = not (self.base_host and self.gate.hosts.of_host(self.base_host))
            self.quick_marks = _QUICK_TCF if self.tcf is not None else _QUICK
            self.media = []
            self.refused = {}
            self._scanner = Scanner(self.gate.spec, self)
        return self._scanner

    def feed(self, chunk: bytes) -> bytes:
        return self.scanner.feed(chunk)

    def finish(self) -> bytes:
        return self.scanner.finish()

    def whole(self, document: bytes) -> bytes:
        """The gated bytes of a whole document (what `feed` then `finish` give)."""
        if self.cache_key is None or len(document) > self.gate.documents.LARGEST:
            return self.feed(document) + self.finish()
        documents = self.gate.documents
        gated = documents.get(self.cache_key, document)
        if gated is None:
            gated = self.feed(document) + self.finish()
            documents.put(self.cache_key, document, gated)
        return gated

    # Handler ---------------------------------------------------------------------------

    def end(self, name: str) -> None:
        for i in range(len(self.media) - 1, -1, -1):
            if self.media[i][0] == name:
                del self.media[i:]
                return

    def quick(self) -> bool:
        # Relative URLs stay on a host no category names, and no media element passes
        # its marks on to the tags inside it.
        return self.own_clean and not self.media and not self.base_seen

    def runaway(self, name: str, svg: bool) -> bytes:
        if svg:
            return b' href=""' + (b' type="text/plain"' if name == "script" else b"")
        if name in RUNAWAY:
            return RUNAWAY[name]
        attrs = HTML_ATTRS.get(name, ())
        return b"".join(b" " + a.encode() + b'=""' for a in attrs)

    def start(self, data: bytes, tag: Tag, svg: bool) -> bytes | None:
        name = tag.name
        # Most tags are decided by their bytes alone: no consent marks and no URL that
        # could leave the page's own host (which no category names).
        if (
            not self.media
            and name != "base"
            and self.own_clean
            and not self.quick_marks.search(data, tag.start, tag.end)
        ):
            return None
        first = tag.first(data)
        if svg:
            attrs = SVG_ATTRS[name]
        elif name == "base":
            self._base(data, first)
            return None
        else:
            attrs = HTML_ATTRS.get(name, ())
        marks = self._marks(data, first)
        if name in MEDIA and not svg:
            if marks:
                self.media.append((name, marks))
            if name == "picture":
                return None
        if name == "script":
            if not script_runs(first, data):
                return None
        elif name == "link":
            rel = first.get("rel")
            tokens = tk.decode_attr(rel.raw(data)).lower().split() if rel else ()
            if not LOADING_RELS.intersection(tokens):
                return None
        elif name == "input":
            kind = first.get("type")
            if kind is None or tk.decode_attr(kind.raw(data)).strip(_ASCII_WS).lower() != "image":
                return None
        inherited: list[tuple[str, bytes]] = []
        if not marks and self.media and name in ("source", "track", "img", "image"):
            inherited = self.media[-1][1]
        categories, refused = self._decide(data, first, marks or inherited, attrs)
        if not refused:
            return None
        self.refused.update(dict.fromkeys(c for c in categories if not self.allows(c)))
        return self._rewrite(data, tag, attrs, name == "script", categories, marks, inherited)

    # Decisions -------------------------------------------------------------------------

    def _base(self, data: bytes, first: Mapping[str, tk.Attr]) -> None:
        href = first.get("href")
        if href is None or self.base_seen:
            return
        self.base_seen = True  # only the first <base href> counts
        hosts = url_hosts(tk.decode_attr(href.raw(data)), self.base_host)
        if hosts:
            self.base_host = hosts[-1]
            self.own_clean = not self.gate.hosts.of_host(self.base_host)

    def _marks(self, data: bytes, first: Mapping[str, tk.Attr]) -> list[tuple[str, bytes]]:
        """The element's own consent marks: data-consent and (with a TCF callback) the
        TCF attributes, as (name, raw value)."""
        marks = []
        consent = first.get("data-consent")
        if consent is not None and tk.decode_attr(consent.raw(data)).strip(_ASCII_WS):
            marks.append(("data-consent", consent.raw(data)))
        if self.tcf is not None:
            marks.extend((a, first[a].raw(data)) for a in _TCF if a in first)
        return marks

    def _decide(
        self,
        data: bytes,
        first: Mapping[str, tk.Attr],
        marks: list[tuple[str, bytes]],
        attrs: tuple[str, ...],
    ) -> tuple[tuple[str, ...], bool]:
        values = dict(marks)
        categories: dict[str, None] = {}
        if "data-consent" in values:
            categories.update(dict.fromkeys(tk.decode_attr(values["data-consent"]).split()))
        else:
            for name in attrs:
                attr = first.get(name)
                if attr is not None:
                    categories.update(dict.fromkeys(self._categories(name, attr.raw(data))))
        refused = not all(self.allows(c) for c in categories)
        if not refused and self.tcf is not None and any(a in values for a in _TCF):
            refused = not self._tcf_allows(values)
        return tuple(categories), refused

    def _categories(self, name: str, raw: bytes) -> Iterable[str]:
        value = tk.decode_attr(raw)
        if name == "srcdoc":
            return self._srcdoc(value)
        hosts = self.gate.hosts
        if name in _SRCSET:
            found: dict[str, None] = {}
            for url in srcset_urls(value):
                found.update(dict.fromkeys(hosts.of_url(url, self.base_host)))
            return found
        return hosts.of_url(value, self.base_host)

    def _srcdoc(self, value: str) -> Iterable[str]:
        """The categories an inline frame document would load and the visitor refused."""
        if self.depth >= SRCDOC_DEPTH:
            return ()
        inner = GateStream(self.gate, self.allows, self.tcf, self.base_host, self.depth + 1)
        inner.feed(value.encode("utf-8", "surrogatepass"))
        inner.finish()
        return inner.refused

    def _tcf_allows(self, values: Mapping[str, bytes]) -> bool:
        assert self.tcf is not None
        vendor = tk.decode_attr(values.get("data-tcf-vendor", b"")).strip(_ASCII_WS)
        purposes_text = tk.decode_attr(values.get("data-tcf-purposes", b"")).strip(_ASCII_WS)
        parts = [p.strip(_ASCII_WS) for p in purposes_text.split(",")] if purposes_text else []
        if not _DIGITS.fullmatch(vendor) or not all(_DIGITS.fullmatch(p) for p in parts):
            return False  # malformed marks hold the element back
        return bool(self.tcf(int(vendor), tuple(int(p) for p in parts)))

    # Rewriting -------------------------------------------------------------------------

    @staticmethod
    def _rewrite(
        data: bytes,
        tag: Tag,
        attrs: tuple[str, ...],
        script: bool,
        categories: tuple[str, ...],
        marks: list[tuple[str, bytes]],
        inherited: list[tuple[str, bytes]],
    ) -> bytes:
        out: list[bytes] = []
        pos = tag.start
        for attr in tag.attrs(data):
            if attr.name in attrs or (script and attr.name == "type"):
                out.append(data[pos : attr.name_start])
                out.append(_renamed(attr.name))
                pos = attr.name_end
        insert = tag.end - (2 if tag.self_closing(data) else 1)
        out.append(data[pos:insert])
        if script:
            out.append(b' type="text/plain"')
        if inherited:
            out.extend(
                b" " + n.encode() + b'="' + v.replace(b'"', b"&quot;") + b'"' for n, v in inherited
            )
        elif categories and all(n != "data-consent" for n, _ in marks):
            label = html.escape(" ".join(categories)).encode()
            out.append(b' data-consent="' + label + b'"')
        out.append(data[insert : tag.end])
        return b"".join(out)
