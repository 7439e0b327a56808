"""Read the nonce an app put in its response's Content-Security-Policy.

Injected `<script>` and `<style>` elements must carry the page's nonce, or a CSP that
uses nonces blocks them. gatekeeper never edits the app's policy: it reads the nonce and
the snippet provider stamps it on its own markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["csp_nonce"]

# CSP3 nonce-source: "'nonce-" base64-value "'", base64-value = 1*(ALPHA / DIGIT / "+" /
# "/" / "-" / "_") *2"=". The keyword part is ASCII case-insensitive, the value is not.
_NONCE_SOURCE = re.compile(r"'[nN][oO][nN][cC][eE]-([A-Za-z0-9+/_-]+={0,2})'")

# The directive that governs an element, most specific first (CSP3 fallback lists).
_SCRIPT_DIRECTIVES = ("script-src-elem", "script-src", "default-src")
_STYLE_DIRECTIVES = ("style-src-elem", "style-src", "default-src")


def csp_nonce(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The nonce of the response's enforced Content-Security-Policy, or None.

    Reads every `Content-Security-Policy` header (never `-Report-Only`: it blocks
    nothing), each possibly holding several comma-separated policies. The nonce is taken
    from the directive that governs `<script>` elements (`script-src-elem`, else
    `script-src`, else `default-src`); when no policy has one there, from the directive
    that governs `<style>` elements. A malformed nonce source is ignored.
    """
    policies: list[dict[str, list[str]]] = []
    for name, value in headers:
        if name.lower() == b"content-security-policy":
            text = value.decode("latin-1")
            policies.extend(_directives(policy) for policy in text.split(","))
    for order in (_SCRIPT_DIRECTIVES, _STYLE_DIRECTIVES):
        for policy in policies:
            nonce = _governing_nonce(policy, order)
            if nonce is not None:
                return nonce
    return None


def _directives(policy: str) -> dict[str, list[str]]:
    """Directive name (lower-cased) -> source list; the first of a repeated name wins."""
    directives: dict[str, list[str]] = {}
    for directive in policy.split(";"):
        tokens = directive.split()
        if tokens:
            directives.setdefault(tokens[0].lower(), tokens[1:])
    return directives


def _governing_nonce(policy: dict[str, list[str]], order: tuple[str, ...]) -> str | None:
    for name in order:
        sources = policy.get(name)
        if sources is not None:
            # Only the most specific directive present applies; do not fall back past it.
            for source in sources:
                match = _NONCE_SOURCE.fullmatch(source)
                if match:
                    return match.group(1)
            return None
    return None
