"""The demo news site wrapped with adblock detection, served by uvicorn: for browser tests.

    python -m tests.adblock.server --policy POLICY --port PORT [--view-ttl S] [--flush S]

Short view lifetimes and flush intervals let a test see no_js verdicts in the stats within
seconds. On shutdown (SIGTERM) the open views are counted and written.
"""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn

from gatekeeper.adblock import AdblockFeature
from gatekeeper.demo.site import create_app
from tests.adblock.stack import wrap


class CountOnShutdown:
    """Answers lifespan events itself and closes the adblock feature on shutdown."""

    def __init__(self, app: Any, feature: AdblockFeature) -> None:
        self.app = app
        self.feature = feature

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.feature.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--policy", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--view-ttl", type=float, default=600.0)
    parser.add_argument("--flush", type=float, default=5.0)
    args = parser.parse_args()
    app, feature, how = wrap(create_app(), args.policy)
    feature.detector.table.ttl = args.view_ttl
    feature.detector.counts.interval = args.flush
    print(f"adblock test server ({how}) on {args.port}", flush=True)
    uvicorn.run(
        CountOnShutdown(app, feature),
        host="127.0.0.1",
        port=args.port,
        proxy_headers=False,
        log_level="warning",
        lifespan="on",
    )


if __name__ == "__main__":
    main()
