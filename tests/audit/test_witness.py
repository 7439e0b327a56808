"""Signed heads outside the database: the witness (a URL, a directory, a file), retried
with backoff, never on the request path; and what a local witness adds to verify."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from gatekeeper.audit import ConsentLog
from gatekeeper.audit.heads import load_heads
from gatekeeper.audit.periodic import WITNESS_KEY
from gatekeeper.audit.record import iso
from gatekeeper.policy import load_policy
from tests.audit.conftest import Clock, event
from tests.audit.rawsql import SQLiteDatabase

URL = "https://witness.example/heads"


@pytest.fixture(params=["sqlite", "postgres"])
def store(request) -> str:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        return "sqlite:///consent.db"
    return request.getfixturevalue("pg_url")


def open_log(path: Path) -> ConsentLog:
    log = ConsentLog.from_policy(load_policy(path), autostart=False)
    log.clock = Clock()
    return log


async def test_each_new_head_is_posted_to_the_witness(audit_policy, store, httpx_mock):
    log = open_log(audit_policy(store=store, extra=f"  witness: {URL}\n"))
    try:
        for i in range(3):
            await log.append(event(i))
        httpx_mock.add_response(url=URL, method="POST", status_code=201)
        signed = await log.checkpoint()
        assert signed is not None and signed.size == 3
        [request] = httpx_mock.get_requests()
        assert request.headers["content-type"] == "application/json"
        body = json.loads(request.content)
        assert body == signed.head() and body["format"] == "gatekeeper-signed-head"
        public = log.public_key()
        assert public is not None and public.verify(signed)
        assert json.loads(await log.store.meta(WITNESS_KEY))["size"] == 3
        assert await log.publish() is None  # it has this head: nothing is sent again
        assert len(httpx_mock.get_requests()) == 1
    finally:
        await log.close()


async def test_a_failing_witness_is_retried_with_backoff(audit_policy, httpx_mock):
    log = open_log(audit_policy(extra=f"  witness: {URL}\n  checkpoint_interval: 60\n"))
    try:
        await log.append(event(0))
        log.periodic.base_delay = 0.0  # retry at the next wake-up
        httpx_mock.add_response(url=URL, method="POST", status_code=503)
        httpx_mock.add_response(url=URL, method="POST", status_code=200)
        log.clock.now += timedelta(minutes=2)  # a checkpoint is due
        await log.periodic.step()  # signs, and the witness answers 503
        assert (await log.signed_head()).size == 1
        state = json.loads(await log.store.meta(WITNESS_KEY))
        assert state == {"size": 0, "claimed_until": None}  # released for the retry
        await log.periodic.step()  # nothing new to sign; the head goes out this time
        first, second = httpx_mock.get_requests()
        assert first.content == second.content
        assert json.loads(await log.store.meta(WITNESS_KEY))["size"] == 1
    finally:
        await log.close()


async def test_appends_never_wait_for_the_witness(audit_policy, httpx_mock):
    """A checkpoint by count is made inside an append; the head goes to the witness later,
    from the periodic work. No response is registered: a request would fail the test."""
    log = ConsentLog.from_policy(load_policy(audit_policy(every=2, extra=f"  witness: {URL}\n")))
    try:
        for i in range(4):
            await log.append(event(i))
        assert [c.size for c in await log.store.checkpoints()] == [2, 4]
        assert httpx_mock.get_requests() == []
        httpx_mock.add_response(url=URL, method="POST", status_code=200)
        assert (await log.publish()).size == 4  # the newest only: it vouches for the rest
    finally:
        await log.close()


async def test_a_claim_left_by_a_killed_process_expires(audit_policy, store, httpx_mock):
    log = open_log(audit_policy(store=store, extra=f"  witness: {URL}\n"))
    try:
        await log.append(event(0))
        await log.periodic.checkpoint(force=True)
        # A process claimed the publication, then died before it finished.
        until = log.clock.now + timedelta(seconds=60)
        claim = json.dumps({"claimed_until": iso(until), "size": 0})
        assert await log.store.swap_meta(WITNESS_KEY, None, claim)
        assert await log.publish() is None  # someone else is on it
        log.clock.now += timedelta(seconds=61)
        httpx_mock.add_response(url=URL, method="POST", status_code=200)
        assert (await log.publish()).size == 1
    finally:
        await log.close()


async def test_a_directory_witness_keeps_every_head_and_verify_reads_it(audit_policy, tmp_path):
    path = audit_policy(extra="  witness: heads/\n")
    log = open_log(path)
    try:
        for i in range(25):
            await log.append(event(i))
            if i in (4, 14):
                await log.checkpoint()
        await log.checkpoint()
        names = sorted(p.name for p in (tmp_path / "heads").iterdir())
        assert names == [f"{log.store.log_id}-{n:012d}.json" for n in (5, 15, 25)]
        report = await log.verify()
        assert report.ok and any("3 heads read back from audit.witness" in n for n in report.notes)
        assert [(h.size, h.consistent) for h in report.heads] == [(5, True), (15, True), (25, True)]
    finally:
        await log.close()
    # Cut the log back to a checkpoint: alone it would verify; the witness remembers.
    db = SQLiteDatabase(tmp_path / "consent.db")
    try:
        await db.forge((await db.all_records())[:20])
        await db.execute("DELETE FROM checkpoints WHERE size > 20")
    finally:
        await db.close()
    log = open_log(path)
    try:
        report = await log.verify()
        # And no new process signs over it: the witness is what it has seen.
        await log.append(event(30))
        assert await log.periodic.checkpoint(force=True) is None
    finally:
        await log.close()
    assert not report.ok
    assert any("5 fewer than the 25 the head signed" in str(f) for f in report.findings)


async def test_a_file_witness_gets_one_head_a_line(audit_policy, tmp_path):
    log = open_log(audit_policy(extra="  witness: heads.jsonl\n"))
    try:
        await log.append(event(0))
        await log.checkpoint()
        await log.append(event(1))
        await log.checkpoint()
    finally:
        await log.close()
    heads = load_heads(tmp_path / "heads.jsonl")
    assert [h.size for h in heads] == [1, 2]
    assert all(h.signature for h in heads)


async def test_the_witness_is_reached_through_httpx(audit_policy, httpx_mock):
    """A network error is a failure to retry, not a crash of the periodic work."""
    log = open_log(audit_policy(extra=f"  witness: {URL}\n"))
    try:
        await log.append(event(0))
        httpx_mock.add_exception(httpx.ConnectError("refused"), url=URL)
        await log.checkpoint()  # logs the failure; the checkpoint stands
        assert (await log.signed_head()).size == 1
        assert json.loads(await log.store.meta(WITNESS_KEY))["size"] == 0
    finally:
        await log.close()
