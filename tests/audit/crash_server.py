"""A tiny server for the crash test: `POST /append?id=EVENT_ID` appends one record.

It answers 200 only after `append` returned, as the consent endpoint does, so every 200
is a promise that the record is durable. Run: python crash_server.py POLICY PORT
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import uvicorn

from gatekeeper.audit import ConsentEvent, ConsentLog, LogUnavailable
from gatekeeper.policy import load_policy

Message = MutableMapping[str, Any]


def build(policy_path: str) -> Callable[..., Awaitable[None]]:
    log = ConsentLog.from_policy(load_policy(policy_path))

    async def respond(send: Callable[[Message], Awaitable[None]], status: int, body: str) -> None:
        data = body.encode()
        headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(data)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})

    async def app(
        scope: Message,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await log.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["path"] == "/health":
            await respond(send, 200, "ok")
            return
        event_id = parse_qs(scope["query_string"].decode())["id"][0]
        try:
            await log.append(
                ConsentEvent(
                    consent_id=event_id.split("-")[0],
                    event="given",
                    categories={"necessary": True, "analytics": True},
                    method="accept_all@banner",
                    revision="r1",
                    texts_hash="0" * 64,
                    language="en",
                    mode="opt_in",
                    country="DE",
                    subdivision=None,
                    ip=scope["client"][0] if scope.get("client") else None,
                    user_agent="crash-test",
                    path="/_gatekeeper/consent",
                    valid_until=datetime.now(UTC) + timedelta(days=180),
                    event_id=event_id,
                )
            )
        except LogUnavailable as exc:
            await respond(send, 503, str(exc))
            return
        await respond(send, 200, event_id)

    return app


if __name__ == "__main__":
    uvicorn.run(build(sys.argv[1]), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
