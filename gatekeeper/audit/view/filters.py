"""The auditor view's filters: dates (read by period.py, as the CLI reads them), event,
mode, country and consent id."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ...endpoints import BadRequest
from ..period import PeriodError, moment
from ..record import EVENT_TYPES, MODES, Record
from ..store import Query

_COUNTRY = re.compile(r"^[A-Za-z]{2}$")


def _moment(text: str, name: str, *, until: bool = False) -> str:
    try:
        return moment(text, until=until)
    except PeriodError as exc:
        raise BadRequest(f"{name}: {exc}") from None


def consent_id(value: str) -> str:
    """A consent id to look up, or BadRequest: PostgreSQL refuses a NUL in text, and that
    is the visitor's error, not the log's."""
    if len(value) > 128:
        raise BadRequest("consent id is longer than any the log keeps")
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value):
        raise BadRequest("consent id has a control character, which no consent id has")
    return value


def number(value: str | None, name: str, default: int, low: int, high: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number") from None
    if not low <= number <= high:
        raise BadRequest(f"{name} must be between {low} and {high}")
    return number


@dataclass(frozen=True, slots=True)
class Filters:
    """The filter form's values as given (to refill the form and build links)."""

    since: str = ""
    until: str = ""
    event: str = ""
    mode: str = ""
    country: str = ""
    consent_id: str = ""

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> Filters:
        found = cls(**{name: params.get(name, "").strip() for name in cls.__dataclass_fields__})
        found.query()  # validates the dates
        if found.event and found.event not in EVENT_TYPES:
            raise BadRequest(f"event must be one of {', '.join(EVENT_TYPES)}")
        if found.mode and found.mode not in MODES:
            raise BadRequest(f"mode must be one of {', '.join(MODES)}")
        if found.country and not _COUNTRY.match(found.country):
            raise BadRequest("country must be a two-letter code such as DE")
        consent_id(found.consent_id)
        return found

    def query(self) -> Query:
        """What the store filters on: dates (the until date included), country, consent id."""
        return Query(
            since=_moment(self.since, "since") if self.since else None,
            until=_moment(self.until, "until", until=True) if self.until else None,
            consent_id=self.consent_id or None,
            country=self.country.upper() or None,
        )

    @property
    def in_python(self) -> bool:
        """Filters the store cannot apply (event, mode): checked here, record by record."""
        return bool(self.event or self.mode)

    def matches(self, record: Record) -> bool:
        return (not self.event or record.event == self.event) and (
            not self.mode or record.mode == self.mode
        )

    def params(self, *, store_only: bool = False) -> dict[str, str]:
        names: tuple[str, ...] = ("since", "until", "country", "consent_id")
        if not store_only:
            names += ("event", "mode")
        return {name: getattr(self, name) for name in names if getattr(self, name)}

    @property
    def active(self) -> bool:
        return bool(self.params())
