"""The demo GeoIP database shipped with `gatekeeper demo`."""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import IPv6Address, ip_network
from pathlib import Path
from typing import Any

import geoip2.database
import maxminddb
import pytest

from gatekeeper.demo.geoip import (
    DATABASE_TYPE,
    DEMO_DATABASE,
    DEMO_NETWORKS,
    DemoNetwork,
    build,
)

DOCUMENTATION_RANGES = [
    ip_network("192.0.2.0/24"),
    ip_network("198.51.100.0/24"),
    ip_network("203.0.113.0/24"),
    ip_network("2001:db8::/32"),
]
OUTSIDE = [
    "127.0.0.1",
    "10.1.2.3",
    "8.8.8.8",
    "192.0.3.1",
    "198.51.101.1",
    "203.0.114.1",
    "::1",
    "2001:db8::1",
    "2001:db8:ff::1",
    "2001:db9:de::1",
]


def samples(row: DemoNetwork) -> list[str]:
    """The first, a middle and the last address of the row's network."""
    network = ip_network(row.network)
    return [
        str(network.network_address),
        str(network[network.num_addresses // 2]),
        str(network.broadcast_address),
    ]


def all_samples() -> Iterator[str]:
    for row in DEMO_NETWORKS:
        yield from samples(row)
    yield from OUTSIDE


@pytest.fixture(scope="module")
def reader() -> Iterator[maxminddb.Reader]:
    with maxminddb.open_database(str(DEMO_DATABASE)) as reader:
        yield reader


def check_answer(answer: Any, row: DemoNetwork) -> None:
    assert answer is not None, row
    assert answer["country"]["iso_code"] == row.country
    assert answer["registered_country"]["iso_code"] == row.country
    assert answer["country"]["names"]["en"]
    assert answer["continent"]["code"]
    if row.subdivision is None:
        assert "subdivisions" not in answer
    else:
        (subdivision,) = answer["subdivisions"]
        assert subdivision["iso_code"] == row.subdivision
        assert subdivision["names"]["en"]


def test_table_uses_documentation_ranges_only() -> None:
    networks = [ip_network(row.network) for row in DEMO_NETWORKS]
    for network in networks:
        assert any(
            network.version == documentation.version and network.subnet_of(documentation)
            for documentation in DOCUMENTATION_RANGES
        ), network
    for index, network in enumerate(networks):
        for other in networks[index + 1 :]:
            assert not network.overlaps(other), (network, other)


def test_table_has_the_places_the_demo_needs() -> None:
    places = {(row.country, row.subdivision) for row in DEMO_NETWORKS}
    assert {("DE", None), ("GB", None), ("CH", None), ("JP", None), ("AQ", None)} <= places
    assert {("US", "CA"), ("US", "TX")} <= places
    assert {ip_network(row.network).version for row in DEMO_NETWORKS} == {4, 6}
    assert all(row.note for row in DEMO_NETWORKS)


def test_metadata(reader: maxminddb.Reader) -> None:
    metadata = reader.metadata()
    assert metadata.database_type == DATABASE_TYPE == "Gatekeeper-Demo-City"
    assert metadata.ip_version == 6
    assert "en" in metadata.languages
    assert "documentation" in metadata.description["en"]
    assert DEMO_DATABASE.stat().st_size < 16_384


@pytest.mark.parametrize("row", DEMO_NETWORKS, ids=lambda row: row.network)
def test_every_row_is_answered(reader: maxminddb.Reader, row: DemoNetwork) -> None:
    network = ip_network(row.network)
    for address in samples(row):
        answer, prefix_len = reader.get_with_prefix_len(address)
        check_answer(answer, row)
        # The row is one record: nothing finer or coarser was stored.
        assert prefix_len == network.prefixlen


@pytest.mark.parametrize(
    "row",
    [row for row in DEMO_NETWORKS if ip_network(row.network).version == 4],
    ids=lambda row: row.network,
)
def test_ipv4_mapped_addresses_answer_like_plain_ones(
    reader: maxminddb.Reader, row: DemoNetwork
) -> None:
    for address in samples(row):
        mapped = str(IPv6Address(f"::ffff:{address}"))
        assert reader.get(mapped) == reader.get(address)
        check_answer(reader.get(mapped), row)


@pytest.mark.parametrize("address", OUTSIDE)
def test_addresses_outside_the_table_are_not_found(reader: maxminddb.Reader, address: str) -> None:
    assert reader.get(address) is None


def test_geoip2_reads_it_as_a_city_database() -> None:
    with geoip2.database.Reader(str(DEMO_DATABASE)) as reader:
        california = reader.city("198.51.100.10")
        assert california.country.iso_code == "US"
        assert california.subdivisions.most_specific.iso_code == "CA"
        assert california.continent.code == "NA"
        germany = reader.city("2001:db8:de::1")
        assert germany.country.iso_code == "DE"
        assert germany.country.is_in_european_union
        antarctica = reader.city("203.0.113.200")
        assert antarctica.country.iso_code == "AQ"


def test_shipped_file_matches_a_fresh_build(tmp_path: Path, reader: maxminddb.Reader) -> None:
    pytest.importorskip("mmdb_writer")
    target = tmp_path / "fresh.mmdb"
    build(target)
    assert [path.name for path in tmp_path.iterdir()] == ["fresh.mmdb"]  # no temp file left
    with maxminddb.open_database(str(target)) as fresh:
        for address in all_samples():
            assert fresh.get_with_prefix_len(address) == reader.get_with_prefix_len(address), (
                address
            )
        shipped_meta, fresh_meta = reader.metadata(), fresh.metadata()
        for field in ("database_type", "description", "ip_version", "languages", "node_count"):
            assert getattr(fresh_meta, field) == getattr(shipped_meta, field), field


def test_build_replaces_an_existing_file(tmp_path: Path) -> None:
    pytest.importorskip("mmdb_writer")
    target = tmp_path / "demo.mmdb"
    target.write_bytes(b"old contents")
    build(target)
    with maxminddb.open_database(str(target)) as fresh:
        assert fresh.get("192.0.2.1")["country"]["iso_code"] == "DE"


def test_gatekeeper_reader_locates_documentation_ranges():
    # Python counts these ranges as private; the reader must still look them up, or the
    # demo could never place a visitor anywhere.
    import ipaddress

    from gatekeeper.demo import GEOIP
    from gatekeeper.geo import GeoReader

    reader = GeoReader(GEOIP)
    assert reader.lookup(ipaddress.ip_address("192.0.2.10")).country == "DE"
    assert reader.lookup(ipaddress.ip_address("198.51.100.7")).subdivision == "US-CA"
    assert reader.lookup(ipaddress.ip_address("203.0.113.200")).country == "AQ"
    assert reader.lookup(ipaddress.ip_address("2001:db8:aa::1")).country == "AQ"
    assert reader.lookup(ipaddress.ip_address("10.1.2.3")).found is False
