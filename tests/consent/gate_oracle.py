"""The oracle for the script gate: a WHATWG parser (html5lib) and a WHATWG URL parser
(ada-url) say which elements of a document load or run something, and from which
categories. Written from the HTML standard, independently of gatekeeper's gate.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import ada_url
import html5lib

HTML = "{http://www.w3.org/1999/xhtml}"
SVG = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
PAGE = "site.example"
HOSTS = {
    "ads": ("*.doubleclick.net", "*.googlesyndication.com"),
    "analytics": ("www.google-analytics.com", "*.googletagmanager.com"),
    "video": ("www.youtube.com",),
}
JS_TYPES = {
    "application/ecmascript", "application/javascript", "application/x-ecmascript",
    "application/x-javascript", "text/ecmascript", "text/javascript", "text/javascript1.0",
    "text/javascript1.1", "text/javascript1.2", "text/javascript1.3", "text/javascript1.4",
    "text/javascript1.5", "text/jscript", "text/livescript", "text/x-ecmascript",
    "text/x-javascript", "module", "importmap", "speculationrules",
}  # fmt: skip
LINK_RELS = {
    "stylesheet", "preload", "modulepreload", "prefetch", "preconnect", "dns-prefetch",
    "prerender", "icon", "apple-touch-icon", "apple-touch-icon-precomposed", "mask-icon",
    "manifest",
}  # fmt: skip
SPACE = "\t\n\x0c\r "


def parse(doc: bytes):
    # Scripting off: <noscript> content is markup, as the gate reads it (for visitors
    # without JavaScript); with scripting on it is text no browser renders.
    builder = html5lib.getTreeBuilder("etree", fullTree=True)
    return html5lib.HTMLParser(tree=builder, namespaceHTMLElements=True).parse(
        doc, scripting=False, transport_encoding="utf-8"
    )


def host_of(url: str, base: str) -> str | None:
    """The host a fetch of `url` goes to; None when nothing is fetched from the network."""
    try:
        parsed = ada_url.URL(url, base)
    except ValueError:
        return None
    if parsed.protocol not in ("http:", "https:", "ws:", "wss:", "ftp:"):
        return None
    return parsed.hostname.rstrip(".") or None


def categories_of_host(host: str) -> set[str]:
    return {
        category
        for category, globs in HOSTS.items()
        for glob in globs
        if fnmatch.fnmatchcase(host, glob) or (glob.startswith("*.") and host == glob[2:])
    }


def srcset(value: str) -> list[str]:
    """URLs of a srcset: each candidate's first whitespace-free run, trailing commas cut;
    a candidate ends at a comma that is outside parentheses in its descriptors."""
    urls, i = [], 0
    while i < len(value):
        while i < len(value) and value[i] in SPACE + ",":
            i += 1
        j = i
        while j < len(value) and value[j] not in SPACE:
            j += 1
        if i == j:
            break
        url = value[i:j]
        i = j
        if url.endswith(","):
            urls.append(url.rstrip(","))
            continue
        urls.append(url)
        depth = False
        while i < len(value) and (depth or value[i] != ","):
            depth = (depth or value[i] == "(") and value[i] != ")"
            i += 1
    return urls


def script_runs(el) -> bool:
    kind = el.get("type")
    if kind == "" or (kind is None and not el.get("language")):
        return True
    text = kind.strip(SPACE) if kind is not None else "text/" + el.get("language")
    essence = text.split(";")[0].strip(SPACE).lower()
    return essence == "" or essence in JS_TYPES


@dataclass
class Verdict:
    element: object
    name: str  # namespace-qualified local name, lower-case
    categories: set[str]
    loads: bool  # loads or runs anything at all


class Oracle:
    def __init__(self, allows: Callable[[str], bool], tcf=None, page: str = PAGE) -> None:
        self.allows = allows
        self.tcf = tcf
        self.page = page

    def verdicts(self, tree) -> list[Verdict]:
        self.bases = [f"https://{self.page}/", f"http://{self.page}/"]
        out = []
        base_set = False
        for el, parent in _walk(tree):
            if el.tag == HTML + "base" and el.get("href") is not None and not base_set:
                base_set = True
                resolved = [ada_url.URL(el.get("href"), b).href for b in self.bases
                            if _valid(el.get("href"), b)]  # fmt: skip
                self.bases = resolved or self.bases
            urls, loads = self.urls(el)
            if not loads:
                continue
            out.append(self.judge(el, parent, urls))
        return out

    def urls(self, el) -> tuple[list[str], bool]:
        """The URLs an element loads and whether it loads or runs at all."""
        tag = el.tag
        get = el.get
        if tag == HTML + "script":
            if not script_runs(el):
                return [], False
            return [get("src")] if get("src") is not None else [], True
        if tag == SVG + "script":
            if not script_runs(el):
                return [], False
            return _present(get("href"), get(XLINK_HREF)), True
        if tag in (SVG + "image", SVG + "use", SVG + "feimage", SVG + "feImage"):
            urls = _present(get("href"), get(XLINK_HREF))
            return urls, bool(urls)
        if tag == HTML + "link":
            rels = set((get("rel") or "").lower().split())
            if not rels & LINK_RELS:
                return [], False
            urls = _present(get("href")) + srcset(get("imagesrcset") or "")
            return urls, bool(urls)
        if tag == HTML + "input" and (get("type") or "").strip(SPACE).lower() != "image":
            return [], False
        single = {"img": ("src",), "iframe": ("src",), "frame": ("src",), "embed": ("src",),
                  "object": ("data",), "source": ("src",), "track": ("src",),
                  "video": ("src", "poster"), "audio": ("src",), "input": ("src",)}  # fmt: skip
        local = tag[len(HTML) :] if tag.startswith(HTML) else None
        if local not in single:
            return [], False
        urls = _present(*(get(a) for a in single[local]))
        if local in ("img", "source"):
            urls += srcset(get("srcset") or "")
        if local == "iframe" and get("srcdoc") is not None:
            urls.append("srcdoc:" + get("srcdoc"))
        return urls, bool(urls)

    def judge(self, el, parent, urls: list[str]) -> Verdict:
        tagged = el.get("data-consent", "").split()
        holder = el
        if (
            not tagged
            and not self._tcf_marked(el)
            and parent is not None
            and parent.tag in (HTML + "video", HTML + "audio", HTML + "picture")
            and el.tag in (HTML + "source", HTML + "track", HTML + "img")
        ):
            tagged = parent.get("data-consent", "").split()
            holder = parent
        cats = set(tagged)
        if not tagged:
            for url in urls:
                if url.startswith("srcdoc:"):
                    inner = Oracle(self.allows, self.tcf, self.page)
                    cats |= {c for v in inner.verdicts(parse(url[7:].encode())) for c in v.categories
                             if not self.allows(c)}  # fmt: skip
                    continue
                for base in self.bases:
                    host = host_of(url, base)
                    if host:
                        cats |= categories_of_host(host)
        verdict = Verdict(el, el.tag, cats, True)
        verdict.tcf_refused = self._tcf_refused(holder)  # type: ignore[attr-defined]
        return verdict

    def _tcf_marked(self, el) -> bool:
        return self.tcf is not None and (
            el.get("data-tcf-vendor") is not None or el.get("data-tcf-purposes") is not None
        )

    def _tcf_refused(self, el) -> bool:
        if not self._tcf_marked(el):
            return False
        vendor = (el.get("data-tcf-vendor") or "").strip(SPACE)
        purposes = (el.get("data-tcf-purposes") or "").strip(SPACE)
        parts = [p.strip(SPACE) for p in purposes.split(",")] if purposes else []
        if (
            not vendor.isdigit()
            or not vendor.isascii()
            or not all(p.isdigit() and p.isascii() for p in parts)
        ):
            return True
        return not self.tcf(int(vendor), tuple(int(p) for p in parts))

    def refused(self, verdict: Verdict) -> bool:
        return any(not self.allows(c) for c in verdict.categories) or verdict.tcf_refused  # type: ignore[attr-defined]


def _valid(url: str, base: str) -> bool:
    try:
        ada_url.URL(url, base)
    except ValueError:
        return False
    return True


def _present(*values: str | None) -> list[str]:
    return [v for v in values if v is not None]


def _walk(tree, parent=None) -> Iterator[tuple[object, object]]:
    for child in tree:
        if isinstance(child.tag, str):
            yield child, parent
            yield from _walk(child, child)


def elements(tree) -> Iterator[object]:
    yield tree
    for child in tree:
        yield from elements(child)
