"""Downloading a fresh MaxMind database and putting it in place without stopping anyone.

The archive comes from MaxMind's documented permalink with the account id and licence
key as basic auth, is checked against the SHA-256 MaxMind publishes next to it, and the
one `.mmdb` inside is copied out by content (member names never become paths). The new
file must open as a MaxMind DB of the expected edition before it replaces the old one
with `os.replace`: a running `GeoReader` sees a new file, never a half-written one. On
any failure the old file is left exactly as it was and no temporary file remains.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import importlib.metadata
import os
import re
import tarfile
import tempfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Protocol

import httpx

from .database import GeoDatabaseError, open_file

__all__ = [
    "DOWNLOAD_URL",
    "Credentials",
    "Progress",
    "TerminalProgress",
    "UpdateError",
    "Updated",
    "edition_from_path",
    "update_database",
]

DOWNLOAD_URL = "https://download.maxmind.com/geoip/databases/{edition}/download?suffix={suffix}"
ACCOUNT_VARIABLE = "MAXMIND_ACCOUNT_ID"
KEY_VARIABLE = "MAXMIND_LICENSE_KEY"

# Far above any MaxMind database (GeoIP2-City is ~130 MB): a cap that only stops a
# runaway or hostile archive from filling the disk.
MAX_BYTES = 4 << 30
_CHUNK = 1 << 16
_EDITION = re.compile(r"^Geo(?:Lite2|IP2|IP)-[A-Za-z0-9-]+$")
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_TIMEOUT = httpx.Timeout(60.0, connect=15.0)


class UpdateError(Exception):
    """The update did not happen; the installed database is unchanged."""


@dataclass(frozen=True, slots=True)
class Credentials:
    account_id: str
    license_key: str = field(repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Credentials:
        account, key = env.get(ACCOUNT_VARIABLE, "").strip(), env.get(KEY_VARIABLE, "").strip()
        missing = [
            name for name, value in ((ACCOUNT_VARIABLE, account), (KEY_VARIABLE, key)) if not value
        ]
        if missing:
            raise UpdateError(
                f"set {' and '.join(missing)} to the MaxMind account id and licence key "
                "(https://www.maxmind.com/en/accounts/current/license-key)"
            )
        return cls(account, key)


class Progress(Protocol):
    def start(self, total: int | None) -> None: ...
    def advance(self, size: int) -> None: ...
    def finish(self) -> None: ...


class TerminalProgress:
    """A one-line progress bar, redrawn in place; meant for a TTY."""

    def __init__(self, stream: IO[str], label: str, width: int = 30) -> None:
        self.stream = stream
        self.label = label
        self.width = width
        self.total: int | None = None
        self.done = 0
        self._shown: int | None = None

    def start(self, total: int | None) -> None:
        self.total, self.done, self._shown = total, 0, None
        self._draw()

    def advance(self, size: int) -> None:
        self.done += size
        self._draw()

    def finish(self) -> None:
        self._draw(force=True)
        self.stream.write("\n")
        self.stream.flush()

    def _draw(self, force: bool = False) -> None:
        mb = self.done / 1e6
        if self.total:
            percent = min(100, self.done * 100 // self.total)
            # Redrawing on every chunk would be thousands of writes for no visible change.
            if percent == self._shown and not force:
                return
            self._shown = percent
            filled = self.width * percent // 100
            bar = "#" * filled + "-" * (self.width - filled)
            line = f"{self.label} [{bar}] {percent:3d}%  {mb:.1f}/{self.total / 1e6:.1f} MB"
        else:
            step = int(mb)
            if step == self._shown and not force:
                return
            self._shown = step
            line = f"{self.label} {mb:.1f} MB"
        self.stream.write("\r" + line)
        self.stream.flush()


@dataclass(frozen=True, slots=True)
class Updated:
    path: Path
    edition: str
    database_type: str
    built: datetime
    sha256: str
    """Of the downloaded archive, as MaxMind published it."""
    size: int
    """Of the installed .mmdb file, in bytes."""


def edition_from_path(path: Path) -> str:
    """MaxMind's edition id from a database file name: GeoLite2-City.mmdb -> GeoLite2-City."""
    name = path.name.removesuffix(".mmdb")
    if not _EDITION.match(name):
        raise UpdateError(
            f"cannot tell the MaxMind edition from the file name {path.name!r}; "
            "pass it, e.g. --edition GeoLite2-City"
        )
    return name


def check_edition(edition: str) -> str:
    if not _EDITION.match(edition):
        raise UpdateError(
            f"{edition!r} is not a MaxMind edition id such as GeoLite2-City or GeoIP2-Country"
        )
    return edition


def update_database(
    target: Path,
    edition: str,
    credentials: Credentials,
    *,
    progress: Progress | None = None,
) -> Updated:
    """Download `edition` and install it at `target`; raise UpdateError on any failure."""
    check_edition(edition)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UpdateError(f"cannot create {target.parent}: {exc.strerror or exc}") from None
    auth = httpx.BasicAuth(credentials.account_id, credentials.license_key)
    # Redirects lead to MaxMind's storage host; httpx drops the Authorization header on
    # a cross-origin redirect, so the licence key goes to download.maxmind.com only.
    with (
        httpx.Client(
            auth=auth, follow_redirects=True, timeout=_TIMEOUT, headers=_user_agent()
        ) as http,
        _staging(target) as (archive, database),
    ):
        expected = _published_sha256(http, edition)
        digest = _download(http, edition, archive, progress)
        if not hmac.compare_digest(digest, expected):
            raise UpdateError(
                f"the download of {edition} does not match MaxMind's published SHA-256 "
                f"(expected {expected}, got {digest}); nothing was changed"
            )
        _extract_database(archive, database)
        database_type, built = _validate(database, edition)
        size = database.stat().st_size
        _install(database, target)
    return Updated(target, edition, database_type, built, expected, size)


def _user_agent() -> dict[str, str]:
    try:
        version = importlib.metadata.version("gatekeeper")
    except importlib.metadata.PackageNotFoundError:
        version = "dev"
    return {"User-Agent": f"gatekeeper/{version} (geoip update)"}


def _url(edition: str, suffix: str) -> str:
    return DOWNLOAD_URL.format(edition=edition, suffix=suffix)


@contextlib.contextmanager
def _staging(target: Path) -> Iterator[tuple[Path, Path]]:
    """Two temporary files beside `target` (same file system, so os.replace is atomic)."""
    made: list[Path] = []
    try:
        for suffix in (".tar.gz", ".mmdb"):
            try:
                handle, name = tempfile.mkstemp(
                    dir=target.parent, prefix=f".{target.name}.", suffix=f".download{suffix}"
                )
            except OSError as exc:
                raise UpdateError(
                    f"cannot write in {target.parent}: {exc.strerror or exc}"
                ) from None
            os.close(handle)
            made.append(Path(name))
        yield made[0], made[1]
    finally:
        for path in made:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _published_sha256(http: httpx.Client, edition: str) -> str:
    url = _url(edition, "tar.gz.sha256")
    try:
        response = http.get(url)
    except httpx.HTTPError as exc:
        raise _network_error(url, exc) from None
    _check_status(response, edition)
    # The file reads "<hex digest>  <archive name>".
    fields = response.text.split()
    if not fields or not _SHA256.match(fields[0]):
        raise UpdateError(f"MaxMind's checksum file for {edition} is not a SHA-256 line")
    return fields[0].lower()


def _download(http: httpx.Client, edition: str, archive: Path, progress: Progress | None) -> str:
    url = _url(edition, "tar.gz")
    digest = hashlib.sha256()
    started = False
    try:
        with http.stream("GET", url) as response, archive.open("wb") as out:
            _check_status(response, edition)
            if progress is not None:
                progress.start(_content_length(response))
                started = True
            received = 0
            for chunk in response.iter_bytes(_CHUNK):
                received += len(chunk)
                if received > MAX_BYTES:
                    raise UpdateError(f"the download of {edition} is larger than {MAX_BYTES} bytes")
                digest.update(chunk)
                out.write(chunk)
                if progress is not None:
                    progress.advance(len(chunk))
    except httpx.HTTPError as exc:
        raise _network_error(url, exc) from None
    except OSError as exc:
        raise UpdateError(f"cannot write {archive}: {exc.strerror or exc}") from None
    finally:
        if started and progress is not None:
            progress.finish()
    return digest.hexdigest()


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length", "")
    return int(value) if value.isdigit() else None


def _check_status(response: httpx.Response, edition: str) -> None:
    status = response.status_code
    if status < 400:
        return
    if status == 401:
        message = (
            f"MaxMind refused the account id and licence key (HTTP 401): check "
            f"{ACCOUNT_VARIABLE} and {KEY_VARIABLE}"
        )
    elif status == 403:
        message = (
            f"MaxMind refused the download of {edition} (HTTP 403): is the edition part "
            "of the account's subscription?"
        )
    elif status in (400, 404):
        message = f"MaxMind has no edition {edition!r} (HTTP {status}): check --edition"
    elif status == 429:
        message = "MaxMind's daily download limit is reached (HTTP 429): try again later"
    else:
        message = f"the download of {edition} failed: HTTP {status} from {response.url.host}"
    raise UpdateError(message)


def _network_error(url: str, exc: httpx.HTTPError) -> UpdateError:
    return UpdateError(f"could not download {url.split('?')[0]}: {type(exc).__name__}: {exc}")


def _extract_database(archive: Path, out: Path) -> None:
    """Copy the archive's one .mmdb file to `out`, reading it by content only."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = _database_member(tar)
            source = tar.extractfile(member)
            if source is None:
                raise UpdateError(f"the archive's {member.name} cannot be read")
            with source, out.open("wb") as sink:
                _copy(source, sink)
                sink.flush()
                os.fsync(sink.fileno())
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise UpdateError(f"the downloaded archive is not a readable tar.gz: {exc}") from None
    except OSError as exc:
        raise UpdateError(f"the downloaded archive cannot be unpacked: {exc}") from None


def _copy(source: IO[bytes], sink: IO[bytes]) -> None:
    copied = 0
    while chunk := source.read(_CHUNK):
        copied += len(chunk)
        if copied > MAX_BYTES:
            raise UpdateError(f"the archive's database is larger than {MAX_BYTES} bytes")
        sink.write(chunk)


def _database_member(tar: tarfile.TarFile) -> tarfile.TarInfo:
    candidates = [m for m in tar.getmembers() if m.name.endswith(".mmdb")]
    if not candidates:
        raise UpdateError("the downloaded archive holds no .mmdb file")
    if len(candidates) > 1:
        names = ", ".join(m.name for m in candidates)
        raise UpdateError(f"the downloaded archive holds several .mmdb files: {names}")
    member = candidates[0]
    parts = PurePosixPath(member.name).parts
    # Nothing is extracted by name, but an archive naming such paths is not MaxMind's.
    if member.name.startswith(("/", "\\")) or ".." in parts:
        raise UpdateError(f"the downloaded archive has an unsafe path: {member.name!r}")
    if not member.isreg():
        raise UpdateError(f"the archive's {member.name} is a link, not a file")
    if member.size > MAX_BYTES:
        raise UpdateError(f"the archive's {member.name} is larger than {MAX_BYTES} bytes")
    return member


def _validate(database: Path, edition: str) -> tuple[str, datetime]:
    """The new file's layout and build time; it must open and be of `edition`'s layout."""
    try:
        opened = open_file(database)
    except GeoDatabaseError as exc:
        raise UpdateError(f"the downloaded database does not open: {exc}") from None
    with opened.reader as reader:
        metadata = reader.metadata()
    database_type = opened.database_type
    # Regional editions (GeoIP2-City-Europe) carry their base layout's type.
    if not edition.startswith(database_type):
        raise UpdateError(f"the downloaded archive holds a {database_type} database, not {edition}")
    return database_type, datetime.fromtimestamp(int(metadata.build_epoch), UTC)


def _install(database: Path, target: Path) -> None:
    try:
        mode = target.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o644
    try:
        # mkstemp makes the file private; the server may run as another user.
        os.chmod(database, mode)
        os.replace(database, target)
    except OSError as exc:
        raise UpdateError(f"cannot replace {target}: {exc.strerror or exc}") from None
    _sync_folder(target.parent)


def _sync_folder(folder: Path) -> None:
    # Makes the rename itself durable; not every platform can open a folder.
    with contextlib.suppress(OSError):
        handle = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)
