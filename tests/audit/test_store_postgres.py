"""The PostgreSQL store: instances share one chain, retries deduplicate, outages surface."""

from __future__ import annotations

import asyncio
import io
import threading

import pytest

from gatekeeper.audit import ConsentLog, LogUnavailable, Query
from gatekeeper.audit.export import export
from gatekeeper.audit.offline import verify_export
from gatekeeper.audit.store_postgres import split_url
from gatekeeper.policy import load_policy
from tests.audit.conftest import event


def instance(policy_path) -> ConsentLog:  # type: ignore[no-untyped-def]
    return ConsentLog.from_policy(load_policy(policy_path))


def test_two_instances_append_concurrently_to_one_chain(audit_policy, pg_url):
    path = audit_policy(store=pg_url)
    results: dict[str, list[str]] = {}
    errors: list[BaseException] = []

    def app_instance(name: str, start: int) -> None:
        # Each with its own thread, event loop and connections, as two processes would.
        async def run() -> None:
            log = instance(path)
            try:
                results[name] = list(
                    await asyncio.gather(*(log.append(event(i)) for i in range(start, start + 150)))
                )
                for i in range(start, start + 50):  # and one at a time, interleaving
                    results[name].append(await log.append(event(i)))
            finally:
                await log.close()

        try:
            asyncio.run(run())
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=app_instance, args=("a", 0)),
        threading.Thread(target=app_instance, args=("b", 1000)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert len(set(results["a"]) | set(results["b"])) == 400

    async def check() -> None:
        log = instance(path)
        try:
            records = await log.records(limit=1000)
            assert [r.seq for r in records] == list(range(400))
            assert {r.event_id for r in records} == set(results["a"]) | set(results["b"])
            report = await log.verify()
            assert report.ok, report.lines()
            # One every 10 records (verify asks for each), and perhaps the one the first
            # instance to close signed over what it saw then.
            assert report.signed == report.checkpoints >= 40
        finally:
            await log.close()

    asyncio.run(check())


async def test_a_retry_on_another_instance_is_a_no_op(audit_policy, pg_url):
    path = audit_policy(store=pg_url)
    one, two = instance(path), instance(path)
    try:
        await one.append(event(1, event_id="retry-1", event="given"))
        results = await asyncio.gather(
            two.append(event(1, event_id="retry-1", event="withdrawn")),
            one.append(event(1, event_id="retry-1", event="withdrawn")),
            two.append(event(2, event_id="retry-2")),
            one.append(event(2, event_id="retry-2")),
        )
        assert results == ["retry-1", "retry-1", "retry-2", "retry-2"]
        records = await two.records()
        assert [r.event_id for r in records] == ["retry-1", "retry-2"]
        assert records[0].event == "given"  # the first write stands
        assert (await one.verify()).ok
    finally:
        await one.close()
        await two.close()


async def test_reads_texts_stats_and_offline_export(audit_policy, pg_url):
    log = instance(audit_policy(store=pg_url))
    try:
        digest = await log.archive_texts("r1", "en", {"title": "Your privacy"})
        assert await log.archive_texts("r1", "en", {"title": "Your privacy"}) == digest
        for i in range(23):
            await log.append(event(i, texts_hash=digest, country="FR" if i == 15 else "DE"))
        assert [r["seq"] for r in await log.history("visitor-4")] == [4, 9, 14, 19]
        assert (await log.texts(digest)).texts == {"title": "Your privacy"}
        assert (await log.stats()).total.decisions == 23
        out = io.StringIO()
        assert await export(log.store, out, "jsonl", Query(country="FR")) == 1
        report = verify_export(out.getvalue().splitlines(), log.public_key(), "pg.jsonl")
        assert report.ok, report.lines()
        assert report.records == 1 and report.leaves_only == 9  # from checkpoint 10 to 20
    finally:
        await log.close()


async def test_store_down_raises_log_unavailable(audit_policy):
    # Nothing listens on port 1.
    path = audit_policy(store="postgresql://postgres@127.0.0.1:1/test")
    log = instance(path)
    try:
        with pytest.raises(LogUnavailable, match=r"127\.0\.0\.1:1"):
            await log.append(event(1))
        with pytest.raises(LogUnavailable):
            await log.head()
    finally:
        await log.close()


def test_urls():
    assert split_url("postgresql://u:p@h:5432/db?schema=gk_x&sslmode=disable") == (
        "postgresql://u:p@h:5432/db?sslmode=disable",
        "gk_x",
    )
    assert split_url("postgresql://h/db")[1] == "public"
    with pytest.raises(ValueError, match="schema"):
        split_url("postgresql://h/db?schema=Robert'); DROP TABLE")
