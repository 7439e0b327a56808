"""Running an ASGI server in a subprocess for a test, on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import httpx

from tests.conftest import REPO

STARTUP_SECONDS = 30.0


def free_port() -> int:
    # Bind to port 0 and give the number back: the server binds it a moment later. A
    # race with another process is possible but rare on a test machine.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running(argv: Sequence[str], *, port: int, env: Mapping[str, str], log: Path) -> Iterator[str]:
    """Start `argv` (cwd: the repository), wait until it answers HTTP, yield its base URL,
    then stop it: SIGTERM to its own process group (servers with worker processes), and
    SIGKILL if it has not exited within 10 seconds."""
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        process = subprocess.Popen(
            list(argv),
            cwd=REPO,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group, so its workers stop with it
        )
        try:
            _wait_until_up(process, base, log)
            yield base
        finally:
            _stop(process)


def _wait_until_up(process: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"server exited with {process.returncode}:\n{log.read_text(errors='replace')}"
            )
        try:
            httpx.get(base + "/", timeout=2.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"server not up within {STARTUP_SECONDS}s:\n{log.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
