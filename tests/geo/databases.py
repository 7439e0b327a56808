"""Small MaxMind DB files written for one test, with MaxMind's own writer layout.

MaxMind's test databases (tests/data/geoip/) hold no documentation or carrier-NAT
ranges and there is no Enterprise one; the tests that need those write a file here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mmdb_writer import MMDBWriter
from netaddr import IPNetwork, IPSet


def write_database(path: Path, database_type: str, records: dict[str, dict[str, Any]]) -> Path:
    """An IPv6 database (IPv4 in ::/96, where readers look it up) of `records` by network."""
    writer = MMDBWriter(
        ip_version=6,
        ipv4_compatible=True,
        database_type=database_type,
        languages=["en"],
        description={"en": "gatekeeper test data"},
    )
    for network, record in records.items():
        writer.insert_network(IPSet([IPNetwork(network)]), record)
    writer.to_db_file(str(path))
    return path
