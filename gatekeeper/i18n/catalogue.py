"""gatekeeper's own texts in the visitor's language, read from gettext `.po` catalogues.

The catalogues are `locales/<locale>/LC_MESSAGES/gatekeeper.po` next to this module, one
per bundled language, with the English source texts as msgids. They are parsed with Babel
when a language is first asked for, which happens while the notices are pre-rendered at
start-up: a process reads only the languages its policies list, each once. Parsing the
`.po` files themselves (rather than compiled `.mo` files) keeps one source of truth and
no build step, for `pip install -e .` and wheels alike.

A language tag finds its catalogue through fallbacks: `pt-BR` -> `pt_BR` -> `pt`, then
the policy's default language, then English. Norwegian `no` (the macrolanguage)
and `nn` (Nynorsk) read the Bokmål catalogue `nb`: every Norwegian reads Bokmål, and no
Nynorsk catalogue is bundled.
"""

from __future__ import annotations

import functools
import gettext
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

LOCALES = Path(__file__).resolve().parent / "locales"
DOMAIN = "gatekeeper"
SOURCE_LANGUAGE = "en"

# Language tags without a catalogue of their own that read another one.
ALIASES: Mapping[str, str] = {"no": "nb", "nn": "nb"}


class BuiltinText(dict[str, str]):
    """One of gatekeeper's own default texts: its English source, translated when shown.

    It is a `Text` ({"*": english}) so code that reads a policy text as a mapping still
    works; `localise()` recognises it and looks `msgid` up in the visitor's catalogue.
    """

    __slots__ = ("msgid",)

    def __init__(self, msgid: str) -> None:
        super().__init__({"*": msgid})
        self.msgid = msgid

    def __reduce__(self) -> tuple[type[BuiltinText], tuple[str]]:
        return (BuiltinText, (self.msgid,))

    def __repr__(self) -> str:
        return f"builtin({self.msgid!r})"


def builtin(msgid: str) -> BuiltinText:
    """Mark an English source text as a built-in default (the extraction keyword)."""
    return BuiltinText(msgid)


def locale_name(tag: str) -> str:
    """The gettext locale of a BCP 47 tag: pt-BR -> pt_BR, de -> de."""
    primary, _, rest = tag.partition("-")
    return f"{primary.lower()}_{rest.upper()}" if rest else primary.lower()


def bundled() -> tuple[str, ...]:
    """The language tags with a catalogue, as policies write them (pt-BR, not pt_BR)."""
    return tuple(
        sorted(
            path.parent.parent.name.replace("_", "-")
            for path in LOCALES.glob(f"*/LC_MESSAGES/{DOMAIN}.po")
        )
    )


@dataclass(frozen=True, slots=True)
class Messages:
    """One parsed catalogue. Untranslated and fuzzy entries are left out, so a lookup
    falls through to the next catalogue of the chain, as gettext does."""

    locale: str
    singular: Mapping[str, str]
    plural: Mapping[str, tuple[str, ...]]
    plural_index: Callable[[int], int]
    nplurals: int


def read_messages(path: Path, locale: str) -> Messages:
    from babel.messages.pofile import read_po  # Babel costs ~35 ms: import it when needed

    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale, domain=DOMAIN)
    singular: dict[str, str] = {}
    plural: dict[str, tuple[str, ...]] = {}
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, tuple | list):
            forms = tuple(message.string or ())
            if all(forms):
                plural[message.id[0]] = forms
        elif message.string:
            singular[message.id] = str(message.string)
    return Messages(
        locale=locale,
        singular=singular,
        plural=plural,
        plural_index=gettext.c2py(catalog.plural_expr),
        nplurals=catalog.num_plurals,
    )


@functools.cache
def _messages(locale: str) -> Messages | None:
    # Catalogues are package data that never change while the process runs: reading each
    # once, on first use, is the whole cache.
    path = LOCALES / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    return read_messages(path, locale) if path.is_file() else None


def _candidates(tag: str) -> list[str]:
    locale = locale_name(tag)
    primary = locale.split("_")[0]
    return [locale, primary, ALIASES.get(primary, primary)]


class Catalogue:
    """gettext and ngettext for one language, through its chain of fallbacks."""

    def __init__(self, chain: Sequence[Messages]) -> None:
        self.chain = tuple(chain)

    @property
    def locale(self) -> str:
        """The catalogue that answers first (the English source when there is none)."""
        return self.chain[0].locale if self.chain else SOURCE_LANGUAGE

    def gettext(self, message: str) -> str:
        for messages in self.chain:
            found = messages.singular.get(message)
            if found is not None:
                return found
        return message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        for messages in self.chain:
            forms = messages.plural.get(singular)
            if forms is not None:
                index = messages.plural_index(n)
                return forms[index] if 0 <= index < len(forms) else forms[-1]
        return singular if n == 1 else plural


@functools.lru_cache(maxsize=256)
def catalogue(language: str, default: str = SOURCE_LANGUAGE) -> Catalogue:
    """The catalogue for `language` (a policy's language tag), falling back to `default`."""
    chain: list[Messages] = []
    wanted = [*_candidates(language), *_candidates(default), SOURCE_LANGUAGE]
    for locale in dict.fromkeys(wanted):
        messages = _messages(locale)
        if messages is not None:
            chain.append(messages)
    return Catalogue(chain)


def has_catalogue(language: str) -> bool:
    """Whether `language` reads a bundled catalogue, not only the default's."""
    return any(_messages(locale) is not None for locale in _candidates(language))
