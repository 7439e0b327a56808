"""One app process for the periodic-work tests: appends a record every few milliseconds
and runs the log's periodic work, until it is killed. Prints `ready` after its first
append. Run: python checkpoint_worker.py POLICY NAME
"""

from __future__ import annotations

import asyncio
import sys

from gatekeeper.audit import ConsentLog
from gatekeeper.policy import load_policy
from tests.audit.conftest import event


async def main(policy_path: str, name: str) -> None:
    log = ConsentLog.from_policy(load_policy(policy_path))
    await log.start()
    n = 0
    while True:
        await log.append(event(n, event_id=f"{name}-{n}"))
        if n == 0:
            print("ready", flush=True)
        n += 1
        await asyncio.sleep(0.02)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
