"""Rendering notices from templates, in the visitor's language.

Templates are Jinja2 with autoescape on, so every policy string renders as text. An
operator's folder (policy `templates.directory`) overrides the built-in templates file by
file. What differs per request (the CSP nonce, the page to return to, a view token) is
rendered as a slot (`nonce_attr`, `next_slot`, `next_query_slot`, `token_slot`) that a
`Fragment` fills per request.

Templates write gatekeeper's own words as `{{ _("Dismiss") }}` and counted ones as
`{{ ngettext("%(num)d cookie", "%(num)d cookies", n) }}`, looked up in the catalogue of
the language being rendered (gatekeeper/i18n); `t(text)` picks an operator's text, or
translates a built-in default.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from ..i18n import BuiltinText, Catalogue, catalogue
from .fragment import NEXT_QUERY_SLOT, NEXT_SLOT, NONCE_SLOT, TOKEN_SLOT

BUILTIN = Path(__file__).resolve().parent / "templates"


def localise(text: Mapping[str, str] | None, language: str, default: str) -> str:
    """The text in `language`, else the default language, else any language given.

    An operator's text is used as written; a built-in default is gatekeeper's own text in
    the catalogue of `language` (falling back to `default`'s, then English).
    """
    if not text:
        return ""
    if isinstance(text, BuiltinText):
        return catalogue(language, default).gettext(text.msgid)
    for key in (language, language.split("-")[0], default, "*"):
        if key in text:
            return text[key]
    return next(iter(text.values()))


class Renderer:
    def __init__(self, *, default_language: str, directory: Path | None = None) -> None:
        loaders: list[jinja2.BaseLoader] = []
        if directory is not None:
            loaders.append(jinja2.FileSystemLoader(directory))
        loaders.append(jinja2.FileSystemLoader(BUILTIN))
        self.default_language = default_language
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals.update(
            nonce_attr=Markup(NONCE_SLOT),
            next_slot=NEXT_SLOT,
            next_query_slot=NEXT_QUERY_SLOT,
            token_slot=TOKEN_SLOT,
        )

    def catalogue(self, language: str) -> Catalogue:
        return catalogue(language, self.default_language)

    def render(self, name: str, language: str, **context: Any) -> str:
        """Render `name` in `language`: `t(text)`, `_(message)` and `ngettext(...)`."""
        messages = self.catalogue(language)

        def t(text: Mapping[str, str] | None) -> str:
            return localise(text, language, self.default_language)

        # As Jinja's "new style" gettext: keyword arguments fill %(name)s placeholders
        # (escaped, unless they are markup), and ngettext always has `num`. Catalogue
        # texts are text, never markup.
        def gettext(message: str, **variables: Any) -> Markup:
            text = escape(messages.gettext(message))
            return text % variables if variables else text

        def ngettext(singular: str, plural: str, num: int, **variables: Any) -> Markup:
            return escape(messages.ngettext(singular, plural, num)) % {"num": num, **variables}

        return self.env.get_template(name).render(
            lang=language, t=t, _=gettext, gettext=gettext, ngettext=ngettext, **context
        )
