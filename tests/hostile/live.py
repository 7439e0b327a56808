"""The attacked site as a real server runs it: `uvicorn tests.hostile.live:app`.

The policy is tests/hostile/target.py's, at the path in GATEKEEPER_HOSTILE_POLICY. The
app serves an HTML article that sets the analytics cookie `_ga`, and a websocket stream
at `/articles/live` (the path the policy closes to GB) and anywhere else: it accepts,
sends "live:<path>" and closes normally; at `/tracked/live` its handshake answer sets `_ga`. `without_extension` is the same site as a
server without the `websocket.http.response` extension runs it.
"""

from __future__ import annotations

import os

from gatekeeper import Gatekeeper

PAGE = b"<!doctype html><html><head><title>Site</title></head><body><p>Article</p></body></html>"


async def site(scope, receive, send) -> None:
    if scope["type"] == "websocket":
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        if scope["path"] == "/tracked/live":  # the handshake's answer sets _ga
            cookie = (b"set-cookie", b"_ga=GA1.1.1; Max-Age=63072000; Path=/")
            await send({"type": "websocket.accept", "headers": [cookie]})
        else:
            await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": f"live:{scope['path']}"})
        await send({"type": "websocket.close", "code": 1000})
        return
    if scope["type"] != "http":
        return
    if scope["method"] == "POST":  # read what was sent, as an app would
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False) and message["type"] == "http.request"
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"set-cookie", b"_ga=GA1.1.1; Max-Age=63072000; Path=/"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": PAGE})


app = Gatekeeper(site, policy=os.environ["GATEKEEPER_HOSTILE_POLICY"])


async def without_extension(scope, receive, send) -> None:
    """The same site on a server that does not offer `websocket.http.response` (every
    server installed here does; older uvicorn and daphne do not)."""
    if scope["type"] == "websocket":
        extensions = dict(scope.get("extensions") or {})
        extensions.pop("websocket.http.response", None)
        scope = {**scope, "extensions": extensions}
    await app(scope, receive, send)
