"""gatekeeper's own JS and CSS, served under {prefix}/static/ with content-hashed names
(by gatekeeper.endpoints, which asks `Assets.file` for them).

A hashed name changes whenever the file does, so responses can be cached for a year
(`immutable`) and a deploy never serves a stale script to a new page. Comments and
indentation are left out of what is served (`compact`): the files stay readable, and
every page view downloads only the code.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

BUILTIN = Path(__file__).resolve().parent / "static"
TYPES = {".js": b"text/javascript; charset=utf-8", ".css": b"text/css; charset=utf-8"}
_CSS_COMMENT = re.compile(rb"/\*.*?\*/", re.S)


def compact(body: bytes, suffix: str) -> bytes:
    """The file without comments, indentation and blank lines.

    Only what cannot be code goes: in CSS every comment; in JavaScript whole lines that
    are a `//` comment, and block comments that begin and end a line (a line cannot
    begin with `/*` otherwise). Code is never rewritten, so no build step is needed.
    """
    if suffix == ".css":
        body = _CSS_COMMENT.sub(b"", body)
    kept = []
    in_comment = False
    for raw in body.split(b"\n"):
        line = raw.strip()
        if suffix == ".js" and (in_comment or line.startswith(b"/*")):
            in_comment = not line.endswith(b"*/")
            continue
        if line and not (suffix == ".js" and line.startswith(b"//")):
            kept.append(line)
    return b"\n".join(kept)


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gzipped: bytes
    content_type: bytes
    etag: bytes


class Assets:
    """The static files, read and hashed once. `url("gatekeeper.js")` names the current one.

    A file of the same name in `override` (the policy's templates folder, `static/`)
    replaces the built-in one, so operators can restyle notices without forking.
    """

    def __init__(self, prefix: str, override: Path | None = None) -> None:
        self.base = f"{prefix}/static/"
        self._files: dict[str, Asset] = {}
        self._urls: dict[str, str] = {}
        for path in sorted(BUILTIN.iterdir()):
            if path.suffix not in TYPES:
                continue
            custom = override / "static" / path.name if override else None
            source = custom if custom and custom.is_file() else path
            body = compact(source.read_bytes(), path.suffix)
            digest = hashlib.sha256(body).hexdigest()[:12]
            hashed = f"{path.stem}.{digest}{path.suffix}"
            self._files[hashed] = Asset(
                body=body,
                gzipped=gzip.compress(body, 9, mtime=0),
                content_type=TYPES[path.suffix],
                etag=f'"{digest}"'.encode(),
            )
            self._urls[path.name] = self.base + hashed

    def url(self, name: str) -> str:
        return self._urls[name]

    def file(self, name: str) -> Asset | None:
        """The file served as `{prefix}/static/{name}` (a hashed name), or None."""
        return self._files.get(name)
