"""Checkpoints on time: every record is signed within the interval, once per deployment,
by whichever process is alive. Real processes on one SQLite file or one PostgreSQL
database; short intervals, and waits that poll for a result rather than sleep."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gatekeeper.audit import ConsentLog
from gatekeeper.audit.checkpoint import Checkpoint
from gatekeeper.policy import load_policy
from tests.audit.conftest import event
from tests.conftest import REPO

WORKER = Path(__file__).with_name("checkpoint_worker.py")
INTERVAL = 0.3
NO_COUNT = 1_000_000  # no checkpoints by count here: every one below is a time checkpoint
SETTINGS = f"  checkpoint_interval: {INTERVAL}\n"


@pytest.fixture(params=["sqlite", "postgres"])
def policy_path(request, audit_policy) -> Path:  # type: ignore[no-untyped-def]
    store = (
        "sqlite:///consent.db" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    )
    return audit_policy(store=store, every=NO_COUNT, extra=SETTINGS)


async def until(check: Callable[[], object], what: str, timeout: float = 60.0) -> object:
    """Poll until `check()` (sync or async) is truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if asyncio.iscoroutine(found):
            found = await found
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"gave up waiting: {what}")


async def checkpoints(policy_path: Path) -> list[Checkpoint]:
    log = ConsentLog.from_policy(load_policy(policy_path), autostart=False)
    try:
        return await log.store.checkpoints()
    finally:
        await log.close()


async def test_one_consent_is_signed_within_the_interval(policy_path):
    log = ConsentLog.from_policy(load_policy(policy_path))
    try:
        await log.append(event(0))
        head = await until(log.signed_head, "a signed head over the one record")
        assert head.size == 1 and head.signature is not None
        report = await log.verify()
        assert report.ok and report.covered == 1, report.lines()
    finally:
        await log.close()


@pytest.fixture
def workers(policy_path) -> Iterator[Callable[[str], subprocess.Popen[str]]]:  # type: ignore[no-untyped-def]
    started: list[subprocess.Popen[str]] = []
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    def start(name: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, str(WORKER), str(policy_path), name],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        started.append(process)
        line = process.stdout.readline() if process.stdout else ""
        assert line.strip() == "ready", line + (process.stdout.read() if process.stdout else "")
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def _time(checkpoint: Checkpoint) -> datetime:
    return datetime.fromisoformat(checkpoint.time.replace("Z", "+00:00"))


async def test_two_processes_sign_one_checkpoint_per_interval(policy_path, workers):
    workers("a")
    workers("b")
    found = await until(
        lambda: _enough(policy_path, 6), "six time checkpoints from two appending processes"
    )
    gaps = [(_time(b) - _time(a)).total_seconds() for a, b in itertools.pairwise(found)]
    # Each process wakes five times an interval; signing on its own, the two would often
    # sign moments apart. Deciding in the database, no two are closer than the interval.
    assert min(gaps) >= INTERVAL, gaps


async def _enough(policy_path: Path, count: int) -> list[Checkpoint] | None:
    found = await checkpoints(policy_path)
    return found if len(found) >= count else None


async def test_a_killed_process_does_not_stop_checkpointing(policy_path, workers):
    a = workers("a")
    workers("b")
    await until(lambda: _enough(policy_path, 1), "a first checkpoint")
    a.send_signal(signal.SIGKILL)
    a.wait(timeout=30)
    # A record from a process that does no periodic work (the CLI, say): only b can sign it.
    log = ConsentLog.from_policy(load_policy(policy_path), autostart=False)
    try:
        await log.append(event(99, event_id="after-the-kill"))
        size = (await log.head()).size

        async def covered() -> bool:
            newest = await log.signed_head()
            return newest is not None and newest.size >= size

        await until(covered, "a checkpoint over the record appended after a was killed")
        report = await log.verify()
    finally:
        await log.close()
    assert report.ok, report.lines()


async def test_of_two_processes_waking_together_one_signs(policy_path):
    """Both find a checkpoint due, both ask at once: the check made again under the
    write lock lets one sign. Two logs on one database stand for two processes."""
    first = ConsentLog.from_policy(load_policy(policy_path), autostart=False)
    second = ConsentLog.from_policy(load_policy(policy_path), autostart=False)
    try:
        for round in range(5):
            await first.append(event(round))
            later = datetime.now(UTC) + timedelta(seconds=INTERVAL * (round + 1) * 2)
            first.clock = second.clock = lambda later=later: later
            signed = await asyncio.gather(
                first.periodic.checkpoint(force=False), second.periodic.checkpoint(force=False)
            )
            assert sum(s is not None for s in signed) == 1, signed
    finally:
        await first.close()
        await second.close()


async def test_start_and_close_are_idempotent_and_close_signs_what_is_left(audit_policy):
    log = ConsentLog.from_policy(load_policy(audit_policy(every=NO_COUNT)))
    await log.start()
    task = log._task
    await log.start()
    assert log._task is task
    await log.append(event(0))
    await log.close()
    await log.close()
    assert task is not None and task.done()
    log = ConsentLog.from_policy(load_policy(audit_policy(every=NO_COUNT)), autostart=False)
    try:
        assert (await log.signed_head()).size == 1  # the shutdown signed it
    finally:
        await log.close()


def test_reading_and_verifying_never_sign(audit_policy, capsys):
    """The CLI opens the log without periodic work: checking must not change the log."""
    from gatekeeper.cli import main as gatekeeper_main

    def main(argv: list[str]) -> int:
        return gatekeeper_main(["audit", *argv])

    path = audit_policy(every=NO_COUNT)

    async def unsigned_tail() -> None:
        log = ConsentLog.from_policy(load_policy(path), autostart=False)
        try:
            await log.append(event(0))
        finally:
            await log.close()

    asyncio.run(unsigned_tail())
    for command in (["verify"], ["stats"], ["head"], ["export", "--format", "csv"]):
        main([*command, "--policy", str(path)])
    assert asyncio.run(checkpoints(path)) == []
    assert "not yet under a checkpoint" in capsys.readouterr().out
