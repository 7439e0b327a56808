"""The app the live-reload test serves wrapped (`gatekeeper serve tests.hostile.site:app`)."""

from __future__ import annotations

PAGE = b"<!doctype html><html><head><title>Site</title></head><body><p>Article</p></body></html>"


async def app(scope, receive, send) -> None:
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/html; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": PAGE})
