"""Whether an address is an anonymous proxy, VPN, hosting provider or Tor exit node.

Reads MaxMind's Anonymous-IP (or Anonymous-Plus) database through geoip2's `AnonymousIP`
model, or an Enterprise database through its `Enterprise` model, which carries the same
flag under `traits`. Opening, caching and reload are `WatchedDatabase`'s, shared with
`GeoReader`: one set of rules for every database file.
"""

from __future__ import annotations

import logging
from typing import Any

import geoip2.models

from ..policy.sections.geo import GeoIPSettings
from .database import GeoDatabaseError, IPAddress, Layout, WatchedDatabase

__all__ = ["AnonymousReader", "open_anonymous"]

log = logging.getLogger("gatekeeper.geo")


class AnonymousReader(WatchedDatabase[bool]):
    """Answers `is_anonymous(ip)`; an address it cannot answer counts as not anonymous."""

    kind = "Anonymous-IP"
    unknown = False

    def is_anonymous(self, ip: IPAddress) -> bool:
        """True when the database flags `ip` as anonymous (VPN, proxy, Tor, hosting)."""
        return self._find(ip)

    def _layout(self, database_type: str) -> Layout[bool]:
        # Checked because a City database in this slot would answer "not anonymous" for
        # everyone, silently.
        if "Anonymous" in database_type:
            return _anonymous_ip
        if "Enterprise" in database_type:
            return _enterprise
        raise GeoDatabaseError(
            f"GeoIP database {self.path} is a {database_type or 'unnamed'} database, "
            "not an Anonymous-IP one"
        )


def _anonymous_ip(record: Any, ip: IPAddress) -> bool:
    if not isinstance(record, dict):
        return False
    return geoip2.models.AnonymousIP(ip, **record).is_anonymous


def _enterprise(record: Any, ip: IPAddress) -> bool:
    if not isinstance(record, dict):
        return False
    return geoip2.models.Enterprise(None, **record).traits.is_anonymous


def open_anonymous(config: GeoIPSettings) -> AnonymousReader | None:
    """The policy's Anonymous-IP reader, or None when none is configured or usable.

    Follows `geoip.on_missing` like the location database: `error` raises
    GeoDatabaseError, anything else logs and carries on without anonymous checks.
    """
    if config.anonymous_database is None:
        return None
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
