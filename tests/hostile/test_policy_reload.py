"""A live server keeps answering while hostile files are written over its policy, and
takes the next good file.

A real uvicorn process serves a wrapped app (`gatekeeper serve`); a client thread asks
for the page without pause while each hostile file replaces the policy and the server
reports (in its log) that it refused it. The worst response time is recorded, not
asserted: that every request was answered, and answered 200, is the test.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.conftest import BASE_POLICY, SECRET
from tests.examples.servers import free_port, running
from tests.hostile.policies import HOSTILE

DEADLINE = 60.0  # for the server to get to a file: a hang guard, not a measurement


def good_policy(path: Path, marker: str) -> None:
    text = BASE_POLICY + (
        "reload_interval: 0.05\n"
        f"audit: {{store: 'sqlite:///{path.parent}/consent.db'}}\n"
        f"notifications: [{{id: note, text: {marker}}}]\n"
    )
    staging = path.with_name("staging.yaml")
    staging.write_text(text, encoding="utf-8")
    staging.replace(path)


@dataclass
class Visitor:
    """Asks for the page again and again until told to stop."""

    base: str
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    worst: float = 0.0
    last_page: str = ""
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=DEADLINE) as client:
            while not self.stop.is_set():
                started = time.monotonic()
                try:
                    response = client.get("/", headers={"Accept": "text/html"})
                except httpx.HTTPError as exc:  # a timeout here is a hang
                    self.failures.append(repr(exc))
                    continue
                self.worst = max(self.worst, time.monotonic() - started)
                self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
                self.last_page = response.text

    @property
    def answered(self) -> int:
        return sum(self.statuses.values())


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"not within {DEADLINE}s: {what}"
        time.sleep(0.02)


def test_the_site_keeps_serving_while_hostile_files_replace_its_policy(
    tmp_path: Path, record_property
) -> None:
    policy = tmp_path / "policy.yaml"
    good_policy(policy, "first-good-policy")
    log = tmp_path / "server.log"
    port = free_port()
    argv = [sys.executable, "-m", "gatekeeper.cli", "serve", "tests.hostile.site:app",
            "--policy", str(policy), "--port", str(port)]  # fmt: skip
    with running(argv, port=port, env={"GATEKEEPER_SECRET": SECRET}, log=log) as base:
        visitor = Visitor(base)
        thread = threading.Thread(target=visitor.run, daemon=True)
        thread.start()
        wait_for(lambda: "first-good-policy" in visitor.last_page, "the first page")
        for case in HOSTILE:
            before, seen = visitor.answered, log.stat().st_size
            case.write(policy)
            refusal = f"{policy}:{case.line}:".encode()
            # The server says it refused the file, at the line the loader reports...
            wait_for(lambda r=refusal, s=seen: r in log.read_bytes()[s:], f"{case.name} refused")
            # ...and answered requests while it was at it.
            wait_for(lambda b=before: visitor.answered > b + 2, f"answers after {case.name}")
        good_policy(policy, "next-good-policy")
        wait_for(lambda: "next-good-policy" in visitor.last_page, "the next good policy")
        visitor.stop.set()
        thread.join(timeout=DEADLINE)
    record_property("requests_during_hostile_reloads", visitor.answered)
    record_property("worst_response_seconds", round(visitor.worst, 3))
    print(f"\n{visitor.answered} requests, worst {visitor.worst * 1000:.0f} ms")
    assert visitor.failures == []
    assert set(visitor.statuses) == {200}, visitor.statuses
