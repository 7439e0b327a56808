"""Facts of the HTML standard's tree builder that decide how the tokenizer reads what
follows a tag: raw-text elements, void elements, foreign content and its exits."""

from __future__ import annotations

from dataclasses import dataclass

RAW_TEXT = frozenset({"style", "xmp", "iframe", "noembed", "noframes", "textarea", "title"})
VOID = frozenset(
    "area base basefont bgsound br col embed frame hr image img input keygen link meta "
    "param source track wbr".split()
)
BREAKOUT = frozenset(
    "b big blockquote body br center code dd div dl dt em embed h1 h2 h3 h4 h5 h6 head hr i "
    "img li listing menu meta nobr ol p pre ruby s small span strong strike sub sup table "
    "tt u ul var".split()
)
SPECIAL = frozenset(
    "address applet area article aside base basefont bgsound blockquote body br button "
    "caption center col colgroup dd details dir div dl dt embed fieldset figcaption figure "
    "footer form frame frameset h1 h2 h3 h4 h5 h6 head header hgroup hr html iframe img "
    "input keygen li link listing main marquee menu meta nav noembed noframes noscript "
    "object ol p param plaintext pre script search section select source style summary "
    "table tbody td template textarea tfoot th thead title tr track ul wbr xmp".split()
)
MATH_TEXT = frozenset({"mi", "mo", "mn", "ms", "mtext"})
SVG_HTML_POINTS = frozenset({"foreignobject", "desc", "title"})
# End tags that, with no matching element inside the svg/math, cannot close it.
NEVER_CLOSE = VOID | {"html", "body", "head"}


@dataclass(slots=True)
class Node:
    name: str
    ns: str  # "html", "svg" or "math"
    html_point: bool = False  # an HTML integration point

    @property
    def html_rules(self) -> bool:
        return self.ns == "html" or self.html_point

    @property
    def special(self) -> bool:
        if self.ns == "html":
            return self.name in SPECIAL
        if self.ns == "svg":
            return self.name in SVG_HTML_POINTS
        return self.name in MATH_TEXT or self.name == "annotation-xml"
