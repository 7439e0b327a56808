"""`update_gvl` with IAB's servers mocked by pytest-httpx: a good download is installed
atomically; any failure leaves the installed files as they were, with no temporary file."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from pytest_httpx import HTTPXMock

from gatekeeper.policy.sections.tcf import IAB_GVL_URL, TcfGvlSettings
from gatekeeper.tcf.gvl import load_gvl
from gatekeeper.tcf.update import GvlUpdateError, update_gvl
from tests.tcf.conftest import DATA, GVL_FILE

DE = "https://vendor-list.consensu.org/v3/purposes-de.json"
FR = "https://vendor-list.consensu.org/v3/purposes-fr.json"
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def listing(version: int = 142) -> bytes:
    data = json.loads(GVL_FILE.read_text(encoding="utf-8"))
    data["vendorListVersion"] = version
    return json.dumps(data).encode()


def settings(folder: Path) -> TcfGvlSettings:
    return TcfGvlSettings(file=folder / "gvl" / "vendor-list.json")


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*.tmp"))


def test_the_list_and_its_translations_are_installed(tmp_path, httpx_mock: HTTPXMock):
    httpx_mock.add_response(
        url=IAB_GVL_URL, content=listing(), headers={"Cache-Control": "max-age=604800"}
    )
    httpx_mock.add_response(url=DE, content=(DATA / "purposes-de.json").read_bytes())
    httpx_mock.add_response(url=FR, status_code=404)
    updated = update_gvl(settings(tmp_path), ["en", "de", "fr-CA"], now=NOW)
    assert updated.vendor_list_version == 142 and updated.changed
    assert updated.languages == ("de",) and updated.missing == ("fr",)
    assert updated.fresh_until == datetime(2026, 12, 9, 12, 0, tzinfo=UTC)
    installed = load_gvl(updated.path)
    assert installed.languages == ("de", "en")
    assert leftovers(tmp_path) == []
    # IAB asks for compressed transfers.
    assert "gzip" in httpx_mock.get_requests()[0].headers["accept-encoding"]


def test_a_fresh_list_is_not_fetched_again_unless_forced(tmp_path, httpx_mock: HTTPXMock):
    httpx_mock.add_response(
        url=IAB_GVL_URL, content=listing(), headers={"Cache-Control": "max-age=3600"}
    )
    update_gvl(settings(tmp_path), ["en"], now=NOW)
    again = update_gvl(settings(tmp_path), ["en"], now=NOW.replace(minute=30))
    assert not again.changed and len(httpx_mock.get_requests()) == 1
    httpx_mock.add_response(url=IAB_GVL_URL, content=listing(143))
    forced = update_gvl(settings(tmp_path), ["en"], now=NOW.replace(minute=30), force=True)
    assert forced.changed and forced.vendor_list_version == 143


@pytest.mark.parametrize(
    "respond, message",
    [
        (dict(status_code=503), "HTTP 503"),
        (dict(content=b"{not json"), "not JSON"),
        (dict(content=b'{"gvlSpecificationVersion": 2}'), "only GVL v3"),
        (dict(content=listing(100)), "older than the installed 142"),
    ],
)
def test_a_failed_update_changes_nothing(tmp_path, httpx_mock: HTTPXMock, respond, message):
    httpx_mock.add_response(url=IAB_GVL_URL, content=listing())
    update_gvl(settings(tmp_path), ["en"], now=NOW)
    path = settings(tmp_path).file
    before = path.read_bytes()
    httpx_mock.add_response(url=IAB_GVL_URL, **respond)
    with pytest.raises(GvlUpdateError, match=message):
        update_gvl(settings(tmp_path), ["en"], now=NOW, force=True)
    assert path.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_a_broken_translation_stops_the_whole_update(tmp_path, httpx_mock: HTTPXMock):
    httpx_mock.add_response(url=IAB_GVL_URL, content=listing())
    httpx_mock.add_response(url=DE, content=b'{"purposes": {}}')
    with pytest.raises(GvlUpdateError, match=r"purposes-de\.json"):
        update_gvl(settings(tmp_path), ["de"], now=NOW)
    assert not settings(tmp_path).file.exists()


def test_network_errors_are_update_errors(tmp_path, httpx_mock: HTTPXMock):
    httpx_mock.add_exception(httpx.ConnectError("no route"), url=IAB_GVL_URL)
    with pytest.raises(GvlUpdateError, match="no route"):
        update_gvl(settings(tmp_path), ["en"], now=NOW)
