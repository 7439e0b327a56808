"""Response headers of a response whose body gatekeeper changed.

Values that described the app's bytes (Content-Length, Accept-Ranges, digests) go or are
recomputed; a strong ETag becomes weak (the bytes differ, the meaning does not).
Personalised snippets make the response private: `Vary: Cookie` and `Cache-Control:
private` (see `private_cache_control`); targeted CDN cache controls (`CDN-Cache-Control`,
`Surrogate-Control`) are removed so that a CDN falls back to the private Cache-Control.
"""

from __future__ import annotations

import re

__all__ = ["directive_names", "modified_headers"]

# What happens to each response header of a modified response, by lower-cased name.
_DROP, _ETAG, _VARY, _CACHE_CONTROL, _TARGETED = range(5)
_HEADER_ACTIONS = {
    # Values that described the app's bytes and are wrong for ours.
    b"content-length": _DROP,
    b"accept-ranges": _DROP,
    b"content-md5": _DROP,
    b"digest": _DROP,
    b"content-digest": _DROP,
    b"repr-digest": _DROP,
    b"etag": _ETAG,
    b"vary": _VARY,
    b"cache-control": _CACHE_CONTROL,
    # Targeted cache controls (RFC 9213) override Cache-Control for the CDNs that read them.
    b"cdn-cache-control": _TARGETED,
    b"surrogate-control": _TARGETED,
}
_DIRECTIVE = re.compile(rb'(?:[^,"]|"(?:[^"\\]|\\.)*")+')


def modified_headers(
    headers: list[tuple[bytes, bytes]], length: int | None, personalised: bool
) -> list[tuple[bytes, bytes]]:
    out: list[tuple[bytes, bytes]] = []
    keep = out.append
    vary: list[bytes] = []
    cache_control: list[bytes] = []
    actions = _HEADER_ACTIONS
    for header in headers:
        name = header[0]
        # ASGI apps send lower-case names: look them up as they are first.
        action = actions.get(name)
        if action is None and (name.islower() or (action := actions.get(name.lower())) is None):
            keep(header)
        elif action == _ETAG:
            keep((header[0], _weak_etag(header[1])))
        elif not personalised:
            if action != _DROP:
                keep(header)
        elif action == _VARY:
            vary.append(header[1])
        elif action == _CACHE_CONTROL:
            cache_control.append(header[1])
    if personalised:
        keep((b"vary", _vary_with_cookie(vary) if vary else b"Cookie"))
        keep(
            (
                b"cache-control",
                _private_cache_control(cache_control) if cache_control else b"private",
            )
        )
    if length is not None:
        keep((b"content-length", b"%d" % length))
    return out


def _weak_etag(value: bytes) -> bytes:
    """`"abc"` -> `W/"abc"`: the bytes differ from the app's, the meaning does not."""
    value = value.strip()
    return b"W/" + value if value.startswith(b'"') else value


def _vary_with_cookie(values: list[bytes]) -> bytes:
    fields = [field.strip() for value in values for field in value.split(b",")]
    fields = [field for field in fields if field]
    lowered = {field.lower() for field in fields}
    if b"*" in lowered:
        return b"*"
    if b"cookie" not in lowered:
        fields.append(b"Cookie")
    return b", ".join(fields)


def _directives(value: bytes) -> list[bytes]:
    """Cache-Control directives, split on commas outside quoted strings."""
    return [d.strip() for d in _DIRECTIVE.findall(value) if d.strip()]


def directive_names(value: bytes) -> set[bytes]:
    return {d.partition(b"=")[0].strip().lower() for d in _directives(value)}


def _private_cache_control(values: list[bytes]) -> bytes:
    """Cache-Control for a personalised page.

    No header: `private`. A response that is already `no-store` or (unqualified)
    `private` keeps its directives. Otherwise `private` replaces the shared-cache
    directives (`public`, `s-maxage`, a field-qualified `private="..."`) and the other
    directives (max-age, no-cache, must-revalidate, ...) are kept.
    """
    if not values:
        return b"private"
    directives = _directives(b", ".join(values))
    kept = [b"private"]
    for directive in directives:
        name, eq, _ = directive.partition(b"=")
        name = name.strip().lower()
        if name == b"no-store" or (name == b"private" and not eq):
            return b", ".join(directives)
        if name not in (b"public", b"s-maxage", b"private"):
            kept.append(directive)
    return b", ".join(kept)
