"""Country and subdivision of an address, from a GeoIP2 or GeoLite2 database.

Each record is read through geoip2's typed `City` model (`model.country.iso_code`,
`model.subdivisions`, ...), built from the raw `maxminddb` record rather than by
geoip2's `Reader.city()`/`Reader.country()`: those refuse each other's layout and raise
on every address the file does not hold, which costs ten times a plain miss
(`benchmarks/geoip.py`). The City model reads Country, City and Enterprise records
alike, so one reader serves every location database. Answers are cached per address
(here, and again per request key in `gatekeeper.visitor.Identifier`), so only an address
seen for the first time pays for the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geoip2.models

from .database import GeoDatabaseError, IPAddress, Layout, WatchedDatabase

__all__ = ["GeoDatabaseError", "GeoReader", "Location"]


@dataclass(frozen=True, slots=True)
class Location:
    """What the database says about one address."""

    country: str | None = None
    subdivision: str | None = None
    found: bool = False


_NOWHERE = Location()
_SOMEWHERE = Location(found=True)

# MaxMind's databases that hold no location: named as `geoip.database` by mistake, they
# would place every visitor nowhere, silently.
_NOT_LOCATIONS = frozenset(
    {
        "GeoIP2-Anonymous-IP",
        "GeoIP-Anonymous-Plus",
        "GeoLite2-ASN",
        "GeoIP2-ISP",
        "GeoIP2-Connection-Type",
        "GeoIP2-Domain",
    }
)


class GeoReader(WatchedDatabase[Location]):
    """Looks addresses up in a location database (Country, City or Enterprise layout)."""

    kind = "GeoIP"
    unknown = _NOWHERE

    def lookup(self, ip: IPAddress) -> Location:
        """Where `ip` is; `Location()` (found False) when unknown or not public."""
        return self._find(ip)

    @property
    def has_subdivisions(self) -> bool:
        """True when the database can answer with a subdivision (City layouts)."""
        kind = self.database_type
        return "City" in kind or "Enterprise" in kind

    def _layout(self, database_type: str) -> Layout[Location]:
        if database_type in _NOT_LOCATIONS:
            raise GeoDatabaseError(
                f"GeoIP database {self.path} is a {database_type} database, which holds "
                "no locations"
            )
        return _location


def _location(record: Any, ip: IPAddress) -> Location:
    if record is None:
        return _NOWHERE
    if not isinstance(record, dict):
        return _SOMEWHERE
    model = geoip2.models.City(None, **record)
    if model.traits.is_anycast:
        # Served from many countries at once: the registered country is not the visitor's.
        return _SOMEWHERE
    country = model.country.iso_code or None
    if country is None:
        return Location(country=model.registered_country.iso_code or None, found=True)
    subdivision = None
    if model.subdivisions:
        # The largest subdivision comes first: US-CA, GB-ENG (ISO 3166-2's first level).
        code = model.subdivisions[0].iso_code
        if code:
            subdivision = f"{country}-{code}"
    return Location(country=country, subdivision=subdivision, found=True)
