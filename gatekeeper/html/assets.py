"""gatekeeper's own JS and CSS, served under {prefix}/static/ with content-hashed names.

A hashed name changes whenever the file does, so responses can be cached for a year
(`immutable`) and a deploy never serves a stale script to a new page. Comments and
indentation are left out of what is served (`compact`): the files stay readable, and
every page view downloads only the code.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..endpoints import Response, text_response

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

    def serve(self, scope: Mapping[str, Any]) -> Response:
        """Answer a request whose path starts with the static base."""
        asset = self._files.get(scope["path"][len(self.base) :])
        if asset is None:
            return text_response("not found", 404)
        if scope["method"] not in ("GET", "HEAD"):
            response = text_response("method not allowed", 405)
            response.headers.append((b"allow", b"GET, HEAD"))
            return response
        accepts_gzip = False
        not_modified = False
        for name, value in scope.get("headers", []):
            if name == b"accept-encoding" and b"gzip" in value:
                accepts_gzip = True
            elif name == b"if-none-match" and asset.etag in value:
                not_modified = True
        response = Response(
            status=304 if not_modified else 200,
            body=b"" if not_modified else asset.gzipped if accepts_gzip else asset.body,
            content_type=asset.content_type,
            headers=[(b"etag", asset.etag), (b"vary", b"Accept-Encoding")],
            cache_control=b"public, max-age=31536000, immutable",
        )
        if accepts_gzip and not not_modified:
            response.headers.append((b"content-encoding", b"gzip"))
        return response
