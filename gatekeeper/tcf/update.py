"""Downloading the Global Vendor List and its translations, and putting them in place.

Everything is downloaded and validated before anything is written; each file is written
to a temporary file in the same folder and moved over the old one with `os.replace`, the
translations first and the vendor list last, so a running `GvlFile` (which watches the
vendor list) never sees a half-written set. When a download or a check fails nothing is written, and
no temporary file is ever left behind.

IAB Europe asks that the files be fetched server-side, compressed, and no more often than
their Cache-Control max-age allows ("Accessing and caching the Global Vendor List"); the
max-age is remembered next to the list and a fresh list is not fetched again unless forced.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from ..policy.sections.tcf import TcfGvlSettings
from .gvl import GVLError, load_gvl, parse_gvl, parse_translation, translation_path

__all__ = ["GvlUpdateError", "GvlUpdated", "update_gvl"]

MAX_BYTES = 64 << 20  # the real list is a few MB; this only stops a runaway response
_TIMEOUT = httpx.Timeout(60.0, connect=15.0)
_MAX_AGE = re.compile(r"max-age=(\d+)")


class GvlUpdateError(Exception):
    """The update did not happen; the installed files are unchanged."""


@dataclass(frozen=True, slots=True)
class GvlUpdated:
    path: Path
    vendor_list_version: int
    policy_version: int
    languages: tuple[str, ...]
    """Translations installed with this list."""
    missing: tuple[str, ...]
    """Languages the IAB publishes no translation for (notices fall back to English)."""
    changed: bool
    """False when the list was still fresh, or the download equalled the installed file."""
    fresh_until: datetime | None


def _cache_path(path: Path) -> Path:
    return path.with_name(path.name + ".cache.json")


def _fresh_until(path: Path) -> datetime | None:
    try:
        data = json.loads(_cache_path(path).read_text(encoding="utf-8"))
        return datetime.fromisoformat(data["fresh_until"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _get(client: httpx.Client, url: str) -> tuple[bytes, httpx.Response] | None:
    """The body of a 200 response, None for a 404, GvlUpdateError for anything else."""
    try:
        with client.stream("GET", url) as response:
            if response.status_code == 404:
                return None
            if response.status_code != 200:
                raise GvlUpdateError(f"{url}: HTTP {response.status_code}")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_BYTES:
                    raise GvlUpdateError(f"{url}: larger than {MAX_BYTES >> 20} MB; refusing it")
            return bytes(body), response
    except httpx.HTTPError as exc:
        raise GvlUpdateError(f"{url}: {exc}") from None


def _json(body: bytes, url: str) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GvlUpdateError(f"{url}: not JSON: {exc}") from None


def _write(path: Path, body: bytes) -> bool:
    """Replace `path` with `body` atomically; False when it already held exactly that."""
    with contextlib.suppress(OSError):
        if path.read_bytes() == body:
            return False
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return True


def update_gvl(
    settings: TcfGvlSettings,
    languages: Iterable[str],
    *,
    client: httpx.Client | None = None,
    force: bool = False,
    now: datetime | None = None,
) -> GvlUpdated:
    """Fetch the list and the translations for `languages`; install them if all are valid."""
    path = settings.file
    now = now or datetime.now(UTC)
    wanted = tuple(sorted({lang.split("-")[0].lower() for lang in languages} - {"en"}))
    fresh_until = _fresh_until(path)
    if not force and fresh_until is not None and now < fresh_until and path.exists():
        try:
            installed = load_gvl(path)
        except GVLError:
            installed = None
        if installed is not None:
            have = tuple(lang for lang in installed.languages if lang != "en")
            return GvlUpdated(
                path,
                installed.vendor_list_version,
                installed.policy_version,
                have,
                tuple(lang for lang in wanted if lang not in have),
                changed=False,
                fresh_until=fresh_until,
            )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GvlUpdateError(f"cannot create {path.parent}: {exc.strerror}") from None

    own = client is None
    if client is None:
        version = importlib.metadata.version("gatekeeper")
        client = httpx.Client(
            timeout=_TIMEOUT,
            follow_redirects=True,
            headers={"User-Agent": f"gatekeeper/{version}", "Accept-Encoding": "gzip, deflate"},
        )
    try:
        got = _get(client, settings.url)
        if got is None:
            raise GvlUpdateError(f"{settings.url}: HTTP 404")
        body, response = got
        try:
            gvl = parse_gvl(_json(body, settings.url), source=settings.url)
        except GVLError as exc:
            raise GvlUpdateError(str(exc)) from None
        translations: dict[str, bytes] = {}
        missing = []
        for language in wanted:
            url = settings.translations_url.format(language=language)
            fetched = _get(client, url)
            if fetched is None:
                missing.append(language)
                continue
            try:
                parse_translation(_json(fetched[0], url), gvl, source=url)
            except GVLError as exc:
                raise GvlUpdateError(str(exc)) from None
            translations[language] = fetched[0]
    finally:
        if own:
            client.close()

    with contextlib.suppress(GVLError):
        installed = load_gvl(path) if path.exists() else None
        if installed is not None and installed.vendor_list_version > gvl.vendor_list_version:
            raise GvlUpdateError(
                f"{settings.url} serves vendor list {gvl.vendor_list_version}, older than the "
                f"installed {installed.vendor_list_version}; keeping the installed one"
            )
    match = _MAX_AGE.search(response.headers.get("cache-control", ""))
    until = now + timedelta(seconds=int(match.group(1))) if match else None
    try:
        changed = False
        for language, data in translations.items():
            changed |= _write(translation_path(path, language), data)
        changed |= _write(path, body)
        if until is not None:
            _write(_cache_path(path), json.dumps({"fresh_until": until.isoformat()}).encode())
    except OSError as exc:
        raise GvlUpdateError(f"cannot write next to {path}: {exc.strerror}") from None
    return GvlUpdated(
        path,
        gvl.vendor_list_version,
        gvl.policy_version,
        tuple(sorted(translations)),
        tuple(missing),
        changed=changed,
        fresh_until=until,
    )
