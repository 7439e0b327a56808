"""`gatekeeper geoip update` under a running server: the new database is served without a
restart, and a failed update changes nothing for it.

The installed file starts as the Country test database, which knows 216.160.83.56 only
as US; the update brings the City database, which knows it as US-WA, the place the
policy denies.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pytest_httpx import HTTPXMock

from gatekeeper.geo.update import Credentials, UpdateError, update_database

from .conftest import CITY, COUNTRY, SE, US_WA, App, Site, full
from .maxmind import ACCOUNT, KEY, maxmind_archive, serve

CHECK_INTERVAL = 0.01


@pytest.fixture
def installed(tmp_path: Path, geoip_dir: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    target = folder / "GeoIP2-City.mmdb"
    target.write_bytes((geoip_dir / COUNTRY).read_bytes())
    return target


@pytest.fixture
def site(policy_file, installed) -> Site:
    path = policy_file(
        f"""
geoip: {{database: "{installed}", check_interval: {CHECK_INTERVAL}}}
geoblock: {{deny: [US-WA]}}
"""
    )
    return full(App(), path)


async def wait_for_reload() -> None:
    await asyncio.sleep(CHECK_INTERVAL * 5)


async def test_update_swaps_the_database_under_a_running_server(
    httpx_mock: HTTPXMock, site: Site, installed: Path, geoip_dir: Path
):
    assert (await site.get("/", peer=US_WA)).status_code == 200  # only "US" is known

    serve(httpx_mock, maxmind_archive(geoip_dir / CITY))
    await asyncio.to_thread(update_database, installed, "GeoIP2-City", Credentials(ACCOUNT, KEY))
    await wait_for_reload()

    response = await site.get("/", peer=US_WA)
    assert response.status_code == 451
    assert (await site.get("/", peer=SE)).status_code == 200
    assert [scope["path"] for scope in site.app.calls] == ["/", "/"]


async def test_a_failed_update_leaves_the_server_as_it_was(
    httpx_mock: HTTPXMock, site: Site, installed: Path, geoip_dir: Path
):
    serve(httpx_mock, maxmind_archive(geoip_dir / CITY), digest="f" * 64)
    with pytest.raises(UpdateError):
        await asyncio.to_thread(
            update_database, installed, "GeoIP2-City", Credentials(ACCOUNT, KEY)
        )
    await wait_for_reload()
    assert (await site.get("/", peer=US_WA)).status_code == 200
