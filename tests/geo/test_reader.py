from __future__ import annotations

import logging
import os
import shutil
from ipaddress import ip_address
from pathlib import Path

import pytest

from gatekeeper.geo import GeoDatabaseError, GeoReader, Location

COUNTRY = "GeoIP2-Country-Test.mmdb"
LITE = "GeoLite2-Country-Test.mmdb"
CITY = "GeoIP2-City-Test.mmdb"
BROKEN = "GeoIP2-City-Test-Broken-Double-Format.mmdb"

GB = Location(country="GB", found=True)
SE = Location(country="SE", found=True)
US = Location(country="US", found=True)
JP = Location(country="JP", found=True)
NOT_FOUND = Location()


def ip(text: str):
    return ip_address(text)


class Clock:
    """A clock the test moves by hand, so reload checks need no sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def install(source: Path, target: Path) -> None:
    """Put a database in place the way operators and `gatekeeper geoip update` do."""
    staging = target.with_name(target.name + ".tmp")
    shutil.copyfile(source, staging)
    os.replace(staging, target)


@pytest.fixture
def live_path(tmp_path: Path, geoip_dir: Path) -> Path:
    path = tmp_path / "GeoLite2-Country.mmdb"
    install(geoip_dir / COUNTRY, path)
    return path


# Known answers


@pytest.mark.parametrize("name", [COUNTRY, LITE])
def test_country_databases(geoip_dir: Path, name: str) -> None:
    with GeoReader(geoip_dir / name) as reader:
        assert reader.lookup(ip("81.2.69.160")) == GB
        assert reader.lookup(ip("89.160.20.112")) == SE
        assert reader.lookup(ip("216.160.83.56")) == US
        assert reader.has_subdivisions is False
        assert reader.database_type == name.removesuffix("-Test.mmdb")


def test_city_database_has_subdivisions(geoip_dir: Path) -> None:
    with GeoReader(geoip_dir / CITY) as reader:
        assert reader.database_type == "GeoIP2-City"
        assert reader.has_subdivisions is True
        assert reader.lookup(ip("216.160.83.56")) == Location("US", "US-WA", found=True)
        assert reader.lookup(ip("81.2.69.160")) == Location("GB", "GB-ENG", found=True)
        # A record without subdivisions gives the country alone.
        assert reader.lookup(ip("2001:218::1")) == JP


@pytest.mark.parametrize("name", [COUNTRY, LITE, CITY])
def test_ipv6(geoip_dir: Path, name: str) -> None:
    with GeoReader(geoip_dir / name) as reader:
        assert reader.lookup(ip("2001:218::1")) == JP
        assert reader.lookup(ip("2a02:d3c0::1")).country == "GB"


def test_registered_country_when_no_country(geoip_dir: Path) -> None:
    # 2a02:d500::/29 in the City database has a location but no country at all; the
    # registered country would be used if present, and otherwise none is claimed.
    with GeoReader(geoip_dir / CITY) as reader:
        assert reader.lookup(ip("2a02:d500::1")) == Location(found=True)


def test_not_found(geoip_dir: Path) -> None:
    with GeoReader(geoip_dir / COUNTRY) as reader:
        assert reader.lookup(ip("1.1.1.1")) == NOT_FOUND
        assert reader.lookup(ip("2606:4700::1111")) == NOT_FOUND


def test_ipv4_mapped_is_looked_up_as_ipv4(geoip_dir: Path) -> None:
    with GeoReader(geoip_dir / CITY) as reader:
        plain = reader.lookup(ip("216.160.83.56"))
        mapped = reader.lookup(ip("::ffff:216.160.83.56"))
        assert mapped == Location("US", "US-WA", found=True)
        # Normalised before the cache, so both forms share one entry.
        assert mapped is plain


@pytest.mark.parametrize(
    "address",
    ["10.0.0.1", "192.168.1.1", "172.16.0.1", "127.0.0.1", "169.254.1.1", "0.0.0.0", "::1", "::",
     "fe80::1", "fd00::1", "::ffff:10.0.0.1", "::ffff:127.0.0.1"],
)  # fmt: skip
def test_private_addresses_are_nowhere(geoip_dir: Path, address: str) -> None:
    with GeoReader(geoip_dir / CITY) as reader:
        assert reader.lookup(ip(address)) == NOT_FOUND


def test_teredo_is_nowhere_though_the_file_answers_for_it(geoip_dir: Path) -> None:
    # Teredo (2001::/32) is not globally routable, yet MaxMind databases alias it to the
    # IPv4 tree and answer with the Teredo server's country.
    teredo = ip("2001:0:5102:45a0::1")
    with GeoReader(geoip_dir / CITY) as reader:
        assert reader.lookup(teredo) == NOT_FOUND


# Opening


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.mmdb"
    with pytest.raises(GeoDatabaseError) as caught:
        GeoReader(path)
    assert str(caught.value) == f"GeoIP database not found: {path}"


def test_broken_database_is_refused_at_open(geoip_dir: Path) -> None:
    path = geoip_dir / BROKEN
    with pytest.raises(GeoDatabaseError) as caught:
        GeoReader(path)
    assert str(caught.value).startswith(f"GeoIP database {path} is not a valid MaxMind DB file: ")


@pytest.mark.parametrize("content", [b"", b"this is not a database\n", b"\x00" * 4096])
def test_not_a_database(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "junk.mmdb"
    path.write_bytes(content)
    with pytest.raises(GeoDatabaseError, match="is not a valid MaxMind DB file"):
        GeoReader(path)


def test_truncated_database(tmp_path: Path, geoip_dir: Path) -> None:
    path = tmp_path / "half.mmdb"
    data = (geoip_dir / CITY).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(GeoDatabaseError, match="is not a valid MaxMind DB file"):
        GeoReader(path)


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(GeoDatabaseError, match="is not a file"):
        GeoReader(tmp_path)


def test_bad_settings_are_refused(geoip_dir: Path) -> None:
    with pytest.raises(ValueError, match="cache_size"):
        GeoReader(geoip_dir / COUNTRY, cache_size=-1)
    with pytest.raises(ValueError, match="check_interval"):
        GeoReader(geoip_dir / COUNTRY, check_interval=-1)


def corrupt_gibraltar(source: Path, target: Path) -> None:
    """A copy of the City database whose last record (2a02:ffc0::/29, Gibraltar) is bad.

    The damage sits past the records decoded when the file is opened, so the reader
    opens it and meets the error only when that address is looked up.
    """
    data = bytearray(source.read_bytes())
    marker = b"\x49Gibraltar"  # a 9-byte UTF-8 string's control byte, then the string
    assert data.count(marker) == 1
    at = data.find(marker)
    data[at : at + 2] = b"\x00\xff"  # extended type 7 + 255: no such type
    target.write_bytes(data)


def test_damaged_record_answers_nowhere_and_logs_once(
    tmp_path: Path, geoip_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "damaged.mmdb"
    corrupt_gibraltar(geoip_dir / CITY, path)
    caplog.set_level(logging.WARNING, logger="gatekeeper.geo")
    with GeoReader(path) as reader:
        assert reader.lookup(ip("2a02:ffc0::1")) == NOT_FOUND
        assert reader.lookup(ip("2a02:ffc0::2")) == NOT_FOUND
        assert reader.lookup(ip("81.2.69.160")) == Location("GB", "GB-ENG", found=True)
        assert reader.lookup(ip("2a02:ff40::1")).country == "IM"
    warnings = [r for r in caplog.records if r.name == "gatekeeper.geo"]
    assert len(warnings) == 1
    assert str(path) in warnings[0].getMessage()


def test_closed_reader_answers_nowhere(geoip_dir: Path) -> None:
    reader = GeoReader(geoip_dir / COUNTRY)
    reader.close()
    reader.close()
    assert reader.lookup(ip("81.2.69.160")) == NOT_FOUND


# Cache


def test_cache_returns_the_same_answer(geoip_dir: Path) -> None:
    with GeoReader(geoip_dir / CITY) as reader:
        first = reader.lookup(ip("89.160.20.112"))
        assert first == Location("SE", "SE-E", found=True)
        assert reader.lookup(ip("89.160.20.112")) is first


def test_cache_is_bounded_and_least_recently_used_goes_first(geoip_dir: Path) -> None:
    a, b, c = ip("81.2.69.160"), ip("89.160.20.112"), ip("216.160.83.56")
    with GeoReader(geoip_dir / COUNTRY, cache_size=2) as reader:
        first_a, first_b = reader.lookup(a), reader.lookup(b)
        assert reader.lookup(a) is first_a  # a is now the most recently used
        reader.lookup(c)  # evicts b
        assert reader.lookup(a) is first_a
        second_b = reader.lookup(b)
        assert second_b == first_b
        assert second_b is not first_b


def test_cache_can_be_disabled(geoip_dir: Path) -> None:
    with GeoReader(geoip_dir / COUNTRY, cache_size=0) as reader:
        first = reader.lookup(ip("81.2.69.160"))
        again = reader.lookup(ip("81.2.69.160"))
        assert first == again == GB
        assert first is not again


# Reload


def test_reload_after_replace(live_path: Path, geoip_dir: Path, clock: Clock) -> None:
    reader = GeoReader(live_path, check_interval=5.0, clock=clock)
    assert reader.lookup(ip("216.160.83.56")) == US
    assert reader.database_type == "GeoIP2-Country"

    install(geoip_dir / CITY, live_path)
    clock.now += 4.9  # not yet time to look at the file
    assert reader.lookup(ip("89.160.20.112")) == SE
    assert reader.database_type == "GeoIP2-Country"

    clock.now += 0.2
    # Both answers come from the new file: the cache was cleared on reload.
    assert reader.lookup(ip("216.160.83.56")) == Location("US", "US-WA", found=True)
    assert reader.lookup(ip("89.160.20.112")) == Location("SE", "SE-E", found=True)
    assert reader.database_type == "GeoIP2-City"
    assert reader.has_subdivisions is True
    reader.close()


def test_unchanged_file_is_not_reopened(live_path: Path, clock: Clock) -> None:
    reader = GeoReader(live_path, check_interval=1.0, clock=clock)
    first = reader.lookup(ip("81.2.69.160"))
    clock.now += 10
    # A reload would have emptied the cache.
    assert reader.lookup(ip("81.2.69.160")) is first
    reader.close()


@pytest.mark.parametrize("replacement", ["junk", "broken", "empty"])
def test_bad_replacement_keeps_the_old_database(
    live_path: Path,
    geoip_dir: Path,
    tmp_path: Path,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
    replacement: str,
) -> None:
    caplog.set_level(logging.WARNING, logger="gatekeeper.geo")
    reader = GeoReader(live_path, check_interval=5.0, clock=clock)
    assert reader.lookup(ip("81.2.69.160")) == GB

    bad = tmp_path / "bad.mmdb"
    if replacement == "broken":
        shutil.copyfile(geoip_dir / BROKEN, bad)
    else:
        bad.write_bytes(b"" if replacement == "empty" else b"<html>502 Bad Gateway</html>")
    os.replace(bad, live_path)

    for _ in range(3):
        clock.now += 6
        assert reader.lookup(ip("81.2.69.160")) == GB
        assert reader.lookup(ip("2001:218::1")) == JP
    assert reader.database_type == "GeoIP2-Country"
    warnings = [r.getMessage() for r in caplog.records if r.name == "gatekeeper.geo"]
    assert len(warnings) == 1  # reported once, not on every check
    assert "not a valid MaxMind DB file" in warnings[0]
    assert str(live_path) in warnings[0]

    # A good file later on is picked up.
    install(geoip_dir / CITY, live_path)
    clock.now += 6
    assert reader.lookup(ip("216.160.83.56")) == Location("US", "US-WA", found=True)
    reader.close()


def test_removed_file_keeps_the_old_database(
    live_path: Path, geoip_dir: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="gatekeeper.geo")
    reader = GeoReader(live_path, check_interval=5.0, clock=clock)
    live_path.unlink()
    clock.now += 6
    assert reader.lookup(ip("89.160.20.112")) == SE
    clock.now += 6
    assert reader.lookup(ip("216.160.83.56")) == US
    warnings = [r.getMessage() for r in caplog.records if r.name == "gatekeeper.geo"]
    assert warnings == [
        f"GeoIP database not found: {live_path}; still using the previously loaded copy"
    ]

    install(geoip_dir / CITY, live_path)
    clock.now += 6
    assert reader.lookup(ip("216.160.83.56")).subdivision == "US-WA"
    reader.close()


def test_lookup_errors_are_reported_again_for_a_new_file(
    tmp_path: Path, geoip_dir: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="gatekeeper.geo")
    damaged = tmp_path / "damaged.mmdb"
    corrupt_gibraltar(geoip_dir / CITY, damaged)
    live = tmp_path / "live.mmdb"
    install(damaged, live)
    reader = GeoReader(live, check_interval=1.0, clock=clock)
    assert reader.lookup(ip("2a02:ffc0::1")) == NOT_FOUND
    install(damaged, live)
    clock.now += 2
    assert reader.lookup(ip("2a02:ffc0::1")) == NOT_FOUND
    lookups = [r for r in caplog.records if "could not be read" in r.getMessage()]
    assert len(lookups) == 2
    reader.close()
