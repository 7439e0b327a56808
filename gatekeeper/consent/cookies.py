"""Cookie enforcement: cookies of refused categories never reach the browser.

Every `Set-Cookie` of the app is matched by name against the policy's category globs and
dropped unless the visitor allows that category. Cookies of refused categories that the
browser still sends (set before a reject, or recreated by a script, as GA4 does with
`_ga_*`) are expired on the way out, for every domain they may have been set on.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable

from ..policy.schema import Consent as ConsentPolicy

# gatekeeper's own cookies are strictly necessary: they hold the choices themselves.
OWN_PREFIX = "gk_"
_EXPIRED = b"=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/"


class CookieCategories:
    """Which category a cookie name belongs to (exact names first, then globs)."""

    def __init__(self, policy: ConsentPolicy) -> None:
        self.exact: dict[str, str] = {}
        self.globs: list[tuple[str, str]] = []
        for category, settings in policy.categories.items():
            for pattern in settings.cookies:
                if any(c in pattern for c in "*?["):
                    self.globs.append((pattern, category))
                else:
                    self.exact.setdefault(pattern, category)
        self.unlisted = policy.unlisted_cookies
        self.required = frozenset(n for n, c in policy.categories.items() if c.required)
        self.own = policy.cookie.name  # the consent cookie, whatever the operator named it
        self._cache: dict[str, str] = {}

    def category(self, name: str) -> str:
        if name.startswith(OWN_PREFIX) or name == self.own:
            return next(iter(self.required))
        found = self.exact.get(name) or self._cache.get(name)
        if found:
            return found
        for pattern, category in self.globs:
            if fnmatch.fnmatchcase(name, pattern):
                found = category
                break
        else:
            found = self.unlisted
        if len(self._cache) > 2048:
            self._cache.clear()
        self._cache[name] = found
        return found


def cookie_name(set_cookie: bytes) -> str:
    return set_cookie.split(b"=", 1)[0].strip().decode("latin-1")


def request_cookie_names(cookie_header: str) -> list[str]:
    names = []
    for item in cookie_header.split(";"):
        name, sep, _ = item.strip().partition("=")
        if sep and name:
            names.append(name)
    return names


def parent_domains(host: str) -> list[str]:
    """Domains a cookie for `host` may have been set on: www.a.example.com -> a.example.com,
    example.com. Single labels (com) are left out; IP addresses have none."""
    host = host.split(":", 1)[0].strip(".").lower() if not host.startswith("[") else ""
    if not host or host.replace(".", "").isdigit():
        return []
    labels = host.split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


def expiring(names: Iterable[str], host: str) -> list[tuple[bytes, bytes]]:
    """Set-Cookie headers that delete `names` host-only and on every parent domain."""
    domains = parent_domains(host)
    headers = []
    for name in names:
        base = name.encode("latin-1") + _EXPIRED
        headers.append((b"set-cookie", base))
        headers.extend((b"set-cookie", base + b"; Domain=" + d.encode()) for d in domains)
    return headers
