"""The demo news site, unwrapped, with the serving process's id on every page it answers
(`X-Served-By`), so a test can tell that its requests really went to several processes.

    gatekeeper serve tests.workers.site:app --policy POLICY --workers 3
"""

from __future__ import annotations

import os
from typing import Any

from gatekeeper.demo.site import create_app

_inner = create_app()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        await _inner(scope, receive, send)
        return
    pid = str(os.getpid()).encode()

    async def tagged(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            headers = [*message.get("headers", []), (b"x-served-by", pid)]
            message = {**message, "headers": headers}
        await send(message)

    await _inner(scope, receive, tagged)
