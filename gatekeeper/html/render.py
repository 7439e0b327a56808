"""Rendering notices from templates, in the visitor's language.

Templates are Jinja2 with autoescape on, so every policy string renders as text. An
operator's folder (policy `templates.directory`) overrides the built-in templates file by
file. Nonces differ per response, so templates render a placeholder attribute once and
`stamp_nonce` fills it in per request with a bytes replace.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

BUILTIN = Path(__file__).resolve().parent / "templates"

# Rendered where a template writes {{ nonce_attr }}; replaced by stamp_nonce().
NONCE_SLOT = ' nonce="__gk_nonce__"'
_NONCE_SLOT_BYTES = NONCE_SLOT.encode()


def localise(text: Mapping[str, str] | None, language: str, default: str) -> str:
    """The text in `language`, else the default language, else any language given."""
    if not text:
        return ""
    for key in (language, language.split("-")[0], default, "*"):
        if key in text:
            return text[key]
    return next(iter(text.values()))


def stamp_nonce(markup: bytes, nonce: str | None) -> bytes:
    """Fill the nonce slots of pre-rendered markup (nonce already validated as base64)."""
    if _NONCE_SLOT_BYTES not in markup:
        return markup
    value = f' nonce="{nonce}"'.encode() if nonce else b""
    return markup.replace(_NONCE_SLOT_BYTES, value)


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
        self.env.globals["nonce_attr"] = Markup(NONCE_SLOT)

    def render(self, name: str, language: str, **context: Any) -> str:
        """Render `name` with `t(text)` available to pick the visitor's language."""

        def t(text: Mapping[str, str] | None) -> str:
            return localise(text, language, self.default_language)

        return self.env.get_template(name).render(lang=language, t=t, **context)
