"""SIGKILL under load: every consent that was acknowledged is in the log, which verifies.

A real server process (crash_server.py, uvicorn) takes concurrent appends, is killed
without warning while requests are in flight, and is started again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from gatekeeper.audit import ConsentLog, Query
from gatekeeper.policy import load_policy

SERVER = Path(__file__).with_name("crash_server.py")
WORKERS = 32
ACKS_BEFORE_KILL = 1500


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(policy: Path, port: int, log_file: Path) -> subprocess.Popen[bytes]:
    with open(log_file, "ab") as output:
        server = subprocess.Popen(
            [sys.executable, str(SERVER), str(policy), str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, log_file.read_text()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.05)
    server.kill()
    raise AssertionError(f"server did not start: {log_file.read_text()}")


async def post(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, event_id: str) -> int:
    """One keep-alive POST; the status. Raw HTTP/1.1: httpx's pool, not the server,
    would be the bottleneck at this concurrency."""
    writer.write(
        f"POST /append?id={event_id} HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n".encode()
    )
    await writer.drain()
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    length = next(int(h.split(":")[1]) for h in head if h.lower().startswith("content-length"))
    await reader.readexactly(length)
    return int(head[0].split()[1])


async def load_then_kill(server: subprocess.Popen[bytes], port: int) -> tuple[set[str], int]:
    acked: set[str] = set()
    attempts = 0
    stop = asyncio.Event()

    async def worker(w: int) -> None:
        nonlocal attempts
        i = 0
        while not stop.is_set():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.01)  # the server is gone; keep knocking
                continue
            try:
                while not stop.is_set():
                    event_id = f"w{w}-{i}"
                    i += 1
                    attempts += 1
                    if await post(reader, writer, event_id) == 200:
                        acked.add(event_id)
            except (OSError, asyncio.IncompleteReadError):
                pass  # killed mid-request: no answer, no promise
            finally:
                writer.close()

    tasks = [asyncio.create_task(worker(w)) for w in range(WORKERS)]
    deadline = time.monotonic() + 60
    while len(acked) < ACKS_BEFORE_KILL and time.monotonic() < deadline:
        await asyncio.sleep(0.002)
    os.kill(server.pid, signal.SIGKILL)  # with WORKERS requests in flight
    await asyncio.sleep(0.3)
    stop.set()
    await asyncio.gather(*tasks)
    return acked, attempts


def test_acknowledged_appends_survive_sigkill(audit_policy, tmp_path):
    policy = audit_policy(every=25)
    output = tmp_path / "server.log"

    first = start(policy, free_port(), output)
    port = int(first.args[-1])  # type: ignore[index]
    try:
        acked, attempts = asyncio.run(load_then_kill(first, port))
    finally:
        first.kill()
        first.wait(timeout=10)
    assert first.returncode == -signal.SIGKILL
    assert len(acked) >= ACKS_BEFORE_KILL, output.read_text()
    assert attempts > len(acked)  # some requests were cut off unanswered

    # Restarted, the server carries on the same chain.
    port = free_port()
    second = start(policy, port, output)
    try:
        after = {f"after-{i}" for i in range(10)}
        for event_id in sorted(after):
            response = httpx.post(f"http://127.0.0.1:{port}/append", params={"id": event_id})
            assert response.status_code == 200
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=20)

    async def check() -> None:
        log = ConsentLog.from_policy(load_policy(policy), create=False)
        try:
            stored: list[str] = []
            last = -1
            while page := await log.records(Query(), after=last, limit=1000):
                stored += [r.event_id for r in page]
                last = page[-1].seq
            assert len(stored) == len(set(stored))
            assert acked <= set(stored), sorted(acked - set(stored))[:10]
            assert after <= set(stored)
            report = await log.verify()
            assert report.ok, report.lines()
            assert report.records == len(stored)
        finally:
            await log.close()

    asyncio.run(check())
