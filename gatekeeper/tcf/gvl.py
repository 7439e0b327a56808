"""The Global Vendor List (GVL v3) and its translations, read once into frozen values.

The format is IAB Tech Lab's "The Global Vendor List" (TCF v2.3): purposes, special
purposes, features, special features, stacks and data categories by id, and the vendors
with what they declare. The English texts are in `vendor-list.json`; each translation is a
`purposes-LANG.json` next to it with the same items and no vendors ("Translations for
Purposes, Special Purposes, Features, Special Features, and Categories of data").

`GvlFile` keeps the last good list of a file and notices, cheaply, when
`gatekeeper tcf update` has replaced it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

log = logging.getLogger("gatekeeper.tcf")

__all__ = [
    "GVL",
    "GVLError",
    "GvlFile",
    "Item",
    "Stack",
    "Texts",
    "Vendor",
    "load_gvl",
    "parse_gvl",
    "parse_translation",
    "translation_path",
]

_LANGUAGE = re.compile(r"^[a-z]{2}(-[a-z]{2,4})?$")


class GVLError(ValueError):
    """The vendor list (or a translation) is not a usable GVL v3 file; says where."""


@dataclass(frozen=True, slots=True)
class Item:
    """A purpose, special purpose, feature, special feature or data category."""

    id: int
    name: str
    description: str
    illustrations: tuple[str, ...] = ()
    consentable: bool = True
    right_to_object: bool = True


@dataclass(frozen=True, slots=True)
class Stack:
    id: int
    name: str
    description: str
    purposes: tuple[int, ...]
    special_features: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Texts:
    """Everything a notice names, in one language."""

    purposes: Mapping[int, Item]
    special_purposes: Mapping[int, Item]
    features: Mapping[int, Item]
    special_features: Mapping[int, Item]
    stacks: Mapping[int, Stack]
    data_categories: Mapping[int, Item]


@dataclass(frozen=True, slots=True)
class VendorUrl:
    language: str
    privacy: str
    legitimate_interest_claim: str | None


@dataclass(frozen=True, slots=True)
class Vendor:
    id: int
    name: str
    purposes: frozenset[int]
    """Declared on the legal basis of consent."""
    legitimate_interest_purposes: frozenset[int]
    flexible_purposes: frozenset[int]
    """Either basis; the declared one is the default unless a publisher restriction says."""
    special_purposes: frozenset[int]
    features: frozenset[int]
    special_features: frozenset[int]
    data_declaration: tuple[int, ...]
    urls: tuple[VendorUrl, ...]
    uses_cookies: bool
    cookie_max_age_seconds: int | None
    cookie_refresh: bool
    uses_non_cookie_access: bool
    device_storage_disclosure_url: str | None
    retention_days: int | None
    deleted: datetime | None = None

    def url(self, language: str) -> VendorUrl:
        """The privacy links in `language`, else English, else the first given."""
        for candidate in (language, "en"):
            for url in self.urls:
                if url.language == candidate:
                    return url
        return self.urls[0]

    @property
    def special_purposes_only(self) -> bool:
        return not self.purposes and not self.legitimate_interest_purposes


@dataclass(frozen=True, slots=True)
class GVL:
    vendor_list_version: int
    policy_version: int
    last_updated: datetime
    vendors: Mapping[int, Vendor]
    texts: Mapping[str, Texts] = field(repr=False)
    """'en' from the vendor list itself, one entry per translation."""

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(sorted(self.texts))

    def texts_in(self, language: str) -> Texts:
        return (
            self.texts.get(language) or self.texts.get(language.split("-")[0]) or self.texts["en"]
        )

    def active_vendors(self) -> tuple[Vendor, ...]:
        """Vendors not deleted; a deleted vendor "MUST NOT be established to users"."""
        return tuple(v for v in self.vendors.values() if v.deleted is None)


# --- reading -------------------------------------------------------------------------------


class _Reader:
    """Typed access to JSON with error messages that name the path, e.g. vendors.755.name."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, message: str) -> GVLError:
        return GVLError(
            f"{self.source}: {where}: {message}" if where else f"{self.source}: {message}"
        )

    def get(
        self, data: Mapping[str, Any], key: str, where: str, kind: type, default: Any = ...
    ) -> Any:
        path = f"{where}.{key}" if where else key
        if key not in data or data[key] is None:
            if default is ...:
                raise self.fail(path, "missing")
            return default
        value = data[key]
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise self.fail(path, f"should be a whole number, not {value!r}")
        if kind is not int and not isinstance(value, kind):
            raise self.fail(path, f"should be {kind.__name__}, not {type(value).__name__}")
        return value

    def ids(
        self, data: Mapping[str, Any], key: str, where: str, known: set[int] | None
    ) -> frozenset[int]:
        values = self.get(data, key, where, list, [])
        path = f"{where}.{key}"
        out = set()
        for value in values:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise self.fail(path, f"{value!r} is not an id")
            if known is not None and value not in known:
                raise self.fail(path, f"{value} is not published in this vendor list")
            out.add(value)
        return frozenset(out)

    def table(self, data: Mapping[str, Any], key: str, limit: int) -> dict[str, Mapping[str, Any]]:
        table = self.get(data, key, "", dict)
        for name, item in table.items():
            where = f"{key}.{name}"
            if not isinstance(item, dict):
                raise self.fail(where, "should be an object")
            ident = self.get(item, "id", where, int)
            if str(ident) != name:
                raise self.fail(where, f"is keyed {name} but has id {ident}")
            if not 1 <= ident <= limit:
                raise self.fail(where, f"id {ident} is outside 1-{limit}")
        return table

    def items(self, data: Mapping[str, Any], key: str, limit: int) -> Mapping[int, Item]:
        out = {}
        for name, raw in self.table(data, key, limit).items():
            where = f"{key}.{name}"
            illustrations = self.get(raw, "illustrations", where, list, [])
            out[int(name)] = Item(
                id=int(name),
                name=self.get(raw, "name", where, str),
                description=self.get(raw, "description", where, str, ""),
                illustrations=tuple(str(text) for text in illustrations),
                consentable=self.get(raw, "consentable", where, bool, True),
                right_to_object=self.get(raw, "rightToObject", where, bool, True),
            )
        return MappingProxyType(dict(sorted(out.items())))

    def texts(self, data: Mapping[str, Any], purposes_known: set[int] | None = None) -> Texts:
        purposes = self.items(data, "purposes", 24)
        special_features = self.items(data, "specialFeatures", 12)
        stacks = {}
        for name, raw in self.table(data, "stacks", 4095).items():
            where = f"stacks.{name}"
            stacks[int(name)] = Stack(
                id=int(name),
                name=self.get(raw, "name", where, str),
                description=self.get(raw, "description", where, str, ""),
                purposes=tuple(sorted(self.ids(raw, "purposes", where, set(purposes)))),
                special_features=tuple(
                    sorted(self.ids(raw, "specialFeatures", where, set(special_features)))
                ),
            )
        if purposes_known is not None and set(purposes) != purposes_known:
            raise self.fail("purposes", "the purposes differ from the vendor list's")
        return Texts(
            purposes=purposes,
            special_purposes=self.items(data, "specialPurposes", 64),
            features=self.items(data, "features", 64),
            special_features=special_features,
            stacks=MappingProxyType(dict(sorted(stacks.items()))),
            data_categories=self.items(data, "dataCategories", 4095)
            if "dataCategories" in data
            else MappingProxyType({}),
        )

    def moment(
        self, data: Mapping[str, Any], key: str, where: str, required: bool
    ) -> datetime | None:
        text = self.get(data, key, where, str, ... if required else None)
        if text is None:
            return None
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise self.fail(f"{where}.{key}" if where else key, f"{text!r} is not a date") from None
        if moment.tzinfo is None:
            raise self.fail(f"{where}.{key}" if where else key, f"{text!r} has no time zone")
        return moment


def _vendor(read: _Reader, name: str, raw: Any, texts: Texts) -> Vendor:
    where = f"vendors.{name}"
    purposes = set(texts.purposes)
    consent = read.ids(raw, "purposes", where, purposes)
    interest = read.ids(raw, "legIntPurposes", where, purposes)
    flexible = read.ids(raw, "flexiblePurposes", where, purposes)
    special = read.ids(raw, "specialPurposes", where, set(texts.special_purposes))
    if consent & interest:
        both = ", ".join(map(str, sorted(consent & interest)))
        raise read.fail(
            where, f"purpose {both} is declared on both consent and legitimate interest"
        )
    if flexible - consent - interest:
        extra = ", ".join(map(str, sorted(flexible - consent - interest)))
        raise read.fail(where, f"flexible purpose {extra} is declared on neither legal basis")
    urls = []
    for index, url in enumerate(read.get(raw, "urls", where, list, [])):
        spot = f"{where}.urls[{index}]"
        if not isinstance(url, dict):
            raise read.fail(spot, "should be an object")
        urls.append(
            VendorUrl(
                language=read.get(url, "langId", spot, str).lower(),
                privacy=read.get(url, "privacy", spot, str),
                legitimate_interest_claim=read.get(url, "legIntClaim", spot, str, None),
            )
        )
    if not urls:
        raise read.fail(f"{where}.urls", "a vendor needs at least one privacy policy link")
    retention = read.get(raw, "dataRetention", where, dict, {})
    return Vendor(
        id=int(name),
        name=read.get(raw, "name", where, str),
        purposes=consent,
        legitimate_interest_purposes=interest,
        flexible_purposes=flexible,
        special_purposes=special,
        features=read.ids(raw, "features", where, set(texts.features)),
        special_features=read.ids(raw, "specialFeatures", where, set(texts.special_features)),
        data_declaration=tuple(sorted(read.ids(raw, "dataDeclaration", where, None))),
        urls=tuple(urls),
        uses_cookies=read.get(raw, "usesCookies", where, bool, False),
        cookie_max_age_seconds=read.get(raw, "cookieMaxAgeSeconds", where, int, None),
        cookie_refresh=read.get(raw, "cookieRefresh", where, bool, False),
        uses_non_cookie_access=read.get(raw, "usesNonCookieAccess", where, bool, False),
        device_storage_disclosure_url=read.get(raw, "deviceStorageDisclosureUrl", where, str, None),
        retention_days=read.get(retention, "stdRetention", f"{where}.dataRetention", int, None),
        deleted=read.moment(raw, "deletedDate", where, required=False),
    )


def parse_gvl(data: Any, *, source: str = "vendor-list.json") -> GVL:
    """A GVL v3 object (the parsed JSON) as a `GVL` with only its English texts."""
    read = _Reader(source)
    if not isinstance(data, dict):
        raise read.fail("", "a vendor list is a JSON object")
    spec = read.get(data, "gvlSpecificationVersion", "", int)
    if spec != 3:
        raise read.fail(
            "gvlSpecificationVersion", f"{spec}: only GVL v3 (TCF v2.2 and later) is read"
        )
    version = read.get(data, "vendorListVersion", "", int)
    if not 1 <= version < 1 << 12:
        raise read.fail("vendorListVersion", f"{version} does not fit the TC string's 12 bits")
    policy = read.get(data, "tcfPolicyVersion", "", int)
    if not 1 <= policy < 1 << 6:
        raise read.fail("tcfPolicyVersion", f"{policy} does not fit the TC string's 6 bits")
    texts = read.texts(data)
    vendors = {
        int(name): _vendor(read, name, raw, texts)
        for name, raw in read.table(data, "vendors", 65535).items()
    }
    return GVL(
        vendor_list_version=version,
        policy_version=policy,
        last_updated=read.moment(data, "lastUpdated", "", required=True),  # type: ignore[arg-type]
        vendors=MappingProxyType(dict(sorted(vendors.items()))),
        texts=MappingProxyType({"en": texts}),
    )


def parse_translation(data: Any, gvl: GVL, *, source: str) -> Texts:
    """One purposes-LANG.json, checked to name the same purposes as the vendor list."""
    read = _Reader(source)
    if not isinstance(data, dict):
        raise read.fail("", "a translation is a JSON object")
    return read.texts(data, purposes_known=set(gvl.texts["en"].purposes))


def translation_path(gvl_file: Path, language: str) -> Path:
    return gvl_file.with_name(f"purposes-{language}.json")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except OSError as exc:
        raise GVLError(f"{path}: cannot read: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GVLError(f"{path}: not JSON: {exc}") from None


def load_gvl(path: Path) -> GVL:
    """The vendor list at `path` with every purposes-LANG.json found next to it."""
    gvl = parse_gvl(_read_json(path), source=str(path))
    texts = dict(gvl.texts)
    for candidate in sorted(path.parent.glob("purposes-*.json")):
        language = candidate.stem.removeprefix("purposes-")
        if _LANGUAGE.match(language) and language != "en":
            texts[language] = parse_translation(_read_json(candidate), gvl, source=str(candidate))
    return GVL(
        vendor_list_version=gvl.vendor_list_version,
        policy_version=gvl.policy_version,
        last_updated=gvl.last_updated,
        vendors=gvl.vendors,
        texts=MappingProxyType(texts),
    )


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class GvlFile:
    """A vendor list file and the last good GVL read from it.

    `poll()` looks at the file at most once per `interval` seconds; `tcf update` replaces
    the translations first and the vendor list last, so a new vendor list file means the
    whole set is in place. A broken file is logged and the last good list stays.
    """

    def __init__(
        self, path: Path, *, interval: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.path = path
        self.interval = interval
        self._clock = clock
        self._stamp = _stamp(path)
        self.gvl = load_gvl(path)
        self._next_check = clock() + interval

    def poll(self) -> GVL | None:
        """The new GVL if the file was replaced and reads well, else None."""
        now = self._clock()
        if now < self._next_check:
            return None
        self._next_check = now + self.interval
        stamp = _stamp(self.path)
        if stamp == self._stamp:
            return None
        self._stamp = stamp
        try:
            gvl = load_gvl(self.path)
        except GVLError as exc:
            log.error(
                "vendor list not reloaded; keeping version %s: %s",
                self.gvl.vendor_list_version,
                exc,
            )
            return None
        log.info(
            "vendor list %s loaded (was %s)", gvl.vendor_list_version, self.gvl.vendor_list_version
        )
        self.gvl = gvl
        return gvl
