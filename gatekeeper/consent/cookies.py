"""Which consent category a cookie belongs to.

Every `Set-Cookie` of the app is matched by name against the policy's category globs and
dropped unless the visitor allows that category; cookies of refused categories that the
browser still sends (set before a reject, or recreated by a script, as GA4 does with
`_ga_*`) are expired on the way out. gatekeeper's own cookies are strictly necessary —
by their exact names only, so an app's `gk_uid` is classified like any other cookie.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping

from ..i18n import BuiltinText, builtin
from ..memo import Memo
from ..policy.sections.consent import ConsentSettings

# The strictly necessary cookies of the frameworks gatekeeper wraps, by their default
# names: a wrapped app's forms and logins must work before any choice. A policy that
# lists one of these names decides for it instead. The purposes are shown on the privacy
# page's cookie table when the app is seen setting one.
FRAMEWORK_NECESSARY: dict[str, BuiltinText] = {
    "csrftoken": builtin("Protects the site's forms against requests forged by other sites."),
    "sessionid": builtin("Keeps you signed in to the site."),
    "messages": builtin("Carries a one-time message to the next page."),
    "django_language": builtin("Remembers the language you chose for the site."),
    "session": builtin("The site's signed session: keeps you signed in, remembers a form."),
}


class CookieCategories:
    """Cookie name -> category (gatekeeper's own names, exact names, then globs, then
    `consent.unlisted_cookies`)."""

    def __init__(
        self, policy: ConsentSettings, own: Mapping[str, str | None] | Iterable[str] = ()
    ) -> None:
        self.exact: dict[str, str] = {}
        self.globs: list[tuple[str, str]] = []
        for category, settings in policy.categories.items():
            for pattern in settings.cookies:
                if any(c in pattern for c in "*?["):
                    self.globs.append((pattern, category))
                else:
                    self.exact.setdefault(pattern, category)
        self.unlisted = policy.unlisted_cookies
        required = [n for n, c in policy.categories.items() if c.required]
        necessary = required[0] if required else "necessary"
        owned: Mapping[str, str | None] = own if isinstance(own, Mapping) else dict.fromkeys(own)
        # gatekeeper's own cookies hold the choices themselves: strictly necessary, unless
        # a feature names the category it needs (gk_adblock: adblock.requires_consent).
        self.exact[policy.cookie.name] = necessary
        for name, needed in owned.items():
            self.exact[name] = needed or necessary
        self.necessary = necessary
        self._found: Memo[str, str] = Memo(self._classify, 4096)

    def category(self, name: str) -> str:
        return self._found[name]

    def listed(self, name: str) -> bool:
        """Whether the policy names this cookie (exactly or by a glob)."""
        return name in self.exact or any(fnmatch.fnmatchcase(name, p) for p, _ in self.globs)

    def known(self, name: str) -> bool:
        """Listed, or a framework's own necessary cookie: not to be flagged as unlisted."""
        return name in FRAMEWORK_NECESSARY or self.listed(name)

    def _classify(self, name: str) -> str:
        found = self.exact.get(name)
        if found is not None:
            return found
        for pattern, category in self.globs:
            if fnmatch.fnmatchcase(name, pattern):
                return category
        if name in FRAMEWORK_NECESSARY:
            return self.necessary
        return self.unlisted


def cookie_name(set_cookie: bytes) -> str:
    return set_cookie.split(b"=", 1)[0].strip().decode("latin-1")
