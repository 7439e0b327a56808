"""For translators: find every built-in text in the code and bring the catalogues up to date.

`python -m gatekeeper.i18n update` writes the template `gatekeeper.pot` from the code and
merges it into every `locales/*/LC_MESSAGES/gatekeeper.po` (new texts come in empty, changed
ones are marked fuzzy, removed ones become obsolete `#~` entries); `python -m gatekeeper.i18n
init LANG` starts a catalogue for a new language. The same can be done with pybabel (see
docs/operators.md, "Languages").
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from .catalogue import DOMAIN, LOCALES, locale_name

PACKAGE = Path(__file__).resolve().parent.parent
CONFIG = Path(__file__).resolve().parent / "babel.cfg"
TEMPLATE = Path(__file__).resolve().parent / f"{DOMAIN}.pot"

# `_`, `gettext`, `ngettext` are what templates call; `builtin` marks a built-in default
# (gatekeeper.i18n.builtin) and `builtin_text` declares a policy field defaulting to one.
KEYWORDS: dict[str, tuple[int, ...] | None] = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "builtin": None,
    "builtin_text": None,
}
HEADER = """\
# gatekeeper's own texts: consent banner, notices, block page, preferences page.
# This file is distributed under the same license as gatekeeper (MIT).
#"""


def new_catalog(locale: str | None = None) -> Catalog:
    """An empty catalogue (or, without a locale, template) with gatekeeper's header."""
    catalog = Catalog(
        locale=locale,
        domain=DOMAIN,
        header_comment=HEADER,
        project="gatekeeper",
        version="1",
        copyright_holder="gatekeeper contributors",
        msgid_bugs_address="",
        last_translator="gatekeeper contributors",
        charset="utf-8",
        fuzzy=False,
    )
    if locale is not None:
        catalog.language_team = Locale.parse(locale).english_name or locale
    return catalog


def extract() -> Catalog:
    """Every built-in text the code and the templates use, as a catalogue template."""
    with CONFIG.open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    template = new_catalog()
    found = extract_from_dir(PACKAGE, method_map, options_map, keywords=KEYWORDS)
    for filename, lineno, message, comments, context in found:
        location = (f"gatekeeper/{Path(filename).as_posix()}", lineno)
        template.add(message, None, [location], auto_comments=comments, context=context)
    return template


def catalogue_path(language: str) -> Path:
    return LOCALES / locale_name(language) / "LC_MESSAGES" / f"{DOMAIN}.po"


def write(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    # Locations without line numbers: moving code does not touch every catalogue.
    write_po(buffer, catalog, width=100, include_previous=True, include_lineno=False)
    path.write_bytes(buffer.getvalue())


def read(path: Path) -> Catalog:
    locale = path.parent.parent.name if path.suffix == ".po" else None
    with path.open("rb") as handle:
        return read_po(handle, locale=locale, domain=DOMAIN)


def _entries(catalog: Catalog) -> list[tuple[object, ...]]:
    """What a merge can change, without the dates in the header."""
    found = [
        (m.id, m.string or "", sorted(m.flags), sorted({file for file, _ in m.locations}))
        for m in catalog
        if m.id
    ]
    return found + [(m.id, m.string) for m in catalog.obsolete.values()]


def update() -> list[Path]:
    """Write the template and merge it into every catalogue; return the files written.

    A file whose texts did not change is left alone, so a merge touches only what it must.
    """
    template = extract()
    written = []
    if not TEMPLATE.exists() or _entries(read(TEMPLATE)) != _entries(template):
        write(template, TEMPLATE)
        written.append(TEMPLATE)
    for path in sorted(LOCALES.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        catalog = read(path)
        before = _entries(catalog)
        catalog.update(template, update_creation_date=False)
        if _entries(catalog) == before:
            continue
        catalog.revision_date = datetime.now().astimezone()
        write(catalog, path)
        written.append(path)
    return written


def init(language: str) -> Path:
    """A new, empty catalogue for `language` (a tag such as pt-BR), with its plural rules."""
    path = catalogue_path(language)
    if path.exists():
        raise FileExistsError(f"{path} exists; run `update` to bring it up to date")
    catalog = new_catalog(locale_name(language))
    catalog.update(extract())
    write(catalog, path)
    return path
