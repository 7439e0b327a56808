"""The Anonymous-IP reader on MaxMind's test database."""

from __future__ import annotations

import logging
import os
import shutil
from ipaddress import ip_address
from pathlib import Path

import pytest

from gatekeeper.geo import GeoDatabaseError
from gatekeeper.geo.anonymous import AnonymousReader, open_anonymous
from gatekeeper.policy.sections.geo import GeoIPSettings

from .conftest import ANONYMOUS, CITY


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("address", "anonymous"),
    [
        ("1.2.0.1", True),  # VPN
        ("1.124.213.1", True),  # Tor exit
        ("81.2.69.160", True),
        ("::ffff:81.2.69.160", True),
        ("2001:480:3a::1", True),  # public proxy, IPv6
        ("89.160.20.112", False),
        ("1.3.0.1", False),  # in the database, no flags
        ("8.8.8.8", False),  # not in the database
        ("10.0.0.1", False),
        ("127.0.0.1", False),
    ],
)
def test_known_answers(geoip_dir: Path, address: str, anonymous: bool):
    with AnonymousReader(geoip_dir / ANONYMOUS) as reader:
        assert reader.is_anonymous(ip_address(address)) is anonymous
        assert reader.is_anonymous(ip_address(address)) is anonymous  # cached
        assert reader.database_type == "GeoIP2-Anonymous-IP"


def test_cache_is_bounded(geoip_dir: Path):
    with AnonymousReader(geoip_dir / ANONYMOUS, cache_size=2) as reader:
        for address in ("1.2.0.1", "1.2.0.2", "1.2.0.3", "89.160.20.112"):
            reader.is_anonymous(ip_address(address))
        assert len(reader._cache) == 2


def test_same_error_class_as_the_location_reader(tmp_path: Path, geoip_dir: Path):
    with pytest.raises(GeoDatabaseError, match="not found"):
        AnonymousReader(tmp_path / "missing.mmdb")
    garbage = tmp_path / "garbage.mmdb"
    garbage.write_bytes(b"not a database" * 10)
    with pytest.raises(GeoDatabaseError, match="not a valid MaxMind DB"):
        AnonymousReader(garbage)
    with pytest.raises(GeoDatabaseError, match="GeoIP2-City database, not an Anonymous-IP one"):
        AnonymousReader(geoip_dir / CITY)


def test_replaced_file_is_picked_up(tmp_path: Path, geoip_dir: Path, caplog):
    clock = Clock()
    path = tmp_path / "anon.mmdb"
    shutil.copyfile(geoip_dir / ANONYMOUS, path)
    reader = AnonymousReader(path, check_interval=5, clock=clock)
    assert reader.is_anonymous(ip_address("1.2.0.1"))
    # A broken replacement is refused and the loaded copy keeps answering (fresh
    # addresses each time, so the answers come from the file and not the cache).
    staging = tmp_path / "staging"
    staging.write_bytes(b"broken")
    os.replace(staging, path)
    clock.now = 10
    with caplog.at_level(logging.WARNING):
        assert reader.is_anonymous(ip_address("1.2.0.2"))
    assert "previously loaded copy" in caplog.text
    # A City database in its place is refused as well.
    shutil.copyfile(geoip_dir / CITY, staging)
    os.replace(staging, path)
    clock.now = 20
    assert reader.is_anonymous(ip_address("1.2.0.3"))
    assert reader.database_type == "GeoIP2-Anonymous-IP"
    # A good replacement is loaded, and the cache starts over.
    shutil.copyfile(geoip_dir / ANONYMOUS, staging)
    os.replace(staging, path)
    clock.now = 30
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert reader.is_anonymous(ip_address("1.2.0.4"))
    assert "Anonymous-IP database reloaded" in caplog.text
    assert list(reader._cache) == [ip_address("1.2.0.4")]
    reader.close()
    assert reader.is_anonymous(ip_address("1.2.0.1")) is False


def test_open_anonymous_follows_on_missing(tmp_path: Path, geoip_dir: Path, caplog):
    assert open_anonymous(GeoIPSettings()) is None
    present = open_anonymous(GeoIPSettings(anonymous_database=geoip_dir / ANONYMOUS))
    assert isinstance(present, AnonymousReader)
    present.close()
    missing = tmp_path / "absent.mmdb"
    with pytest.raises(GeoDatabaseError):
        open_anonymous(GeoIPSettings(anonymous_database=missing, on_missing="error"))
    with caplog.at_level(logging.WARNING):
        assert open_anonymous(GeoIPSettings(anonymous_database=missing, on_missing="allow")) is None
    assert "anonymous addresses are not recognised" in caplog.text
