"""Pre-rendered markup with a few per-request holes.

Notices are rendered by Jinja once per policy, language and variant. What differs per
request — the CSP nonce, the page a no-JavaScript form returns to, an adblock view's
token — is rendered as a slot marker and turned into a `%s` of a bytes format string, so
filling a fragment is one C-level `%` with the values in slot order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from operator import itemgetter

NONCE_SLOT = ' nonce="__gk_nonce__"'
NEXT_SLOT = "__gk_next__"
NEXT_QUERY_SLOT = "__gk_next_q__"  # the same, inside a URL's query (percent-encoded)
TOKEN_SLOT = "__gk_token__"
TCF_STATE_SLOT = "__gk_tcf_state__"  # the visitor's TCF state element (notices/tcf.py)

# Slot name -> its marker in rendered markup. `nonce` is the whole attribute, so a
# response without a nonce gets no attribute at all.
SLOTS: Mapping[str, bytes] = {
    "nonce": NONCE_SLOT.encode(),
    "next": NEXT_SLOT.encode(),
    "next_q": NEXT_QUERY_SLOT.encode(),
    "token": TOKEN_SLOT.encode(),
    "tcf_state": TCF_STATE_SLOT.encode(),
}
_BY_MARKER = {marker: name for name, marker in SLOTS.items()}
_MARKERS = re.compile(b"|".join(re.escape(m) for m in sorted(_BY_MARKER, key=len, reverse=True)))

Values = Mapping[str, bytes]


class Fragment:
    """Markup with slots; `fill(values)` gives the bytes for one request."""

    __slots__ = ("_get", "names", "plain", "template")

    def __init__(self, markup: bytes) -> None:
        names: list[str] = []
        pieces: list[bytes] = []
        pos = 0
        for match in _MARKERS.finditer(markup):
            pieces.append(markup[pos : match.start()].replace(b"%", b"%%"))
            pieces.append(b"%s")
            names.append(_BY_MARKER[match.group()])
            pos = match.end()
        pieces.append(markup[pos:].replace(b"%", b"%%"))
        self.template = b"".join(pieces)
        self._set_names(tuple(names))
        self.plain = markup if not names else None

    @classmethod
    def joined(cls, fragments: Iterable[Fragment]) -> Fragment:
        """The fragments one after the other, as one."""
        parts = [f for f in fragments if f.template]
        fragment = cls.__new__(cls)
        fragment.template = b"".join(f.template for f in parts)
        fragment._set_names(tuple(name for f in parts for name in f.names))
        plains = [f.plain for f in parts]
        fragment.plain = b"".join(plains) if None not in plains else None  # type: ignore[arg-type]
        return fragment

    def _set_names(self, names: tuple[str, ...]) -> None:
        self.names = names
        # itemgetter picks every slot's value at C speed; with one name it returns the
        # value itself, which `%` takes as a single argument just as well.
        self._get = itemgetter(*names) if names else None

    def __add__(self, other: Fragment) -> Fragment:
        return Fragment.joined((self, other))

    def __bool__(self) -> bool:
        return bool(self.template)

    def fill(self, values: Values) -> bytes:
        if self.plain is not None:
            return self.plain
        return self.template % self._get(values)  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"Fragment({self.template[:60]!r}..., slots={self.names})"


EMPTY = Fragment(b"")
