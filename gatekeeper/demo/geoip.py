"""The demo GeoIP database: a few documentation address ranges mapped to places.

`gatekeeper demo` looks visitors up in `demo-geoip.mmdb`, which sits next to this module.
It covers only the ranges that RFC 5737 (IPv4) and RFC 3849 (IPv6) reserve for
documentation, so it never says anything about a real address: a tester acts as a
visitor from Germany, California or Antarctica by sending from (or claiming, through a
trusted proxy header) one of the addresses below. Everything else, loopback included, is
not in the database, which the demo policy treats as an unknown location.

Records follow the GeoIP2 City layout (`country`, `registered_country`, `continent`,
`subdivisions`), so both `maxminddb`'s raw `get()` and `geoip2`'s `Reader.city()` read
them. The database is IPv6 with the IPv4 rows in the `::/96` subtree, where readers look
IPv4 addresses up; the same rows are also stored under `::ffff:0:0/96` so that an
un-normalised IPv4-mapped address answers the same as the plain one.

The table below is the source; rebuild the shipped file after editing it with::

    python -m gatekeeper.demo.geoip

(`mmdb_writer` is a development dependency, imported only by `build`.)
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass
from ipaddress import IPv4Network, ip_network
from pathlib import Path
from typing import Any

DEMO_DATABASE = Path(__file__).with_name("demo-geoip.mmdb")
"""The shipped database, built from `DEMO_NETWORKS`."""

DATABASE_TYPE = "Gatekeeper-Demo-City"
DESCRIPTION = (
    "Gatekeeper demo data: invented locations for the documentation address ranges "
    "192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 (RFC 5737) and 2001:db8::/32 "
    "(RFC 3849). Not geolocation data for any real address."
)
BUILD_EPOCH = 1_795_000_000
"""Fixed build time written into the metadata, so a rebuild of the same table gives the
same file (2026-11-18T11:06:40Z)."""


@dataclass(frozen=True, slots=True)
class DemoNetwork:
    """One row of the demo table: a documentation network and the place it stands for."""

    network: str
    country: str
    subdivision: str | None
    note: str


DEMO_NETWORKS: tuple[DemoNetwork, ...] = (
    DemoNetwork("192.0.2.0/26", "DE", None, "Germany, EU: opt-in consent"),
    DemoNetwork("192.0.2.64/26", "FR", None, "France, EU: opt-in consent"),
    DemoNetwork("192.0.2.128/26", "GB", None, "United Kingdom: opt-in consent"),
    DemoNetwork("192.0.2.192/26", "CH", None, "Switzerland: opt-in consent"),
    DemoNetwork("198.51.100.0/25", "US", "CA", "California: opt-out, Sec-GPC honoured"),
    DemoNetwork("198.51.100.128/25", "US", "TX", "Texas: notice only"),
    DemoNetwork("203.0.113.0/25", "JP", None, "Japan: notice only"),
    DemoNetwork("203.0.113.128/25", "AQ", None, "Antarctica: whole site blocked"),
    DemoNetwork("2001:db8:de::/48", "DE", None, "Germany over IPv6: opt-in consent"),
    DemoNetwork("2001:db8:ca::/48", "US", "CA", "California over IPv6: opt-out"),
    DemoNetwork("2001:db8:aa::/48", "AQ", None, "Antarctica over IPv6: site blocked"),
)

COUNTRY_NAMES: dict[str, str] = {
    "AQ": "Antarctica",
    "CH": "Switzerland",
    "DE": "Germany",
    "FR": "France",
    "GB": "United Kingdom",
    "JP": "Japan",
    "US": "United States",
}
COUNTRY_CONTINENTS: dict[str, str] = {
    "AQ": "AN",
    "CH": "EU",
    "DE": "EU",
    "FR": "EU",
    "GB": "EU",
    "JP": "AS",
    "US": "NA",
}
CONTINENT_NAMES: dict[str, str] = {
    "AN": "Antarctica",
    "AS": "Asia",
    "EU": "Europe",
    "NA": "North America",
}
EU_MEMBERS = frozenset({"DE", "FR"})
"""Countries of the table in the European Union (GeoIP2's `is_in_european_union`)."""
SUBDIVISION_NAMES: dict[tuple[str, str], str] = {
    ("US", "CA"): "California",
    ("US", "TX"): "Texas",
}


def record(row: DemoNetwork) -> dict[str, Any]:
    """The GeoIP2 City record stored for `row`."""
    country: dict[str, Any] = {
        "iso_code": row.country,
        "names": {"en": COUNTRY_NAMES[row.country]},
    }
    if row.country in EU_MEMBERS:
        country["is_in_european_union"] = True
    continent = COUNTRY_CONTINENTS[row.country]
    result: dict[str, Any] = {
        "continent": {"code": continent, "names": {"en": CONTINENT_NAMES[continent]}},
        "country": country,
        "registered_country": dict(country),
    }
    if row.subdivision is not None:
        result["subdivisions"] = [
            {
                "iso_code": row.subdivision,
                "names": {"en": SUBDIVISION_NAMES[(row.country, row.subdivision)]},
            }
        ]
    return result


def build(path: str | os.PathLike[str], *, build_epoch: int = BUILD_EPOCH) -> None:
    """Write the database for `DEMO_NETWORKS` to `path`.

    The file is written next to `path` and moved into place with `os.replace`, so a
    reader that has the old file memory-mapped is never handed a half-written one.
    """
    from mmdb_writer import MMDBWriter
    from netaddr import IPNetwork, IPSet

    class _Writer(MMDBWriter):
        def _build_meta(self) -> dict[str, Any]:
            meta = super()._build_meta()
            meta["build_epoch"] = build_epoch
            return meta

    writer = _Writer(
        ip_version=6,
        ipv4_compatible=True,
        database_type=DATABASE_TYPE,
        languages=["en"],
        description={"en": DESCRIPTION},
    )
    for row in DEMO_NETWORKS:
        network = ip_network(row.network)
        content = record(row)
        # An IPv4 network goes into ::/96 (the writer maps it there) ...
        writer.insert_network(IPSet([IPNetwork(str(network))]), content)
        if isinstance(network, IPv4Network):
            # ... and again as ::ffff:a.b.c.d, for readers that do not normalise.
            mapped = IPNetwork(str(network)).ipv6(ipv4_compatible=False)
            writer.insert_network(IPSet([mapped]), content)

    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        writer.to_db_file(tmp)
        os.chmod(tmp, 0o644)  # mkstemp creates it owner-only; the database is not secret
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else DEMO_DATABASE
    build(target)
    print(f"wrote {target} ({target.stat().st_size} bytes, {len(DEMO_NETWORKS)} networks)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
