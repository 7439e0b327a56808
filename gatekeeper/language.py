"""Choosing the notice language from Accept-Language (RFC 9110 §12.5.4)."""

from __future__ import annotations

from .i18n import ALIASES


def _primary(tag: str) -> str:
    # Norwegian `no` (the macrolanguage), `nb` (Bokmål) and `nn` (Nynorsk) count as one
    # language when no tag matches exactly: every Norwegian reads Bokmål.
    primary = tag.lower().split("-")[0]
    return ALIASES.get(primary, primary)


class LanguageNegotiator:
    """Picks one of the policy's languages for an Accept-Language header.

    Exact tags win over a shared primary subtag ("de-AT" finds "de", "pt" finds "pt-BR";
    "no", "nb" and "nn" count as one), higher q wins, ties keep the visitor's order.
    Answers are cached per header value, since browsers send a handful of distinct headers.
    """

    def __init__(self, available: tuple[str, ...], default: str, *, cache_size: int = 512):
        self.default = default
        self._exact = {tag.lower(): tag for tag in available}
        self._primary: dict[str, str] = {}
        for tag in available:
            self._primary.setdefault(_primary(tag), tag)
        self._cache: dict[str, str] = {}
        self._cache_size = cache_size

    def choose(self, header: str | None) -> str:
        if not header:
            return self.default
        # Only the first 1,024 characters count, so they are the key: a header of any
        # size costs one such entry.
        header = header[:1024]
        cached = self._cache.get(header)
        if cached is not None:
            return cached
        choice = self._negotiate(header)
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[header] = choice
        return choice

    def _negotiate(self, header: str) -> str:
        ranges: list[tuple[float, int, str]] = []
        for position, item in enumerate(header.split(",")):
            tag, _, params = item.strip().partition(";")
            tag = tag.strip().lower()
            if not tag:
                continue
            quality = 1.0
            for param in params.split(";"):
                name, _, value = param.strip().partition("=")
                if name.strip() == "q":
                    try:
                        quality = float(value)
                    except ValueError:
                        quality = 0.0
            if quality > 0:
                ranges.append((-quality, position, tag))
        for _, _, tag in sorted(ranges):
            if tag == "*":
                return self.default
            found = self._exact.get(tag) or self._primary.get(_primary(tag))
            if found:
                return found
        return self.default
