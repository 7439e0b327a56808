"""The baits: first-party resources and an element that real filter lists block or hide.

gatekeeper serves the bait resources itself, under its prefix, so the site needs nothing
and no request ever leaves for a third party. The defaults below were chosen by running
Brave's adblock engine on EasyList and EasyPrivacy (13 Aug 2026) in Chromium under a
public host name; each is blocked by two independent generic rules, so the baits keep
working if the list maintainers drop one (tests/browser/test_adblock.py re-checks them):

- script `/prebid/gpt.js`:  `/gpt.js$script` and `/prebid/*$script`
- image `/adbanners/banner-728x90.gif`:  `/adbanners/*$image` and `-728x90.`
- element classes `ad-slot ad-unit ad-banner-container`:  `##.ad-slot`, `##.ad-unit`,
  `##.ad-banner-container` (any one hides it)

Rules match anywhere in the URL, so the prefix in front (/_gatekeeper/prebid/gpt.js)
changes nothing. The classic detector baits (/ads.js, /adsbygoogle.js, .adsbox) are gone
from the lists precisely because detectors used them: keep these configurable.
"""

from __future__ import annotations

import base64
import re

from ..endpoints import Request, Response, Route
from .detector import Detector

SCRIPT = "/prebid/gpt.js"
IMAGE = "/adbanners/banner-728x90.gif"
COSMETIC = "ad-slot ad-unit ad-banner-container"

# The bait leaves the proof its response carries on the element that loaded it, where
# the check reads it; a blocker's stub in its place leaves none.
SCRIPT_BODY = (
    b"/* gatekeeper adblock bait */\n"
    b'document.currentScript&&document.currentScript.setAttribute("data-gk-proof","%s");\n'
)
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")  # 1x1 clear
_IMAGE_TYPES = {".gif": b"image/gif", ".png": b"image/png", ".jpg": b"image/jpeg"}

# Paths below the prefix that belong to other endpoints.
RESERVED = (
    "/static/", "/beacon", "/adblock/", "/consent", "/preferences", "/notifications/", "/audit",
)  # fmt: skip
_PATH = re.compile(r"^(/[A-Za-z0-9._~\-]+)+$")
_CLASS = re.compile(r"^-?[A-Za-z_][A-Za-z0-9_\-]*$")


def check_path(path: str, what: str) -> str:
    if not _PATH.match(path) or any(seg in (".", "..") for seg in path.split("/")):
        raise ValueError(f"adblock.baits.{what}: {path!r} is not a plain path such as {SCRIPT}")
    if path.startswith(RESERVED):
        raise ValueError(f"adblock.baits.{what}: {path!r} is taken by another endpoint")
    return path


def check_classes(value: str) -> str:
    names = value.split()
    if not names or not all(_CLASS.match(name) for name in names):
        raise ValueError(
            f"adblock.baits.cosmetic_class: {value!r} is not a list of CSS class names"
        )
    return " ".join(names)


class Baits:
    """The bait URLs of a page and the endpoints that serve them."""

    def __init__(
        self, prefix: str, script: str, image: str, cosmetic: str, detector: Detector
    ) -> None:
        self.script_path = check_path(script, "script")
        self.image_path = check_path(image, "image")
        if self.script_path == self.image_path:
            raise ValueError("adblock.baits: script and image need different paths")
        self.cosmetic = check_classes(cosmetic)
        self.prefix = prefix
        self.detector = detector
        suffix = "." + image.rsplit(".", 1)[-1].lower() if "." in image else ""
        self.image_type = _IMAGE_TYPES.get(suffix, b"image/gif")  # browsers sniff anyway

    def script_url(self, token: str) -> str:
        return f"{self.prefix}{self.script_path}?t={token}"

    def image_url(self, token: str) -> str:
        return f"{self.prefix}{self.image_path}?t={token}"

    async def script(self, request: Request) -> Response:
        # Served whatever the token: a failed load would read as "blocked" in the page.
        proof = self.detector.script(request.query().get("t"))
        return Response(
            body=SCRIPT_BODY % proof.encode(), content_type=b"text/javascript; charset=utf-8"
        )

    async def image(self, request: Request) -> Response:
        self.detector.image(request.query().get("t"))
        return Response(body=PIXEL, content_type=self.image_type)

    def routes(self) -> dict[str, Route]:
        get = frozenset({"GET"})
        return {
            self.script_path: Route(get, self.script, body_limit=0),
            self.image_path: Route(get, self.image, body_limit=0),
        }
