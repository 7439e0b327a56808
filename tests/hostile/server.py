"""The attacked site in a real uvicorn process, and a raw socket to talk to it.

httpx will not send some bytes (non-Latin-1 header values, bare CR or LF, a body
trickled a byte at a time, a connection dropped mid-body); `exchange` writes exactly the
bytes given, paced if asked, and reads what the server answers. The server's log is kept
so tests can check that nothing reached it as an exception.
"""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.examples.servers import free_port, running
from tests.hostile.target import HANG_SECONDS, policy_text

TRACEBACK_MARKS = (b"Traceback", b"Exception in ASGI application", b"Internal Server Error")


@dataclass
class Server:
    port: int
    folder: Path
    log: Path

    def records(self) -> int:
        """Records in the consent log (the server's SQLite file)."""
        database = self.folder / "consent.db"
        if not database.exists():
            return 0
        with contextlib.closing(sqlite3.connect(database, timeout=HANG_SECONDS)) as db:
            try:
                return db.execute("SELECT count(*) FROM records").fetchone()[0]
            except sqlite3.OperationalError:  # not created yet
                return 0

    def log_since(self, offset: int) -> bytes:
        return self.log.read_bytes()[offset:]

    def log_size(self) -> int:
        return self.log.stat().st_size


@contextlib.contextmanager
def serve(
    folder: Path,
    *,
    http: str = "auto",
    ws: str = "auto",
    server: str = "uvicorn",
    app: str = "tests.hostile.live:app",
) -> Iterator[Server]:
    """uvicorn (or hypercorn) running `app` (tests/hostile/live.py) on a free port, with
    the hostile policy; `http` and `ws` choose uvicorn's protocol implementations."""
    folder.mkdir(parents=True, exist_ok=True)
    policy = folder / "policy.yaml"
    policy.write_text(policy_text(folder / "consent.db"), encoding="utf-8")
    port = free_port()
    log = folder / "server.log"
    if server == "hypercorn":
        argv = [sys.executable, "-m", "hypercorn", app, "--bind", f"127.0.0.1:{port}"]
    else:
        argv = [sys.executable, "-m", "uvicorn", app, "--port", str(port),
                "--http", http, "--ws", ws, "--no-proxy-headers"]  # fmt: skip
    with running(argv, port=port, env={"GATEKEEPER_HOSTILE_POLICY": str(policy)}, log=log):
        yield Server(port, folder, log)


@dataclass
class Answer:
    status: int | None  # None: the server closed without answering
    head: bytes
    body: bytes

    def headers(self, name: bytes) -> list[bytes]:
        found = []
        for line in self.head.split(b"\r\n")[1:]:
            key, _, value = line.partition(b":")
            if key.strip().lower() == name:
                found.append(value.strip())
        return found


def exchange(
    port: int, data: bytes | list[bytes], *, pause: float = 0.0, then_close: bool = False
) -> Answer:
    """Send `data` (pieces with `pause` seconds between them) and read the answer until the
    server closes the connection or the answer's Content-Length is in. `then_close`: hang
    up after sending, without reading (a client that goes away)."""
    pieces = data if isinstance(data, list) else [data]
    with socket.create_connection(("127.0.0.1", port), timeout=HANG_SECONDS) as sock:
        for index, piece in enumerate(pieces):
            if index and pause:
                time.sleep(pause)
            try:
                sock.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                break  # the server answered early (413) and closed: read what it said
        if then_close:
            return Answer(None, b"", b"")
        received = b""
        try:
            while True:
                chunk = sock.recv(65536)  # a hang shows as socket.timeout here
                if not chunk:
                    break
                received += chunk
                head, sep, body = received.partition(b"\r\n\r\n")
                if sep:
                    answer = _answer(head, body)
                    length = answer.headers(b"content-length")
                    if length and len(body) >= int(length[0]):
                        return answer
        except ConnectionResetError:
            pass
    head, _, body = received.partition(b"\r\n\r\n")
    return _answer(head, body) if head else Answer(None, b"", b"")


def _answer(head: bytes, body: bytes) -> Answer:
    status_line = head.split(b"\r\n", 1)[0].split()
    status = int(status_line[1]) if len(status_line) > 1 and status_line[1].isdigit() else None
    return Answer(status, head, body)


def request(
    method: bytes,
    target: bytes,
    headers: list[bytes],
    body: bytes = b"",
    *,
    host: bytes = b"www.example.com",
) -> bytes:
    """An HTTP/1.1 request exactly as given (header lines without their CRLF), closing."""
    lines = [method + b" " + target + b" HTTP/1.1", b"Host: " + host, *headers]
    if body:
        lines.append(b"Content-Length: %d" % len(body))
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n" + body
