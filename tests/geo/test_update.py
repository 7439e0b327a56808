"""Database updates from MaxMind, with the download server mocked by pytest-httpx.

Every failure must leave the installed database byte-identical and no temporary file
behind.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import stat
import tarfile
from ipaddress import ip_address
from pathlib import Path

import httpx
import pytest
from pytest_httpx import HTTPXMock

from gatekeeper.geo import GeoReader, Location
from gatekeeper.geo.update import (
    Credentials,
    TerminalProgress,
    UpdateError,
    edition_from_path,
    update_database,
)
from tests.geoblock.maxmind import ACCOUNT, KEY, maxmind_archive, serve, tar_gz, url

CITY = "GeoIP2-City-Test.mmdb"
COUNTRY = "GeoIP2-Country-Test.mmdb"
CREDENTIALS = Credentials(ACCOUNT, KEY)


@pytest.fixture
def installed(tmp_path: Path, geoip_dir: Path) -> Path:
    """The database in service: a Country test database where the City one belongs."""
    folder = tmp_path / "data"
    folder.mkdir()
    target = folder / "GeoIP2-City.mmdb"
    target.write_bytes((geoip_dir / COUNTRY).read_bytes())
    target.chmod(0o640)
    return target


def assert_untouched(target: Path, original: bytes) -> None:
    assert target.read_bytes() == original
    assert [p.name for p in target.parent.iterdir()] == [target.name]


# --- the good path ------------------------------------------------------------------------


def test_good_archive_replaces_the_database(httpx_mock: HTTPXMock, installed, geoip_dir):
    archive = maxmind_archive(geoip_dir / CITY)
    serve(httpx_mock, archive)
    before = os.stat(installed)
    updated = update_database(installed, "GeoIP2-City", CREDENTIALS)

    assert installed.read_bytes() == (geoip_dir / CITY).read_bytes()
    assert [p.name for p in installed.parent.iterdir()] == [installed.name]
    after = os.stat(installed)
    assert after.st_ino != before.st_ino  # a new file renamed in, never rewritten in place
    assert stat.S_IMODE(after.st_mode) == 0o640  # the old file's permissions are kept
    assert updated.database_type == "GeoIP2-City"
    assert updated.sha256 == hashlib.sha256(archive).hexdigest()
    assert updated.size == after.st_size
    assert updated.built.year >= 2013
    with GeoReader(installed) as reader:
        assert reader.lookup(ip_address("216.160.83.56")) == Location("US", "US-WA", found=True)


def test_requests_use_basic_auth_and_the_documented_permalinks(
    httpx_mock: HTTPXMock, installed, geoip_dir
):
    serve(httpx_mock, maxmind_archive(geoip_dir / CITY))
    update_database(installed, "GeoIP2-City", CREDENTIALS)
    requests = httpx_mock.get_requests()
    assert [str(r.url) for r in requests] == [
        "https://download.maxmind.com/geoip/databases/GeoIP2-City/download?suffix=tar.gz.sha256",
        "https://download.maxmind.com/geoip/databases/GeoIP2-City/download?suffix=tar.gz",
    ]
    token = base64.b64encode(f"{ACCOUNT}:{KEY}".encode()).decode()
    assert all(r.headers["authorization"] == f"Basic {token}" for r in requests)
    assert all(r.headers["user-agent"].startswith("gatekeeper/") for r in requests)


def test_redirects_are_followed_without_the_licence_key(
    httpx_mock: HTTPXMock, installed, geoip_dir
):
    archive = maxmind_archive(geoip_dir / CITY)
    storage = "https://storage.example.net/geoip/GeoIP2-City_20261101.tar.gz?signature=abc"
    httpx_mock.add_response(
        url=url("GeoIP2-City", "tar.gz.sha256"),
        text=f"{hashlib.sha256(archive).hexdigest()}  GeoIP2-City_20261101.tar.gz\n",
    )
    httpx_mock.add_response(url=url("GeoIP2-City"), status_code=302, headers={"location": storage})
    httpx_mock.add_response(url=storage, content=archive)
    update_database(installed, "GeoIP2-City", CREDENTIALS)
    assert installed.read_bytes() == (geoip_dir / CITY).read_bytes()
    to_storage = httpx_mock.get_request(url=storage)
    assert to_storage is not None and "authorization" not in to_storage.headers


def test_a_first_install_creates_the_folder(httpx_mock: HTTPXMock, tmp_path, geoip_dir):
    serve(httpx_mock, maxmind_archive(geoip_dir / CITY))
    target = tmp_path / "new" / "GeoIP2-City.mmdb"
    update_database(target, "GeoIP2-City", CREDENTIALS)
    assert target.read_bytes() == (geoip_dir / CITY).read_bytes()
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o644  # readable by the server's user


def test_progress_is_reported(httpx_mock: HTTPXMock, installed, geoip_dir):
    archive = maxmind_archive(geoip_dir / CITY)
    serve(httpx_mock, archive)
    stream = io.StringIO()
    update_database(
        installed, "GeoIP2-City", CREDENTIALS, progress=TerminalProgress(stream, "GeoIP2-City")
    )
    output = stream.getvalue()
    assert output.startswith("\rGeoIP2-City [")
    assert "100%" in output and output.endswith("\n")


def test_progress_without_a_known_size():
    stream = io.StringIO()
    progress = TerminalProgress(stream, "X")
    progress.start(None)
    progress.advance(2_500_000)
    progress.finish()
    assert stream.getvalue().splitlines()[-1].endswith("X 2.5 MB")


# --- every failure leaves the old database in place ----------------------------------------


def test_bad_checksum(httpx_mock: HTTPXMock, installed, geoip_dir):
    original = installed.read_bytes()
    serve(httpx_mock, maxmind_archive(geoip_dir / CITY), digest="0" * 64)
    with pytest.raises(UpdateError, match="does not match MaxMind's published SHA-256"):
        update_database(installed, "GeoIP2-City", CREDENTIALS)
    assert_untouched(installed, original)


def test_unreadable_checksum_file(httpx_mock: HTTPXMock, installed):
    original = installed.read_bytes()
    httpx_mock.add_response(url=url("GeoIP2-City", "tar.gz.sha256"), text="<html>oops</html>")
    with pytest.raises(UpdateError, match="not a SHA-256 line"):
        update_database(installed, "GeoIP2-City", CREDENTIALS)
    assert_untouched(installed, original)


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (401, "refused the account id and licence key .* MAXMIND_ACCOUNT_ID"),
        (403, "refused the download of GeoIP2-City"),
        (404, "no edition 'GeoIP2-City'"),
        (429, "daily download limit"),
        (500, "HTTP 500"),
    ],
)
def test_http_errors(httpx_mock: HTTPXMock, installed, status, message):
    original = installed.read_bytes()
    httpx_mock.add_response(url=url("GeoIP2-City", "tar.gz.sha256"), status_code=status)
    with pytest.raises(UpdateError, match=message) as caught:
        update_database(installed, "GeoIP2-City", CREDENTIALS)
    assert KEY not in str(caught.value)
    assert_untouched(installed, original)


def test_401_on_the_archive_itself(httpx_mock: HTTPXMock, installed):
    original = installed.read_bytes()
    httpx_mock.add_response(url=url("GeoIP2-City", "tar.gz.sha256"), text="a" * 64 + "  x\n")
    httpx_mock.add_response(url=url("GeoIP2-City"), status_code=401)
    with pytest.raises(UpdateError, match="HTTP 401"):
        update_database(installed, "GeoIP2-City", CREDENTIALS)
    assert_untouched(installed, original)


@pytest.mark.parametrize("failing", ["tar.gz.sha256", "tar.gz"])
def test_network_errors(httpx_mock: HTTPXMock, installed, failing):
    original = installed.read_bytes()
    if failing == "tar.gz":
        httpx_mock.add_response(url=url("GeoIP2-City", "tar.gz.sha256"), text="a" * 64 + "  x\n")
        httpx_mock.add_exception(httpx.ReadTimeout("timed out"), url=url("GeoIP2-City"))
    else:
        httpx_mock.add_exception(
            httpx.ConnectError("name resolution failed"), url=url("GeoIP2-City", failing)
        )
    with pytest.raises(UpdateError, match=r"could not download https://download\.maxmind\.com/"):
        update_database(installed, "GeoIP2-City", CREDENTIALS)
    assert_untouched(installed, original)


def evil_archive(kind: str, geoip_dir: Path) -> bytes:
    database = (geoip_dir / CITY).read_bytes()
    if kind == "traversal":
        return tar_gz({"../../GeoIP2-City.mmdb": database})
    if kind == "absolute":
        return tar_gz({"/tmp/GeoIP2-City.mmdb": database})
    if kind == "two databases":
        return tar_gz({"a/GeoIP2-City.mmdb": database, "b/GeoIP2-City.mmdb": database})
    if kind == "no database":
        return tar_gz({"GeoIP2-City_20261101/LICENSE.txt": b"MIT"})
    if kind == "not a database":
        return tar_gz({"GeoIP2-City_20261101/GeoIP2-City.mmdb": b"\x00" * 4096})
    if kind == "broken database":
        broken = (geoip_dir / "GeoIP2-City-Test-Broken-Double-Format.mmdb").read_bytes()
        return tar_gz({"GeoIP2-City_20261101/GeoIP2-City.mmdb": broken})
    if kind == "wrong edition":
        return maxmind_archive(geoip_dir / COUNTRY)
    if kind == "not gzip":
        return b"PK\x03\x04 this is a zip file"
    if kind == "truncated":
        return maxmind_archive(geoip_dir / CITY)[:2000]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        link = tarfile.TarInfo("GeoIP2-City_20261101/GeoIP2-City.mmdb")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("traversal", "unsafe path"),
        ("absolute", "unsafe path"),
        ("symlink", "is a link, not a file"),
        ("two databases", "several .mmdb files"),
        ("no database", "no .mmdb file"),
        ("not a database", "does not open"),
        ("broken database", "does not open"),
        ("wrong edition", "holds a GeoIP2-Country database, not GeoIP2-City"),
        ("not gzip", "not a readable tar.gz"),
        ("truncated", "not a readable tar.gz|cannot be unpacked"),
    ],
)
def test_bad_archives(httpx_mock: HTTPXMock, installed, geoip_dir, tmp_path, kind, message):
    original = installed.read_bytes()
    serve(httpx_mock, evil_archive(kind, geoip_dir))
    with pytest.raises(UpdateError, match=message):
        update_database(installed, "GeoIP2-City", CREDENTIALS)
    assert_untouched(installed, original)
    # Nothing was written anywhere an archive name pointed.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


# --- names and credentials ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "edition"),
    [
        ("GeoLite2-City.mmdb", "GeoLite2-City"),
        ("GeoLite2-Country.mmdb", "GeoLite2-Country"),
        ("GeoIP2-City.mmdb", "GeoIP2-City"),
        ("GeoIP2-Anonymous-IP.mmdb", "GeoIP2-Anonymous-IP"),
    ],
)
def test_edition_from_the_file_name(name, edition):
    assert edition_from_path(Path("/var/lib/geoip") / name) == edition


@pytest.mark.parametrize("name", ["geo.mmdb", "GeoLite2-City.dat", "../GeoLite2-City.mmdb/x"])
def test_edition_not_guessed_from_other_names(name):
    with pytest.raises(UpdateError, match="--edition GeoLite2-City"):
        edition_from_path(Path(name))


def test_bad_edition_is_refused_before_any_request(installed):
    with pytest.raises(UpdateError, match="not a MaxMind edition id"):
        update_database(installed, "GeoLite2-City/../../x", CREDENTIALS)


def test_credentials_from_the_environment():
    found = Credentials.from_env({"MAXMIND_ACCOUNT_ID": " 42 ", "MAXMIND_LICENSE_KEY": KEY})
    assert found == Credentials("42", KEY)
    assert KEY not in repr(found)
    with pytest.raises(UpdateError, match="set MAXMIND_LICENSE_KEY"):
        Credentials.from_env({"MAXMIND_ACCOUNT_ID": "42"})
    with pytest.raises(UpdateError, match="set MAXMIND_ACCOUNT_ID and MAXMIND_LICENSE_KEY"):
        Credentials.from_env({})
