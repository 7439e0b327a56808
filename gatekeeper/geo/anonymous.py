"""Whether an address is an anonymous proxy, VPN, hosting provider or Tor exit node.

Reads MaxMind's GeoIP2 Anonymous-IP database (or an Enterprise one, which carries the
same flags under `traits`) with the raw `maxminddb` reader, like `GeoReader`: the file
is memory-mapped, so it must be replaced atomically, and a replaced file is picked up on
a later lookup.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..policy.schema import GeoIP
from .reader import GeoDatabaseError, IPAddress, _Database, _open, _Signature, _signature

__all__ = ["AnonymousReader", "open_anonymous"]

log = logging.getLogger("gatekeeper.geo")


class AnonymousReader:
    """Answers `is_anonymous(ip)` from an Anonymous-IP database, with a small cache.

    One instance is shared by every request. Lookups never raise because of the
    database: an unreadable record counts as not anonymous and is reported once.
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
        self.path = Path(path)
        self._cache_size = cache_size
        self._check_interval = check_interval
        self._clock = clock
        self._db: _Database | None = _open_anonymous_file(self.path)
        self._seen: _Signature | None = self._db.signature
        self._cache: OrderedDict[IPAddress, bool] = OrderedDict()
        self._next_check = clock() + check_interval
        self._reload_lock = threading.Lock()
        self._error_logged = False

    @property
    def database_type(self) -> str:
        return self._db.database_type if self._db is not None else ""

    def is_anonymous(self, ip: IPAddress) -> bool:
        """True when the database flags `ip` as anonymous (VPN, proxy, Tor, hosting)."""
        if self._clock() >= self._next_check:
            self._check_file()
        db = self._db
        if ip.version == 6 and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        cache = self._cache
        try:
            flag = cache[ip]
            cache.move_to_end(ip)
            return flag
        except KeyError:
            pass
        if db is None or ip.is_private or ip.is_loopback or ip.is_link_local:
            return False
        try:
            record = db.reader.get(ip)
        except Exception as exc:
            # A request must never fail because of a damaged database file.
            self._report(exc)
            return False
        flag = _flagged(record)
        if self._cache_size and db is self._db:
            cache[ip] = flag
            while len(cache) > self._cache_size:
                try:
                    cache.popitem(last=False)
                except KeyError:  # emptied by a reload in another thread
                    break
        return flag

    def close(self) -> None:
        db, self._db = self._db, None
        self._cache.clear()
        self._next_check = float("inf")
        if db is not None:
            db.reader.close()

    def __enter__(self) -> AnonymousReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"AnonymousReader({str(self.path)!r}, database_type={self.database_type!r})"

    def _check_file(self) -> None:
        if not self._reload_lock.acquire(blocking=False):
            return
        try:
            self._next_check = self._clock() + self._check_interval
            signature = _signature(self.path)
            if self._db is None or signature == self._seen:
                return
            # Remembered before opening so a broken replacement is reported once.
            self._seen = signature
            if signature is None:
                log.warning(
                    "Anonymous-IP database not found: %s; still using the previously loaded copy",
                    self.path,
                )
                return
            try:
                db = _open_anonymous_file(self.path)
            except GeoDatabaseError as exc:
                log.warning("%s; still using the previously loaded copy", exc)
                return
            old, self._db = self._db, db
            self._cache.clear()
            self._error_logged = False
            log.info("Anonymous-IP database reloaded: %s (%s)", self.path, db.database_type)
            old.reader.close()
        finally:
            self._reload_lock.release()

    def _report(self, exc: Exception) -> None:
        if self._error_logged:
            return
        self._error_logged = True
        log.warning(
            "Anonymous-IP database %s could not be read (%s: %s); "
            "addresses it cannot answer count as not anonymous",
            self.path,
            type(exc).__name__,
            exc,
        )


def open_anonymous(
    config: GeoIP, previous: AnonymousReader | None = None
) -> AnonymousReader | None:
    """The policy's Anonymous-IP reader, or None when none is configured or usable.

    Follows `geoip.on_missing` like the location database: `error` raises
    GeoDatabaseError, anything else logs and carries on without anonymous checks.
    `previous` (the reader of the policy being replaced) is reused for the same file.
    """
    if config.anonymous_database is None:
        return None
    if previous is not None and previous.path == config.anonymous_database:
        return previous  # one shared memory map; it watches its own file for replacement
    try:
        return AnonymousReader(
            config.anonymous_database,
            cache_size=config.cache_size,
            check_interval=config.check_interval,
        )
    except GeoDatabaseError as exc:
        if config.on_missing == "error":
            raise
        log.warning("%s; anonymous addresses are not recognised", exc)
        return None


def _open_anonymous_file(path: Path) -> _Database:
    # GeoReader's opener validates the file; the layout check is ours, because a City
    # database in this slot would silently answer "not anonymous" for everyone.
    db = _open(path)
    kind = db.database_type
    if "Anonymous" not in kind and "Enterprise" not in kind:
        db.reader.close()
        raise GeoDatabaseError(
            f"GeoIP database {path} is a {kind or 'unnamed'} database, not an Anonymous-IP one"
        )
    return db


def _flagged(record: Any) -> bool:
    if not isinstance(record, dict):
        return False
    if record.get("is_anonymous") is True:
        return True
    traits = record.get("traits")
    return isinstance(traits, dict) and traits.get("is_anonymous") is True
