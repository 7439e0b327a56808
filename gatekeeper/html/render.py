"""Rendering notices from templates, in the visitor's language.

Templates are Jinja2 with autoescape on, so every policy string renders as text. An
operator's folder (policy `templates.directory`) overrides the built-in templates file by
file. What differs per request (the CSP nonce, the page to return to, a view token) is
rendered as a slot (`nonce_attr`, `next_slot`, `next_query_slot`, `token_slot`) that a
`Fragment` fills per request.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from .fragment import NEXT_QUERY_SLOT, NEXT_SLOT, NONCE_SLOT, TOKEN_SLOT

BUILTIN = Path(__file__).resolve().parent / "templates"


def localise(text: Mapping[str, str] | None, language: str, default: str) -> str:
    """The text in `language`, else the default language, else any language given."""
    if not text:
        return ""
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

    def render(self, name: str, language: str, **context: Any) -> str:
        """Render `name` with `t(text)` available to pick the visitor's language."""

        def t(text: Mapping[str, str] | None) -> str:
            return localise(text, language, self.default_language)

        return self.env.get_template(name).render(lang=language, t=t, **context)
