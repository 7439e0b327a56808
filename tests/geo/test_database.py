"""The rules every GeoIP database file follows, location and Anonymous-IP alike.

Both readers are one `WatchedDatabase`; each rule is checked on both, on MaxMind's test
databases (and files written for the test where those have no such records).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.geo import GeoDatabaseError, GeoReader, Location
from gatekeeper.geo.anonymous import AnonymousReader
from gatekeeper.geo.database import WatchedDatabase

from .databases import write_database

CITY = "GeoIP2-City-Test.mmdb"
COUNTRY = "GeoIP2-Country-Test.mmdb"
ANONYMOUS = "GeoIP2-Anonymous-IP-Test.mmdb"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True)
class Kind:
    """One reader, a database it reads, one it refuses, and a known answer."""

    name: str
    reader: type[WatchedDatabase[Any]]
    good: str
    wrong_layout: str
    address: str
    answer: Any
    unknown: Any

    def ask(self, reader: WatchedDatabase[Any], address: str) -> Any:
        ip = ip_address(address)
        return reader.lookup(ip) if isinstance(reader, GeoReader) else reader.is_anonymous(ip)


KINDS = [
    Kind("location", GeoReader, CITY, ANONYMOUS, "81.2.69.160",
         Location("GB", "GB-ENG", found=True), Location()),
    Kind("anonymous", AnonymousReader, ANONYMOUS, CITY, "81.2.69.160", True, False),
]  # fmt: skip


@pytest.fixture(params=KINDS, ids=lambda kind: kind.name)
def kind(request: pytest.FixtureRequest) -> Kind:
    return request.param


def install(source: Path, target: Path) -> None:
    staging = target.with_name(target.name + ".tmp")
    shutil.copyfile(source, staging)
    os.replace(staging, target)


def open_live(kind: Kind, geoip_dir: Path, tmp_path: Path, clock: Callable[[], float]):
    path = tmp_path / "live.mmdb"
    install(geoip_dir / kind.good, path)
    return path, kind.reader(path, check_interval=5.0, clock=clock)


def test_bad_settings_are_refused(kind: Kind, geoip_dir: Path) -> None:
    with pytest.raises(ValueError, match="cache_size"):
        kind.reader(geoip_dir / kind.good, cache_size=-1)
    with pytest.raises(ValueError, match="check_interval"):
        kind.reader(geoip_dir / kind.good, check_interval=-1)


def test_a_database_of_another_layout_is_refused(kind: Kind, geoip_dir: Path) -> None:
    path = geoip_dir / kind.wrong_layout
    with pytest.raises(GeoDatabaseError, match=re.escape(f"{path} is a ")):
        kind.reader(geoip_dir / kind.wrong_layout)


def test_generation_counts_reloads(kind: Kind, geoip_dir: Path, tmp_path: Path) -> None:
    clock = Clock()
    path, reader = open_live(kind, geoip_dir, tmp_path, clock)
    assert reader.generation == 0
    clock.now += 6
    reader.refresh()  # nothing changed
    assert reader.generation == 0
    install(geoip_dir / kind.good, path)
    clock.now += 6
    reader.refresh()
    assert reader.generation == 1
    assert kind.ask(reader, kind.address) == kind.answer
    reader.close()


def test_refresh_waits_for_the_check_interval(kind: Kind, geoip_dir: Path, tmp_path: Path) -> None:
    clock = Clock()
    path, reader = open_live(kind, geoip_dir, tmp_path, clock)
    install(geoip_dir / kind.good, path)
    clock.now += 4.9
    reader.refresh()
    assert reader.generation == 0
    clock.now += 0.2
    reader.refresh()
    assert reader.generation == 1
    reader.close()


def test_back_to_the_file_being_served_is_no_reload(
    kind: Kind, geoip_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A bad replacement undone by moving the served file back: nothing to reload."""
    caplog.set_level(logging.INFO, logger="gatekeeper.geo")
    clock = Clock()
    path, reader = open_live(kind, geoip_dir, tmp_path, clock)
    first = kind.ask(reader, kind.address)
    served = tmp_path / "served.mmdb"
    os.replace(path, served)  # the same inode, modification time and size
    (tmp_path / "bad").write_bytes(b"<html>502 Bad Gateway</html>")
    os.replace(tmp_path / "bad", path)
    clock.now += 6
    reader.refresh()
    os.replace(served, path)
    clock.now += 6
    reader.refresh()
    assert reader.generation == 0
    assert kind.ask(reader, kind.address) == first
    messages = [r.getMessage() for r in caplog.records if r.name == "gatekeeper.geo"]
    assert len(messages) == 1 and "previously loaded copy" in messages[0]
    reader.close()


def test_a_replacement_of_another_layout_keeps_the_loaded_copy(
    kind: Kind, geoip_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="gatekeeper.geo")
    clock = Clock()
    path, reader = open_live(kind, geoip_dir, tmp_path, clock)
    install(geoip_dir / kind.wrong_layout, path)
    for _ in range(3):
        clock.now += 6
        assert kind.ask(reader, kind.address) == kind.answer
    assert reader.generation == 0
    warnings = [r.getMessage() for r in caplog.records if r.name == "gatekeeper.geo"]
    assert len(warnings) == 1 and "still using the previously loaded copy" in warnings[0]
    reader.close()


def test_closed_reader_answers_unknown(kind: Kind, geoip_dir: Path) -> None:
    reader = kind.reader(geoip_dir / kind.good)
    reader.close()
    reader.refresh()
    assert kind.ask(reader, kind.address) == kind.unknown
    assert reader.database_type == ""


def test_local_addresses_are_never_answered_from_the_file(kind: Kind, tmp_path: Path) -> None:
    """Carrier NAT, LAN and Teredo say nothing about the visitor, even when a file holds
    them; documentation ranges are real answers (the demo database is made of them)."""
    if kind.reader is GeoReader:
        record: dict[str, Any] = {"country": {"iso_code": "DE"}}
        database_type, held = "Test-City", Location("DE", found=True)
    else:
        record = {"is_anonymous": True, "is_public_proxy": True}
        database_type, held = "GeoIP2-Anonymous-IP", True
    path = write_database(
        tmp_path / "local.mmdb",
        database_type,
        {n: record for n in ("192.0.2.0/24", "100.64.0.0/10", "10.0.0.0/8", "2001::/32")},
    )
    with kind.reader(path) as reader:
        assert kind.ask(reader, "192.0.2.7") == held
        assert kind.ask(reader, "::ffff:192.0.2.7") == held
        for address in ("100.64.0.1", "10.1.2.3", "2001:0:102:1::1"):
            assert kind.ask(reader, address) == kind.unknown, address


def test_an_enterprise_database_answers_both(tmp_path: Path) -> None:
    """One Enterprise file can serve as geoip.database and geoip.anonymous_database."""
    path = write_database(
        tmp_path / "enterprise.mmdb",
        "GeoIP2-Enterprise",
        {
            "198.51.100.0/24": {
                "country": {"iso_code": "US"},
                "subdivisions": [{"iso_code": "CA"}, {"iso_code": "SF"}],
                "traits": {"is_anonymous": True, "is_anonymous_vpn": True},
            },
            "203.0.113.0/24": {"country": {"iso_code": "JP"}, "traits": {"is_anycast": False}},
        },
    )
    with GeoReader(path) as geo, AnonymousReader(path) as anonymous:
        assert geo.has_subdivisions
        assert geo.lookup(ip_address("198.51.100.1")) == Location("US", "US-CA", found=True)
        assert geo.lookup(ip_address("203.0.113.1")) == Location("JP", found=True)
        assert anonymous.is_anonymous(ip_address("198.51.100.1")) is True
        assert anonymous.is_anonymous(ip_address("203.0.113.1")) is False


def test_an_anycast_address_has_no_country(tmp_path: Path) -> None:
    path = write_database(
        tmp_path / "anycast.mmdb",
        "Test-Country",
        {"203.0.113.0/24": {"country": {"iso_code": "US"}, "traits": {"is_anycast": True}}},
    )
    with GeoReader(path) as geo:
        assert geo.lookup(ip_address("203.0.113.1")) == Location(found=True)
