"""The field types every policy section is built from: texts, languages, places, paths,
networks, links, and texts that default to gatekeeper's own translated wording."""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from ..i18n import builtin
from .codes import check_place


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --- reusable field types -------------------------------------------------------------

_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def _language(code: str) -> str:
    if not _LANGUAGE.match(code):
        raise ValueError(f"{code!r} is not a language tag such as 'en' or 'pt-BR'")
    return code


def _text(value: object) -> object:
    # A plain string is the same text in every language.
    return {"*": value} if isinstance(value, str) else value


def _text_keys(value: dict[str, str]) -> dict[str, str]:
    for key in value:
        if key != "*":
            _language(key)
    if not value:
        raise ValueError("a text needs at least one language")
    return value


Language = Annotated[str, AfterValidator(_language)]
Text = Annotated[
    dict[str, str],
    BeforeValidator(_text),
    AfterValidator(_text_keys),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string"},
                {"type": "object", "additionalProperties": {"type": "string"}},
            ],
            "description": "A text, or one text per language: {en: ..., de: ...}",
        }
    ),
]
Place = Annotated[str, AfterValidator(check_place)]


def builtin_text(msgid: str, description: str) -> Any:
    """A text field that defaults to gatekeeper's own text, in the visitor's language.

    `msgid` is the English source of that text in the catalogues (gatekeeper/i18n), and
    the extraction keyword that puts it there. A factory, not a default value: pydantic
    would try to write a BuiltinText into the JSON Schema; the schema shows the English.
    """
    return Field(
        default_factory=lambda: builtin(msgid),
        description=f"{description} Default: gatekeeper's own text in the visitor's "
        f'language ("{msgid}" in English).',
        json_schema_extra={"default": msgid},
    )


def _network(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value.strip(), strict=False))
    except ValueError:
        example = "10.0.0.0/8 or 2001:db8::/32"
        raise ValueError(f"{value!r} is not an IP network such as {example}") from None


Network = Annotated[str, AfterValidator(_network)]


def _path_pattern(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError(f"{value!r} must start with '/' (a path or a glob such as /video/*)")
    return value


PathPattern = Annotated[str, AfterValidator(_path_pattern)]


def _local_href(value: str) -> str:
    if value.startswith(("/", "https://", "http://", "mailto:", "tel:", "#")):
        return value
    raise ValueError(f"{value!r} must be a site path (/contact) or an absolute http(s) URL")


Href = Annotated[str, AfterValidator(_local_href)]


def path_matches(path: str, patterns: tuple[str, ...]) -> bool:
    """Glob match of a request path: `*` spans segments, `/video/*` also matches `/video`."""
    for pattern in patterns:
        if fnmatch.fnmatchcase(path, pattern):
            return True
        if pattern.endswith("/*") and path == pattern[:-2]:
            return True
    return False


# --- sections ---------------------------------------------------------------------------
