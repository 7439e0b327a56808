"""Country and subdivision of an address from a MaxMind DB file (GeoIP2 / GeoLite2).

The raw `maxminddb` reader is used instead of geoip2's model classes: it is several
times faster and reads Country and City layouts alike. The file is memory-mapped, so it
must be replaced atomically (`os.replace`), never rewritten in place; a replaced file is
picked up on a later lookup.
"""

from __future__ import annotations

import ipaddress
import itertools
import logging
import os
import stat
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import maxminddb

__all__ = ["GeoDatabaseError", "GeoReader", "Location"]

log = logging.getLogger("gatekeeper.geo")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Decoding a few records at open time catches a file whose metadata is fine but whose
# data section is not, before it serves a single request; a handful is enough to hit
# every record type in practice and costs microseconds even on a full database.
_PROBE_RECORDS = 64

_Signature = tuple[int, int, int]


class GeoDatabaseError(Exception):
    """The GeoIP database is missing, unreadable or not a MaxMind DB file."""


@dataclass(frozen=True, slots=True)
class Location:
    """What the database says about one address."""

    country: str | None = None
    subdivision: str | None = None
    found: bool = False


_NOWHERE = Location()


@dataclass(frozen=True, slots=True)
class _Database:
    """One opened file; swapped whole on reload, so a lookup sees a consistent set."""

    reader: maxminddb.Reader
    signature: _Signature
    database_type: str
    has_subdivisions: bool


class GeoReader:
    """Looks addresses up in a MaxMind DB file, with a small cache and atomic reload.

    One instance is meant to be shared by every request. `lookup` never raises because
    of the database: a record it cannot read is reported once in the log and answered
    with an empty `Location`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        cache_size: int = 4096,
        check_interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if cache_size < 0:
            raise ValueError(f"cache_size must be 0 or more, not {cache_size}")
        if check_interval < 0:
            raise ValueError(f"check_interval must be 0 or more, not {check_interval}")
        self.path = Path(path)
        self._cache_size = cache_size
        self._check_interval = check_interval
        self.check_interval = check_interval
        self._clock = clock
        self._db: _Database | None = _open(self.path)
        self._cache: OrderedDict[IPAddress, Location] = OrderedDict()
        self._next_check = clock() + check_interval
        # The file state last looked at, good or bad, so a broken replacement is
        # reported once rather than on every check.
        self._seen: _Signature | None = self._db.signature
        self._reload_lock = threading.Lock()
        self._error_logged = False
        self.generation = 0
        """Counts reloads: callers that remember answers forget them when it changes."""

    @property
    def database_type(self) -> str:
        """The database's own name for its layout, e.g. "GeoIP2-City"."""
        return self._db.database_type if self._db is not None else ""

    @property
    def has_subdivisions(self) -> bool:
        """True when the database can answer with a subdivision (City layouts)."""
        return self._db is not None and self._db.has_subdivisions

    def refresh(self) -> None:
        """Pick up a replaced file if `check_interval` has passed since the last look."""
        if self._clock() >= self._next_check:
            self._check_file()

    def lookup(self, ip: IPAddress) -> Location:
        """Where `ip` is; `Location()` (found False) when unknown or not public."""
        if self._clock() >= self._next_check:
            self._check_file()
        db = self._db
        if ip.version == 6:
            mapped = ip.ipv4_mapped
            if mapped is not None:
                ip = mapped
        cache = self._cache
        try:
            location = cache[ip]
            cache.move_to_end(ip)
            return location
        except KeyError:
            pass
        if _is_local(ip):
            location = _NOWHERE
        elif db is None:
            return _NOWHERE
        else:
            try:
                record = db.reader.get(ip)
            except Exception as exc:
                # A request must never fail because of the database, whatever the
                # reader raises on a damaged file.
                self._report(db, exc)
                return _NOWHERE
            location = _location(record)
        # An answer from a database swapped out meanwhile must not enter the new cache.
        if self._cache_size and db is self._db:
            cache[ip] = location
            while len(cache) > self._cache_size:
                try:
                    cache.popitem(last=False)
                except KeyError:  # emptied by a reload in another thread
                    break
        return location

    def close(self) -> None:
        """Release the file; later lookups answer `Location()`."""
        db, self._db = self._db, None
        self._cache.clear()
        self._next_check = float("inf")
        if db is not None:
            db.reader.close()

    def __enter__(self) -> GeoReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"GeoReader({str(self.path)!r}, database_type={self.database_type!r})"

    def _check_file(self) -> None:
        if not self._reload_lock.acquire(blocking=False):
            return  # another thread is already checking
        try:
            self._next_check = self._clock() + self._check_interval
            if self._db is None:
                return
            signature = _signature(self.path)
            if signature == self._seen:
                return
            self._seen = signature
            if signature == self._db.signature:
                return  # back to the file being served, after a bad replacement
            if signature is None:
                log.warning(
                    "GeoIP database not found: %s; still using the previously loaded copy",
                    self.path,
                )
                return
            try:
                db = _open(self.path)
            except GeoDatabaseError as exc:
                log.warning("%s; still using the previously loaded copy", exc)
                return
            old, self._db = self._db, db
            self._seen = db.signature
            self._cache.clear()
            self.generation += 1
            self._error_logged = False
            log.info("GeoIP database reloaded: %s (%s)", self.path, db.database_type)
            old.reader.close()
        finally:
            self._reload_lock.release()

    def _report(self, db: _Database, exc: Exception) -> None:
        if self._error_logged or db is not self._db:
            return
        self._error_logged = True
        log.warning(
            "GeoIP database %s could not be read (%s: %s); "
            "addresses it cannot answer are treated as unknown",
            self.path,
            type(exc).__name__,
            exc,
        )


def _signature(path: Path) -> _Signature | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _open(path: Path) -> _Database:
    # The file is stat-ed before it is opened: if it is replaced in between, the
    # signature is the older one and the next check reloads, instead of the newer
    # signature hiding an older open file forever.
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise GeoDatabaseError(f"GeoIP database not found: {path}") from None
    except OSError as exc:
        raise GeoDatabaseError(
            f"GeoIP database {path} cannot be read: {exc.strerror or exc}"
        ) from None
    if not stat.S_ISREG(st.st_mode):
        raise GeoDatabaseError(f"GeoIP database {path} is not a file")
    if st.st_size == 0:
        raise GeoDatabaseError(f"GeoIP database {path} is not a valid MaxMind DB file: empty")
    try:
        reader = maxminddb.open_database(os.fspath(path), maxminddb.MODE_AUTO)
    except FileNotFoundError:
        raise GeoDatabaseError(f"GeoIP database not found: {path}") from None
    except (maxminddb.InvalidDatabaseError, ValueError) as exc:
        raise GeoDatabaseError(
            f"GeoIP database {path} is not a valid MaxMind DB file: {exc}"
        ) from None
    except OSError as exc:
        raise GeoDatabaseError(
            f"GeoIP database {path} cannot be read: {exc.strerror or exc}"
        ) from None
    try:
        database_type = str(reader.metadata().database_type)
        for _network, _record in itertools.islice(reader, _PROBE_RECORDS):
            pass
    except Exception as exc:
        reader.close()
        raise GeoDatabaseError(
            f"GeoIP database {path} is not a valid MaxMind DB file: {exc}"
        ) from None
    has_subdivisions = "City" in database_type or "Enterprise" in database_type
    return _Database(
        reader, (st.st_ino, st.st_mtime_ns, st.st_size), database_type, has_subdivisions
    )


# Addresses that never locate anyone: this host, the local network, carrier NAT, and
# Teredo (MaxMind aliases it to the relay's IPv4 country). Documentation ranges are NOT
# here, though Python calls them private: the demo's database is built from them.
_LOCAL = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "::/128",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
        "2001::/32",
    )
)


def _is_local(ip: IPAddress) -> bool:
    return any(ip.version == net.version and ip in net for net in _LOCAL)


def _location(record: Any) -> Location:
    if record is None:
        return _NOWHERE
    if not isinstance(record, dict):
        return Location(found=True)
    traits = record.get("traits")
    if isinstance(traits, dict) and traits.get("is_anycast") is True:
        # Served from many countries at once: the registered country is not the visitor's.
        return Location(found=True)
    country = _iso_code(record.get("country"))
    subdivision = None
    if country is not None:
        subdivisions = record.get("subdivisions")
        if isinstance(subdivisions, list) and subdivisions:
            code = _iso_code(subdivisions[0])
            if code is not None:
                subdivision = f"{country}-{code}"
    else:
        country = _iso_code(record.get("registered_country"))
    return Location(country=country, subdivision=subdivision, found=True)


def _iso_code(entry: Any) -> str | None:
    if isinstance(entry, dict):
        code = entry.get("iso_code")
        if isinstance(code, str) and code:
            return code
    return None
