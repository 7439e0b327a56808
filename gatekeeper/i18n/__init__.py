"""gatekeeper's own texts in the languages it bundles (gettext catalogues, read with Babel).

`catalogue(language, default)` gives a `Catalogue` with `gettext` and `ngettext`;
`builtin(msgid)` marks a policy default as gatekeeper's own text, which `localise()`
translates into the visitor's language. Operators' texts always come first.
"""

from .catalogue import (
    ALIASES,
    LOCALES,
    BuiltinText,
    Catalogue,
    builtin,
    bundled,
    catalogue,
    has_catalogue,
    locale_name,
)

__all__ = [
    "ALIASES",
    "LOCALES",
    "BuiltinText",
    "Catalogue",
    "builtin",
    "bundled",
    "catalogue",
    "has_catalogue",
    "locale_name",
]
