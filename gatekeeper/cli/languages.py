"""Which listed languages a policy cannot speak: the language warnings of `gatekeeper check`.

Two gaps are reported. An operator's text (a `{lang: text}` mapping) without a version for
a language of `languages.available`: those visitors read another language there. And a
listed language without a bundled catalogue: those visitors read gatekeeper's own words
in the default language. A text written as one plain string is the same in every language
and never lacks one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel

from ..i18n.catalogue import SOURCE_LANGUAGE, BuiltinText, bundled, has_catalogue
from ..policy import LoadedPolicy, PolicyIssue
from ..policy.sections.notices import NotificationSettings

Loc = tuple[str | int, ...]


def operator_texts(
    value: Any, loc: Loc = (), audience: tuple[str, ...] = ()
) -> Iterator[tuple[Loc, Mapping[str, str], tuple[str, ...]]]:
    """Every text the operator wrote, with its key path and the languages it is shown in
    (empty: all). Built-in defaults are left out."""
    if isinstance(value, BuiltinText):
        return
    if isinstance(value, NotificationSettings) and value.languages:
        audience = value.languages  # shown only to visitors reading these
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from operator_texts(getattr(value, name), (*loc, name), audience)
    elif isinstance(value, dict):
        # The policy's only mappings of strings are texts ({lang: text}); the others map
        # names to sections (consent.categories).
        if value and all(isinstance(item, str) for item in value.values()):
            yield loc, value, audience
        else:
            for key, item in value.items():
                yield from operator_texts(item, (*loc, key), audience)
    elif isinstance(value, tuple | list):
        for index, item in enumerate(value):
            yield from operator_texts(item, (*loc, index), audience)


def covers(text: Mapping[str, str], language: str) -> bool:
    """Whether `localise()` finds a version of `text` written for `language`."""
    return "*" in text or language in text or language.split("-")[0] in text


def language_findings(loaded: LoadedPolicy) -> list[PolicyIssue]:
    """The warnings for one loaded policy file, at each text's line and column."""
    policy = loaded.policy
    available = policy.languages.available
    default = policy.languages.default
    issues = []
    for loc, text, audience in operator_texts(policy):
        shown_in = [language for language in available if not audience or language in audience]
        missing = [language for language in shown_in if not covers(text, language)]
        if missing:
            shown = default if default in text else next(iter(text))
            issues.append(
                loaded.issue(
                    loc,
                    f"no text in {', '.join(missing)} (listed in languages.available); "
                    f"those visitors read the {shown} text",
                )
            )
    fallback = default if has_catalogue(default) else SOURCE_LANGUAGE
    for index, language in enumerate(available):
        if not has_catalogue(language):
            issues.append(
                loaded.issue(
                    ("languages", "available", index),
                    f"gatekeeper has no built-in texts in {language!r}: texts the policy "
                    f"does not set, and the notices' own labels, show in {fallback!r} "
                    f"(bundled: {', '.join(bundled())})",
                )
            )
    return sorted(issues, key=lambda i: (i.line, i.column))
