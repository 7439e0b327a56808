"""Long-lived resources across policy reloads: carried when their settings are unchanged,
replaced and closed when they change, and all closed at shutdown."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import shutil

import httpx

from gatekeeper import Gatekeeper

# An address the GeoIP2 test databases place in Sweden (tests/data/geoip/README.md).
SWEDEN = ipaddress.ip_address("89.160.20.112")


async def page(app: Gatekeeper) -> None:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/")).status_code == 200


async def hello(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


async def edited(app: Gatekeeper, path, old: str, new: str) -> None:
    """Edit the policy file and let the running app take the new revision."""
    path.write_text(path.read_text().replace(old, new))
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    await asyncio.sleep(0.01)
    await page(app)  # notices the edit; the check runs in the reload thread
    assert app._file is not None and app._file.wait(timeout=30)
    await page(app)  # builds the plan of the new revision


def policy(policy_file, tmp_path, geoip_dir):
    shutil.copy(geoip_dir / "GeoIP2-Country-Test.mmdb", tmp_path / "country.mmdb")
    return policy_file(
        "reload_interval: 0.001\n"
        "geoip: {database: country.mmdb, cache_size: 100}\n"
        "audit: {store: 'sqlite:///log.db'}\n"
    )


async def test_an_edit_elsewhere_keeps_the_open_reader_and_log(policy_file, tmp_path, geoip_dir):
    path = policy(policy_file, tmp_path, geoip_dir)
    app = Gatekeeper(hello, policy=str(path))
    reader, log = app.plan.geo, app.plan.log
    await edited(app, path, 'revision: "r1"', 'revision: "r2"')
    assert app.policy.site.revision == "r2"
    assert app.plan.geo is reader and app.plan.log is log
    assert reader is not None and reader.lookup(SWEDEN).country == "SE"
    await app.close()


async def test_a_changed_setting_replaces_the_resource_and_shutdown_closes_the_old(
    policy_file, tmp_path, geoip_dir
):
    path = policy(policy_file, tmp_path, geoip_dir)
    app = Gatekeeper(hello, policy=str(path))
    reader, log = app.plan.geo, app.plan.log
    assert reader is not None
    await edited(app, path, "cache_size: 100", "cache_size: 200")
    await edited(app, path, "log.db", "other.db")
    assert app.plan.geo is not reader and app.plan.log is not log
    # Retired ones wait a while for requests still using them; a shutdown meanwhile
    # closes them too, not only what is current.
    assert reader.lookup(SWEDEN).country == "SE"
    current = app.plan.geo
    assert current is not None
    await app.close()
    assert reader.lookup(SWEDEN).country is None
    assert current.lookup(SWEDEN).country is None
