"""Real server processes for the many-workers tests, a round-robin TCP balancer, and a
client that behaves like browsers on the demo site.

Every request goes on a new connection, so the operating system (uvicorn --workers) or
the balancer picks the process that answers it: a page, its baits and its beacon
usually land in different processes, as they do on a real deployment.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from gatekeeper.demo import write_policy
from tests.browser.conftest import free_port, wait_for_port
from tests.conftest import REPO, require

PG_DSN = os.environ.get("GATEKEEPER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = "redis://127.0.0.1:6379/0"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"


# --- servers --------------------------------------------------------------------------------


@dataclass
class Server:
    """`gatekeeper serve tests.workers.site:app` in a process of its own."""

    port: int
    process: subprocess.Popen[str]
    log: list[str] = field(default_factory=list)

    def stop(self) -> str:
        """SIGTERM, as a deployment stops: every worker writes its pending counts."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.stdout.read() if self.process.stdout else ""


def serve(policy: Path, *, workers: int = 1) -> Server:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gatekeeper.cli", "serve", "tests.workers.site:app",
         "--policy", str(policy), "--port", str(port), "--workers", str(workers)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    server = Server(port, process)
    try:
        wait_for_port(port, process, timeout=60)
    except RuntimeError as exc:
        raise RuntimeError(f"{exc}: {server.stop()}") from None
    return server


class Balancer:
    """A round-robin TCP balancer: each new connection goes to the next backend."""

    def __init__(self, backends: list[int]) -> None:
        self.backends = backends
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.served = [0] * len(backends)
        self._next = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            index = self._next
            self._next = (self._next + 1) % len(self.backends)
            self.served[index] += 1
            upstream = socket.create_connection(("127.0.0.1", self.backends[index]))
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, target), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.listener.close()


# --- policies -------------------------------------------------------------------------------


def demo_policy(folder: Path, extra: str = "") -> Path:
    """The demo's own policy (debug on: ?gk_country=CC), counts written every 0.2 s, and
    whatever `extra` adds (top-level sections)."""
    path = write_policy(folder)
    text = path.read_text(encoding="utf-8")
    text += "\nshared:\n  flush_seconds: 0.2\n" if "shared:" not in extra else ""
    path.write_text(text + extra, encoding="utf-8")
    return path


GENEROUS = """
limits:
  beacon: {per_minute: 60000, burst: 10000}
"""


@pytest.fixture
async def pg_store() -> AsyncIterator[str]:
    """A PostgreSQL audit.store URL in a schema of its own."""
    try:
        import asyncpg
    except ImportError:
        require(False, "asyncpg is not installed (pip install 'gatekeeper[postgres]')")
    try:
        conn = await asyncpg.connect(PG_DSN, timeout=3)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        require(False, f"PostgreSQL not reachable at {PG_DSN}: {exc}")
    schema = f"gk_workers_{uuid.uuid4().hex[:12]}"
    try:
        yield f"{PG_DSN}?schema={schema}"
    finally:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture
def redis_namespace() -> Iterator[str]:
    """A Redis key namespace of its own (shared.namespace)."""
    try:
        import redis
    except ImportError:
        require(False, "redis-py is not installed (pip install 'gatekeeper[redis]')")
    require(_redis_up(), "Redis not reachable at 127.0.0.1:6379")
    namespace = f"gk-workers-{uuid.uuid4().hex[:12]}"
    yield namespace
    client = redis.Redis.from_url(REDIS)
    keys = list(client.scan_iter(match=f"{namespace}:*"))
    if keys:
        client.delete(*keys)
    client.close()


# --- browsers -------------------------------------------------------------------------------


class Visits:
    """Page views as browsers make them, each request on a new connection."""

    def __init__(self, port: int, forwarded_for: str | None = None) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.forwarded_for = forwarded_for
        self.served_by: set[str] = set()

    def _client(self) -> httpx.Client:
        headers = {"user-agent": BROWSER}
        if self.forwarded_for:
            headers["x-forwarded-for"] = self.forwarded_for
        return httpx.Client(
            base_url=self.base,
            headers=headers,
            limits=httpx.Limits(max_keepalive_connections=0),
            timeout=30,
        )

    def get(self, path: str, **headers: str) -> httpx.Response:
        with self._client() as client:
            response = client.get(path, headers=headers)
        if "x-served-by" in response.headers:
            self.served_by.add(response.headers["x-served-by"])
        return response

    def post(self, path: str, body: Any) -> httpx.Response:
        with self._client() as client:
            return client.post(path, content=json.dumps(body), headers={
                "content-type": "application/json", "accept": "application/json",
            })  # fmt: skip

    def page(self, country: str, path: str = "/") -> str:
        response = self.get(f"{path}?gk_country={country}", accept="text/html")
        assert response.status_code == 200, response.text[:200]
        found = re.search(r'data-token="([^"]+)"', response.text)
        assert found, "no adblock view in the page"
        return found.group(1)

    def image(self, token: str) -> None:
        assert self.get(f"/_gatekeeper/adbanners/banner-728x90.gif?t={token}").status_code == 200

    def proof(self, token: str) -> str:
        body = self.get(f"/_gatekeeper/prebid/gpt.js?t={token}&r=1").text
        found = re.search(r'"data-gk-proof","([^"]+)"', body)
        assert found, body
        return found.group(1)

    def beacon(self, body: dict[str, Any]) -> httpx.Response:
        return self.post("/_gatekeeper/beacon", body)

    # The kinds of views, as the browser tests see them in Chromium.
    def blocked(self, country: str) -> dict[str, Any]:
        token = self.page(country)
        answer = self.beacon({"token": token, "script": False, "cosmetic": False})
        assert answer.json()["verdict"] == "blocked", answer.text
        return answer.json()

    def allowed(self, country: str) -> None:
        token = self.page(country, "/articles/saltings-lock-reopens")
        self.image(token)
        proof = self.proof(token)
        answer = self.beacon(
            {"token": token, "script": True, "cosmetic": True, "image": True, "proof": proof}
        )
        assert answer.json()["verdict"] == "allowed", answer.text

    def no_js(self, country: str) -> None:
        self.image(self.page(country))

    def left(self, country: str) -> None:
        self.page(country)

    def check_again(self, country: str) -> None:
        """Blocked, then the blocker paused and "check again": one allowed view."""
        token = self.page(country)
        first = self.beacon({"token": token, "script": False, "cosmetic": False}).json()
        proof = self.proof(token)
        again = self.beacon(
            {"token": token, "script": True, "cosmetic": True, "proof": proof,
             "receipt": first["receipt"]}
        )  # fmt: skip
        assert again.json()["verdict"] == "allowed", again.text


def run_views(visits: Visits, plan: dict[str, tuple[str, int]]) -> None:
    """`plan`: country -> (kind of view, how many)."""
    for country, (kind, count) in plan.items():
        for _ in range(count):
            getattr(visits, kind)(country)


def expected(plan: dict[str, tuple[str, int]]) -> dict[str, dict[str, int]]:
    verdict = {"blocked": "blocked", "allowed": "allowed", "no_js": "no_js", "left": "unknown",
               "check_again": "allowed"}  # fmt: skip
    out = {}
    for country, (kind, count) in plan.items():
        row = dict.fromkeys(("blocked", "allowed", "no_js", "unknown"), 0)
        row[verdict[kind]] = count
        out[country] = row
    return out


def adblock_stats(policy: Path) -> dict[str, dict[str, int]]:
    """`gatekeeper adblock stats --by country --json`, as an operator runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "gatekeeper.cli", "adblock", "stats", "--policy", str(policy),
         "--by", "country", "--json"],
        capture_output=True, text=True, cwd=REPO, check=False,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    if done.returncode == 1:
        return {}
    rows = json.loads(done.stdout)["rows"]
    keys = ("blocked", "allowed", "no_js", "unknown")
    return {row["country"]: {k: row[k] for k in keys} for row in rows}


def counts(policy: Path) -> dict[str, Any]:
    """`gatekeeper counts --json`: country blocks and GPC signals."""
    done = subprocess.run(
        [sys.executable, "-m", "gatekeeper.cli", "counts", "--policy", str(policy), "--json"],
        capture_output=True, text=True, cwd=REPO, check=False,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout) if done.returncode == 0 else {"blocked": [], "gpc": []}


def wait_for(read: Any, want: Any, timeout: float = 30.0) -> Any:
    """Poll `read()` until it returns `want` (counts are written every 0.2 s)."""
    deadline = time.monotonic() + timeout
    while True:
        found = read()
        if found == want or time.monotonic() > deadline:
            return found
        time.sleep(0.2)
