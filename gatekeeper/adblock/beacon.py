"""POST {prefix}/beacon: the page's report of its check, answered with the verdict.

Body: a JSON object `{"token": "...", "script": true|false|null, "cosmetic": true|false}`
with optional `"image": true|false` (the image bait had loaded), `"proof": "..."` (what
the script bait's response left) and `"receipt": "..."` (what an earlier beacon of the
same view answered), sent as application/json (fetch) or text/plain
(navigator.sendBeacon cannot set a JSON type without a CORS preflight). Anything else
is a 4xx naming the problem, never a 500: this endpoint is public, and whatever arrives
is someone's input.
"""

from __future__ import annotations

import json
from typing import Any

from ..endpoints import BadRequest, Request, Response, Route, json_response
from .cookie import AdblockCookie, AdblockState
from .detector import Detector
from .token import TokenError
from .verdict import BeaconReport

BODY_LIMIT = 1024  # a real report is ~120 bytes
_TYPES = frozenset({b"application/json", b"text/plain", b""})
_FIELDS = frozenset({"token", "script", "cosmetic"})
_OPTIONAL = frozenset({"image", "proof", "receipt"})


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_report(body: bytes) -> tuple[object, BeaconReport, dict[str, Any]]:
    """The token, the report and the optional fields of a beacon body; raises BadRequest."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("body is not UTF-8") from None
    try:
        data = json.loads(text, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        raise BadRequest("body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object")
    unknown = sorted(set(data) - _FIELDS - _OPTIONAL)
    if unknown:
        raise BadRequest(f"unknown field {unknown[0][:40]!r}")
    missing = sorted(_FIELDS - set(data))
    if missing:
        raise BadRequest(f"missing field {missing[0]!r}")
    script, cosmetic = data["script"], data["cosmetic"]
    # `type(...) is bool`: JSON 1 and 0 are numbers, not answers.
    if script is not None and type(script) is not bool:
        raise BadRequest("field 'script' must be true, false or null")
    if type(cosmetic) is not bool:
        raise BadRequest("field 'cosmetic' must be true or false")
    image = data.get("image", False)
    if type(image) is not bool:
        raise BadRequest("field 'image' must be true or false")
    for name in ("proof", "receipt"):
        if data.get(name) is not None and not isinstance(data[name], str):
            raise BadRequest(f"field {name!r} must be a string")
    extra = {name: data.get(name) for name in ("proof", "receipt")}
    return data["token"], BeaconReport(script=script, cosmetic=cosmetic, image=image), extra


class Beacon:
    """The endpoint; its rate limit per client network is gatekeeper.limits' (`beacon`)."""

    def __init__(self, detector: Detector, cookie: AdblockCookie) -> None:
        self.detector = detector
        self.cookie = cookie

    async def handle(self, request: Request) -> Response:
        if request.content_type not in _TYPES:
            raise BadRequest("send the report as application/json or text/plain", 415)
        token, report, extra = parse_report(request.body)
        try:
            verdict, receipt = await self.detector.report(token, report, **extra)
        except TokenError as exc:
            raise BadRequest(exc.reason, exc.status) from None
        response = json_response({"verdict": verdict, "receipt": receipt})
        if verdict in ("blocked", "allowed"):
            # "unknown" says nothing new: keep whatever the browser had before.
            known = self.cookie.from_cookies(request.visitor.cookies)
            state = AdblockState(verdict, known.dismissed_at if known else 0)
            response.headers.append(self.cookie.set_cookie(state, secure=request.secure))
        return response

    def route(self) -> Route:
        return Route(frozenset({"POST"}), self.handle, body_limit=BODY_LIMIT)
