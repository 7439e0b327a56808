"""MaxMind download archives and a mocked download server, for the update tests."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

from pytest_httpx import HTTPXMock

from gatekeeper.geo.update import DOWNLOAD_URL

ACCOUNT, KEY = "123456", "test-licence-key-0123456789"


def url(edition: str, suffix: str = "tar.gz") -> str:
    return DOWNLOAD_URL.format(edition=edition, suffix=suffix)


def tar_gz(members: dict[str, bytes]) -> bytes:
    """A tar.gz with regular files of the given names and contents."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def maxmind_archive(database: Path, edition: str = "GeoIP2-City") -> bytes:
    """An archive laid out like MaxMind's: a dated folder with the licence and the .mmdb."""
    folder = f"{edition}_20261101"
    return tar_gz(
        {
            f"{folder}/COPYRIGHT.txt": b"test data\n",
            f"{folder}/LICENSE.txt": b"MIT\n",
            f"{folder}/{edition}.mmdb": database.read_bytes(),
        }
    )


def serve(
    httpx_mock: HTTPXMock,
    archive: bytes,
    edition: str = "GeoIP2-City",
    *,
    digest: str | None = None,
) -> None:
    """MaxMind's two permalinks: the published checksum, then the archive."""
    digest = digest or hashlib.sha256(archive).hexdigest()
    httpx_mock.add_response(
        url=url(edition, "tar.gz.sha256"), text=f"{digest}  {edition}_20261101.tar.gz\n"
    )
    httpx_mock.add_response(
        url=url(edition),
        content=archive,
        headers={"content-type": "application/gzip", "content-length": str(len(archive))},
    )
