"""A MaxMind DB file shared by every request: opened once, answers cached, replacement
picked up.

`WatchedDatabase` is what every database type has in common: opening and checking the
file, a small cache of answers by address, the addresses that are never looked up, and
reload. A subclass names the database types it reads and what a record answers
(`GeoReader`: a location; `AnonymousReader`: anonymous or not).

The file is memory-mapped, so it must be replaced atomically (`os.replace`), never
rewritten in place. It is looked at again at most every `check_interval` seconds; a
replacement that cannot be used is reported once and the loaded copy keeps answering.
"""

from __future__ import annotations

import ipaddress
import itertools
import logging
import os
import stat
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Generic, Self, TypeVar

import maxminddb

__all__ = ["GeoDatabaseError", "IPAddress", "OpenedFile", "WatchedDatabase", "open_file"]

log = logging.getLogger("gatekeeper.geo")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Answer = TypeVar("Answer")
"""What a lookup answers (never None: None marks an address not in the cache)."""
Signature = tuple[int, int, int]
"""What identifies one version of a file: inode, modification time, size."""

Layout = Callable[[Any, IPAddress], Answer]
"""What one record (the raw `maxminddb` value, None when the address is not in the
file) answers for an address."""

# Decoding a few records at open time catches a file whose metadata is fine but whose
# data section is not, before it serves a single request; a handful is enough to hit
# every record type in practice and costs microseconds even on a full database.
_PROBE_RECORDS = 64


class GeoDatabaseError(Exception):
    """The GeoIP database is missing, unreadable, not a MaxMind DB file or of a layout
    that cannot answer the question asked of it."""


@dataclass(frozen=True, slots=True)
class OpenedFile:
    """One opened file, checked to be a readable MaxMind DB."""

    reader: maxminddb.Reader
    signature: Signature
    database_type: str


@dataclass(frozen=True, slots=True)
class _Database(Generic[Answer]):
    """The file being served and how its records answer; swapped whole on reload, so a
    lookup always sees one consistent pair."""

    file: OpenedFile
    answer: Layout[Answer]


class WatchedDatabase(ABC, Generic[Answer]):
    """A MaxMind DB file with a small cache of answers and atomic reload.

    One instance is meant to be shared by every request. A lookup never raises because
    of the database: a record it cannot read is reported once in the log (once per file)
    and answered with the subclass's "unknown" answer, which is also the answer for
    addresses that locate no one (`is_local`) and after `close`.
    """

    kind: ClassVar[str] = "GeoIP"
    """How log messages name this kind of database."""
    unknown: ClassVar[Any]
    """The answer for an address the database does not hold (or a closed database)."""

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
        self.check_interval = check_interval
        self.generation = 0
        """Counts reloads: callers that remember answers forget them when it changes."""
        self._cache_size = cache_size
        self._clock = clock
        self._db: _Database[Answer] | None = self._load()
        self._cache: OrderedDict[IPAddress, Answer] = OrderedDict()
        self._next_check = clock() + check_interval
        # The file state last looked at, good or bad, so a broken replacement is
        # reported once rather than on every check.
        self._seen: Signature | None = self._db.file.signature
        self._reload_lock = threading.Lock()
        self._error_logged = False

    @abstractmethod
    def _layout(self, database_type: str) -> Layout[Answer]:
        """How records of `database_type` answer; GeoDatabaseError when they cannot."""

    @property
    def database_type(self) -> str:
        """The database's own name for its layout, e.g. "GeoIP2-City"."""
        return self._db.file.database_type if self._db is not None else ""

    def refresh(self) -> None:
        """Pick up a replaced file if `check_interval` has passed since the last look."""
        if self._clock() >= self._next_check:
            self._check_file()

    def _find(self, ip: IPAddress) -> Answer:
        if self._clock() >= self._next_check:
            self._check_file()
        db = self._db
        if db is None:
            return self.unknown
        if ip.version == 6:
            mapped = ip.ipv4_mapped
            if mapped is not None:
                ip = mapped
        cache = self._cache
        answer = cache.get(ip)
        if answer is not None:
            cache.move_to_end(ip)
            return answer
        try:
            record = db.file.reader.get(ip)
            # Asked only of addresses the file holds: the check costs more than a miss.
            if record is not None and is_local(ip):
                record = None  # e.g. Teredo, which the file aliases to an IPv4 address
            answer = db.answer(record, ip)
        except Exception as exc:
            # A request must never fail because of the database, whatever the reader
            # raises on a damaged file.
            self._report(db, exc)
            return self.unknown
        # An answer from a database swapped out meanwhile must not enter the new cache.
        if self._cache_size and db is self._db:
            cache[ip] = answer
            while len(cache) > self._cache_size:
                try:
                    cache.popitem(last=False)
                except KeyError:  # emptied by a reload in another thread
                    break
        return answer

    def close(self) -> None:
        """Release the file; later lookups answer "unknown"."""
        db, self._db = self._db, None
        self._cache.clear()
        self._next_check = float("inf")
        if db is not None:
            db.file.reader.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}, database_type={self.database_type!r})"

    def _load(self) -> _Database[Answer]:
        file = open_file(self.path)
        try:
            return _Database(file, self._layout(file.database_type))
        except GeoDatabaseError:
            file.reader.close()
            raise

    def _check_file(self) -> None:
        if not self._reload_lock.acquire(blocking=False):
            return  # another thread is already checking
        try:
            self._next_check = self._clock() + self.check_interval
            if self._db is None:
                return
            signature = _signature(self.path)
            if signature == self._seen:
                return
            self._seen = signature
            if signature == self._db.file.signature:
                return  # back to the file being served, after a bad replacement
            if signature is None:
                log.warning(
                    "%s database not found: %s; still using the previously loaded copy",
                    self.kind,
                    self.path,
                )
                return
            try:
                db = self._load()
            except GeoDatabaseError as exc:
                log.warning("%s; still using the previously loaded copy", exc)
                return
            old, self._db = self._db, db
            self._seen = db.file.signature
            self._cache.clear()
            self.generation += 1
            self._error_logged = False
            log.info("%s database reloaded: %s (%s)", self.kind, self.path, db.file.database_type)
            old.file.reader.close()
        finally:
            self._reload_lock.release()

    def _report(self, db: _Database[Answer], exc: Exception) -> None:
        if self._error_logged or db is not self._db:
            return
        self._error_logged = True
        log.warning(
            "%s database %s could not be read (%s: %s); "
            "addresses it cannot answer are treated as unknown",
            self.kind,
            self.path,
            type(exc).__name__,
            exc,
        )


def _signature(path: Path) -> Signature | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def open_file(path: Path) -> OpenedFile:
    """Open `path` as a MaxMind DB and read a few records; GeoDatabaseError if it fails."""
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
    return OpenedFile(reader, (st.st_ino, st.st_mtime_ns, st.st_size), database_type)


# Addresses that never locate anyone: this host, the local network, carrier NAT, and
# Teredo (MaxMind aliases it to the relay's IPv4 address). Documentation ranges are NOT
# here, though Python calls them private: the demo's database is built from them.
_LOCAL_NETWORKS = [
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
]
# As integer mask tests: `ip in network` costs several times the database lookup.
_LOCAL = {
    version: tuple(
        (int(n.netmask), int(n.network_address)) for n in _LOCAL_NETWORKS if n.version == version
    )
    for version in (4, 6)
}


def is_local(ip: IPAddress) -> bool:
    """True for addresses no database should be asked about (loopback, LAN, CGNAT,
    link-local, Teredo)."""
    value = int(ip)
    return any(value & mask == prefix for mask, prefix in _LOCAL[ip.version])
