"""geoip2's typed reader against the raw `maxminddb` reader, on MaxMind's test databases.

    python -m benchmarks.geoip           # about 20 s
    python -m benchmarks.geoip --quick   # a smoke check

Each way of reading answers the same question gatekeeper asks (country, subdivision;
anonymous or not) for the same addresses: ones the database holds, and random public
IPv4 addresses (most of which the location test databases do not hold: a miss is an
exception in geoip2's `Reader`). "cached" is `GeoReader.lookup` with its cache warm, what
a returning address costs; every other row is what an address seen for the first time
costs. The figures are the median of five interleaved rounds, in microseconds per lookup.
"""

from __future__ import annotations

import argparse
import ipaddress
import random
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import geoip2.database
import geoip2.errors
import geoip2.models
import maxminddb

from gatekeeper.geo import GeoReader, Location
from gatekeeper.geo.anonymous import AnonymousReader

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "geoip"
ROUNDS = 5

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def held_addresses(path: Path, count: int, rng: random.Random) -> list[IPAddress]:
    """Public addresses inside networks the database has a record for."""
    with maxminddb.open_database(str(path)) as reader:
        networks = [
            network
            for network, _record in reader
            if network.is_global and not (network.version == 6 and network.prefixlen < 16)
        ]
    picked = []
    for _ in range(count):
        network = rng.choice(networks)
        picked.append(network[rng.randrange(min(network.num_addresses, 1 << 16))])
    return picked


def random_ipv4(count: int, rng: random.Random) -> list[IPAddress]:
    picked: list[IPAddress] = []
    while len(picked) < count:
        ip = ipaddress.IPv4Address(rng.getrandbits(32))
        if ip.is_global:
            picked.append(ip)
    return picked


# The ways of reading a location --------------------------------------------------------


def raw_location(reader: maxminddb.Reader) -> Callable[[IPAddress], object]:
    """What gatekeeper did before: `get()` and a walk over the dict."""

    def find(ip: IPAddress) -> object:
        record: Any = reader.get(ip)
        if not isinstance(record, dict):
            return None
        country = record.get("country", {}).get("iso_code")
        subdivisions = record.get("subdivisions")
        code = subdivisions[0].get("iso_code") if subdivisions else None
        return country, code

    return find


def typed_location(reader: geoip2.database.Reader, kind: str) -> Callable[[IPAddress], object]:
    """geoip2's own reader: `Reader.city()` or `Reader.country()`, misses raise."""
    method = reader.city if kind == "city" else reader.country

    def find(ip: IPAddress) -> object:
        try:
            model = method(ip)
        except geoip2.errors.AddressNotFoundError:
            return None
        subdivision = getattr(model, "subdivisions", None)
        code = subdivision.most_specific.iso_code if subdivision else None
        return model.country.iso_code, code

    return find


def typed_from_record(reader: maxminddb.Reader) -> Callable[[IPAddress], object]:
    """geoip2's City model built from the raw record: typed, and no exception on a miss."""

    def find(ip: IPAddress) -> object:
        record = reader.get(ip)
        if not isinstance(record, dict):
            return None
        model = geoip2.models.City(None, **record)
        return model.country.iso_code, model.subdivisions.most_specific.iso_code

    return find


def gatekeeper_reader(path: Path, cache_size: int) -> Callable[[IPAddress], Location]:
    return GeoReader(path, cache_size=cache_size, check_interval=3600).lookup


# The ways of reading the anonymous flag ------------------------------------------------


def raw_anonymous(reader: maxminddb.Reader) -> Callable[[IPAddress], object]:
    def find(ip: IPAddress) -> object:
        record = reader.get(ip)
        return isinstance(record, dict) and record.get("is_anonymous") is True

    return find


def typed_anonymous(reader: geoip2.database.Reader) -> Callable[[IPAddress], object]:
    def find(ip: IPAddress) -> object:
        try:
            return reader.anonymous_ip(ip).is_anonymous
        except geoip2.errors.AddressNotFoundError:
            return False

    return find


Case = tuple[str, str, str, Callable[[IPAddress], Any], Sequence[IPAddress]]


def run(cases: list[Case]) -> list[tuple[str, str, str, float]]:
    """Median microseconds per lookup of each case. Rounds are interleaved (every case
    once, then again), so the drift of a shared machine hits all cases alike."""
    times: list[list[float]] = [[] for _ in cases]
    for _ in range(ROUNDS):
        for index, (_database, _set, _way, find, ips) in enumerate(cases):
            start = time.perf_counter()
            for ip in ips:
                find(ip)
            times[index].append((time.perf_counter() - start) / len(ips) * 1e6)
    return [
        (database, set_name, way, statistics.median(spent))
        for (database, set_name, way, _find, _ips), spent in zip(cases, times, strict=True)
    ]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    count = 2_000 if parser.parse_args(argv).quick else 20_000
    rng = random.Random(7)
    cases: list[Case] = []

    for name, kind in (
        ("GeoIP2-City-Test.mmdb", "city"),
        ("GeoIP2-Country-Test.mmdb", "country"),
    ):
        path = DATA / name
        raw = maxminddb.open_database(str(path))
        typed = geoip2.database.Reader(str(path))
        for set_name, ips in (
            ("held", held_addresses(path, count, rng)),
            ("random", random_ipv4(count, rng)),
        ):
            warm = gatekeeper_reader(path, len(ips))
            for ip in ips:
                warm(ip)
            for way, find in (
                ("maxminddb get()", raw_location(raw)),
                (f"geoip2 Reader.{kind}()", typed_location(typed, kind)),
                ("geoip2 City(**get())", typed_from_record(raw)),
                ("GeoReader.lookup, uncached", gatekeeper_reader(path, 0)),
                ("GeoReader.lookup, cached", warm),
            ):
                cases.append((name, set_name, way, find, ips))

    path = DATA / "GeoIP2-Anonymous-IP-Test.mmdb"
    raw = maxminddb.open_database(str(path))
    typed = geoip2.database.Reader(str(path))
    for set_name, ips in (
        ("held", held_addresses(path, count, rng)),
        ("random", random_ipv4(count, rng)),
    ):
        for way, find in (
            ("maxminddb get()", raw_anonymous(raw)),
            ("geoip2 Reader.anonymous_ip()", typed_anonymous(typed)),
            ("AnonymousReader, uncached", AnonymousReader(path, cache_size=0).is_anonymous),
        ):
            cases.append((path.name, set_name, way, find, ips))

    print(f"{'database':<32}{'addresses':<10}{'reader':<30}{'µs/lookup':>10}")
    for database, set_name, way, micros in run(cases):
        print(f"{database:<32}{set_name:<10}{way:<30}{micros:>10.2f}")


if __name__ == "__main__":
    main()
