"""The demo news site wrapped by Gatekeeper, served by uvicorn: for browser tests.

    python -m tests.adblock.server --policy POLICY --port PORT

A short `shared.flush_seconds` in the policy lets a test read the counts with
`gatekeeper adblock stats` within a second. On shutdown (SIGTERM) gatekeeper writes what
is still pending.
"""

from __future__ import annotations

import argparse

import uvicorn

from gatekeeper import Gatekeeper
from gatekeeper.demo.site import create_app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--policy", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = Gatekeeper(create_app(), policy=args.policy)
    print(f"adblock test server on {args.port}", flush=True)
    uvicorn.run(
        app, host="127.0.0.1", port=args.port, proxy_headers=False, log_level="warning",
        lifespan="on",
    )  # fmt: skip


if __name__ == "__main__":
    main()
