"""What every benchmark shares: cases, the in-process driver, uvicorn and wrk."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx


@dataclass
class Case:
    name: str
    path: str = "/"
    headers: dict[str, str] = field(default_factory=dict)
    client: str = "127.0.0.1"
    e2e_headers: dict[str, str] | None = None  # wrk cannot choose its source address


async def consent_cookie(app, action: str = "accept_all") -> str:
    """The Cookie header of a visitor who chose `action`, obtained the way a browser gets
    it (a form post to the consent endpoint)."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        response = await client.post(
            "/_gatekeeper/consent",
            data={"action": action},
            headers={"Accept": "application/json", "Origin": "http://127.0.0.1"},
        )
        response.raise_for_status()
        return f"gk_consent={response.cookies['gk_consent']}"


def served_cookie(port: int, action: str = "accept_all") -> str:
    """The same, from a server on this machine."""
    response = httpx.post(
        f"http://127.0.0.1:{port}/_gatekeeper/consent",
        data={"action": action},
        headers={"Accept": "application/json"},
    )
    response.raise_for_status()
    return f"gk_consent={response.cookies['gk_consent']}"


def scope_for(case: Case) -> dict:
    """A fresh ASGI scope for one request of `case`, as a server would build it."""
    raw_headers = (
        [(b"host", b"127.0.0.1")]
        + [(k.encode(), v.encode()) for k, v in case.headers.items()]
        + [(b"accept", b"text/html"), (b"user-agent", b"bench/1")]
    )
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": case.path,
        "raw_path": case.path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw_headers,
        "client": (case.client, 50000),
        "server": ("127.0.0.1", 8000),
    }


async def drive(app, case: Case, count: int) -> float:
    """Requests per second of `app` for `case`, calling the ASGI app directly."""

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        pass

    start = time.perf_counter()
    for _ in range(count):
        await app(scope_for(case), receive, send)
    return count / (time.perf_counter() - start)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(factory: str, data: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "GATEKEEPER_BENCH_DATA": str(data)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            f"benchmarks.apps:{factory}",
            "--port",
            str(port),
            "--http",
            "httptools",
            "--loop",
            "uvloop",
            "--workers",
            "1",
            "--no-access-log",
            "--no-proxy-headers",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process, port
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"{factory} did not start")


def wrk(port: int, case: Case, seconds: int, script: Path | None = None) -> float:
    headers = case.e2e_headers if case.e2e_headers is not None else case.headers
    args = ["wrk", "-t1", "-c32", f"-d{seconds}s", "--latency"]
    for name, value in {"accept": "text/html", **headers}.items():
        args += ["-H", f"{name}: {value}"]
    if script is not None:
        args += ["-s", str(script)]
    output = subprocess.run(
        [*args, f"http://127.0.0.1:{port}{case.path}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not match:
        raise RuntimeError(output)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors and "blocked" not in case.name:
        raise RuntimeError(f"{case.name}: {errors.group(1)} error responses")
    return float(match.group(1))
