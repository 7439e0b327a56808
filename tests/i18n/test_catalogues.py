"""The bundled catalogues against the code: every text used is translated everywhere, none
is left over, placeholders and plural forms agree. A new `_("...")` in a template or a new
`builtin_text(...)` default fails here until every language has it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.plurals import get_plural

from gatekeeper.i18n import LOCALES, bundled, locale_name
from gatekeeper.i18n.extract import TEMPLATE, extract, read

EU = "bg cs da de el en es et fi fr ga hr hu it lt lv mt nl pl pt ro sk sl sv".split()
LANGUAGES = sorted([*EU, "nb", "is", "tr", "ja", "pt-BR"])
# Babel's (CLDR's) "pt" is Brazilian; the EU's Portuguese is European.
PLURAL_RULES = {"pt": "pt_PT"}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{(\w+)\}")

USED = extract()
USED_IDS = {message.id for message in USED if message.id}


def placeholders(text: str) -> set[str]:
    return {a or b for a, b in PLACEHOLDER.findall(text)}


def path_of(language: str) -> Path:
    return LOCALES / locale_name(language) / "LC_MESSAGES" / "gatekeeper.po"


def entries(catalog: Catalog) -> dict[object, Message]:
    return {message.id: message for message in catalog if message.id}


def test_every_language_of_the_brief_is_bundled():
    assert len(EU) == 24
    assert sorted(bundled()) == LANGUAGES


def test_the_code_uses_texts_of_every_kind():
    """The extraction sees templates, policy defaults and the UI words."""
    places = {file for message in USED for file, _ in message.locations}
    assert "gatekeeper/policy/sections/consent.py" in places
    assert "gatekeeper/notices/__init__.py" in places
    assert "gatekeeper/html/templates/consent_banner.html" in places
    assert "Accept all" in USED_IDS and "Dismiss" in USED_IDS
    assert any(isinstance(message_id, tuple) for message_id in USED_IDS)  # a plural


def test_the_template_for_translators_is_up_to_date():
    committed = {message.id for message in read(TEMPLATE) if message.id}
    assert committed == USED_IDS, "run `python -m gatekeeper.i18n update`"


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_has_exactly_the_texts_in_use(language):
    catalog = read(path_of(language))
    found = set(entries(catalog))
    assert not USED_IDS - found, f"missing in {language}: {sorted(map(str, USED_IDS - found))}"
    assert not found - USED_IDS, f"unused in {language}: {sorted(map(str, found - USED_IDS))}"
    assert not catalog.obsolete, f"obsolete entries in {language}: {list(catalog.obsolete)}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_is_fully_translated_and_placeholders_match(language):
    catalog = read(path_of(language))
    for message_id, message in entries(catalog).items():
        assert not message.fuzzy, f"{language}: fuzzy {message_id!r}"
        if isinstance(message_id, tuple):
            forms = message.string
            assert all(forms), f"{language}: untranslated plural {message_id!r}"
            for form in forms:
                assert placeholders(form) == placeholders(message_id[1]), (language, form)
        else:
            assert message.string, f"{language}: untranslated {message_id!r}"
            assert placeholders(message.string) == placeholders(message_id), (
                language,
                message.string,
            )
            if language != "en":
                # A text left in English is untranslated, whatever the file says.
                assert message.string != message_id, f"{language}: English {message_id!r}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_plural_rules_are_the_languages_own(language):
    catalog = read(path_of(language))
    locale = locale_name(language)
    count, rule = get_plural(PLURAL_RULES.get(locale, locale))
    assert catalog.num_plurals == count
    assert catalog.plural_expr == rule
    for message_id, message in entries(catalog).items():
        if isinstance(message_id, tuple):
            assert len(message.string) == count, f"{language}: {message_id!r}"
