"""gatekeeper's cost, measured against the bare app and a naive middleware in one run.

    python -m benchmarks.run            # in-process and end to end, prints the table
    python -m benchmarks.run --quick    # fewer rounds, for a smoke check

Rounds are interleaved (bare, gatekeeper, naive, bare, ...), so drift of the machine
hits all three alike; the table shows the median requests per second, the spread
(min-max over rounds) and the ratio of medians against the bare app.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from benchmarks import apps, extras

BLOCKED_IP = "203.0.113.200"  # Antarctica in the demo GeoIP database; the demo blocks AQ


@dataclass
class Case:
    name: str
    path: str = "/"
    headers: dict[str, str] = field(default_factory=dict)
    client: str = "127.0.0.1"
    e2e_headers: dict[str, str] | None = None  # wrk cannot choose its source address


async def decided_cookie(app) -> str:
    """A consent cookie for an accept-all decision, obtained the way a browser gets one."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        response = await client.post(
            "/_gatekeeper/consent",
            data={"action": "accept_all"},
            headers={"Accept": "application/json", "Origin": "http://127.0.0.1"},
        )
        response.raise_for_status()
        return f"gk_consent={response.cookies['gk_consent']}"


def cases(cookie: str) -> list[Case]:
    return [
        Case("HTML 20 KB, visitor decided", headers={"cookie": cookie}),
        Case("HTML 20 KB, first visit (banner)"),
        Case("JSON endpoint", path="/api", headers={"cookie": cookie}),
        Case("304 Not Modified", headers={"cookie": cookie, "if-none-match": apps.ETAG}),
        Case(
            "blocked country (451)",
            client=BLOCKED_IP,
            e2e_headers={"x-gatekeeper-country": "AQ"},
        ),
    ]


# --- in-process ----------------------------------------------------------------------


async def drive(app, case: Case, count: int) -> float:
    """Requests per second of `app` for `case`, calling the ASGI app directly."""
    raw_headers = (
        [(b"host", b"127.0.0.1")]
        + [(k.encode(), v.encode()) for k, v in case.headers.items()]
        + [(b"accept", b"text/html"), (b"user-agent", b"bench/1")]
    )

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        pass

    start = time.perf_counter()
    for _ in range(count):
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": case.path,
            "raw_path": case.path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": list(raw_headers),
            "client": (case.client, 50000),
            "server": ("127.0.0.1", 8000),
        }
        await app(scope, receive, send)
    return count / (time.perf_counter() - start)


def in_process(data: Path, rounds: int, count: int) -> list[tuple[str, dict[str, list[float]]]]:
    contenders = {"bare": apps.bare(), "gatekeeper": apps.wrapped(data), "naive": apps.naive()}
    results = []

    async def main():
        cookie = await decided_cookie(contenders["gatekeeper"])
        for case in cases(cookie):
            samples: dict[str, list[float]] = {name: [] for name in contenders}
            for app in contenders.values():
                await drive(app, case, count // 5)  # warm caches and code paths
            for _ in range(rounds):
                for name, app in contenders.items():
                    samples[name].append(await drive(app, case, count))
            results.append((case.name, samples))

    asyncio.run(main())
    return results


# --- end to end (uvicorn + wrk) -----------------------------------------------------------


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


def end_to_end(data: Path, rounds: int, seconds: int):
    servers = {
        "bare": serve("bare_factory", data),
        "gatekeeper": serve("gatekeeper_factory", data),
        "naive": serve("naive_factory", data),
    }
    results = []
    try:
        cookie = httpx.post(
            f"http://127.0.0.1:{servers['gatekeeper'][1]}/_gatekeeper/consent",
            data={"action": "accept_all"},
            headers={"Accept": "application/json"},
        ).cookies["gk_consent"]
        for case in cases(f"gk_consent={cookie}"):
            samples: dict[str, list[float]] = {name: [] for name in servers}
            for _ in range(rounds):
                for name, (_, port) in servers.items():
                    samples[name].append(wrk(port, case, seconds))
            results.append((case.name, samples))
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(timeout=10)
    return results


# --- output --------------------------------------------------------------------------------


def table(title: str, results) -> str:
    lines = [
        f"**{title}** (requests/s, median of rounds, min–max in brackets; ratio against bare)",
        "",
        "| case | bare | gatekeeper | naive BaseHTTPMiddleware | gatekeeper ratio | naive ratio |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, samples in results:
        med = {k: statistics.median(v) for k, v in samples.items()}
        cell = {
            key: f"{med[key]:,.0f} ({min(values):,.0f}–{max(values):,.0f})"
            for key, values in samples.items()
        }
        lines.append(
            f"| {name} | {cell['bare']} | {cell['gatekeeper']} | {cell['naive']} | "
            f"{med['gatekeeper'] / med['bare']:.2f}× | {med['naive'] / med['bare']:.2f}× |"
        )
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    parser.add_argument("--skip-e2e", action="store_true", help="in-process only")
    args = parser.parse_args(argv)
    rounds = 3 if args.quick else 7
    print(f"gatekeeper benchmarks, {datetime.now(UTC):%Y-%m-%d}, {machine()}\n")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        print(
            table("In-process (ASGI driver)", in_process(data, rounds, 500 if args.quick else 2000))
        )
        print()
        if args.skip_e2e or not shutil.which("wrk"):
            print("End to end: skipped (install wrk: apt-get install -y wrk)\n")
        else:
            results = end_to_end(data, rounds, 2 if args.quick else 4)
            print(
                table(
                    "End to end (uvicorn, httptools + uvloop, 1 worker; wrk, 32 connections)",
                    results,
                )
            )
            print()
        for line in extras.all_extras(data, quick=args.quick):
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
