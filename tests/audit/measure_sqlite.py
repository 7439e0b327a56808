"""Records per second of the SQLite store alone (a measurement, not a test).

python -m tests.audit.measure_sqlite [RECORDS] [CONCURRENCY]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from gatekeeper.audit import ConsentLog
from gatekeeper.policy import parse_policy
from tests.audit.conftest import event, write_key


async def measure(folder: Path, records: int, concurrency: int) -> float:
    write_key(folder / "key.pem")
    policy = parse_policy(
        'site: {name: M, revision: "1"}\nsecret_keys: ["' + "x" * 32 + '"]\n'
        f'audit: {{store: "sqlite:///{folder}/consent.db", signing_key: key.pem}}\n',
        base_dir=folder,
    )
    log = ConsentLog.from_policy(policy)
    events = [event(i) for i in range(records)]
    await log.append(events[0])  # open, migrate
    queue = iter(events[1:])

    async def client() -> None:
        for item in queue:
            await log.append(item)

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    assert (await log.verify()).ok
    await log.close()
    return (records - 1) / elapsed


def main() -> None:
    records = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    for concurrency in [int(sys.argv[2])] if len(sys.argv) > 2 else [1, 16, 64, 256]:
        with tempfile.TemporaryDirectory() as folder:
            rate = asyncio.run(measure(Path(folder), records, concurrency))
        print(f"{concurrency:>4} concurrent appenders: {rate:,.0f} records/s")


if __name__ == "__main__":
    main()
