"""The SQLite store: durable appends with group commit, retries, checkpoints, texts."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from gatekeeper.audit import ConsentLog, LogUnavailable, Query, texts_hash
from gatekeeper.audit.store_sqlite import SQLiteStore, _Writer
from gatekeeper.policy import load_policy
from tests.audit.conftest import Clock, event


async def test_append_is_durable_and_reads_back(policy, tmp_path):
    first = ConsentLog.from_policy(policy)
    event_id = await first.append(event(3, ip="203.0.113.99"))
    await first.close()

    # A new log on the same file, as after a restart.
    second = ConsentLog.from_policy(policy)
    try:
        history = await second.history("visitor-3")
        assert [r["event_id"] for r in history] == [event_id]
        record = history[0]
        assert record["ip"] == "203.0.113.0/24"
        assert record["seq"] == 0 and record["event"] == "given"
        assert record["categories"] == {"necessary": True, "analytics": False, "ads": True}
        # The database file has no trace of the raw address.
        assert b"203.0.113.99" not in (tmp_path / "consent.db").read_bytes()
    finally:
        await second.close()
    conn = sqlite3.connect(tmp_path / "consent.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == 4


async def test_concurrent_appends_share_commits(log, monkeypatch):
    batches: list[int] = []
    original = _Writer._append

    def counting(self, jobs):
        batches.append(len(jobs))
        return original(self, jobs)

    monkeypatch.setattr(_Writer, "_append", counting)
    ids = await asyncio.gather(*(log.append(event(i)) for i in range(400)))
    assert len(set(ids)) == 400
    assert sum(batches) == 400
    assert max(batches) > 1  # appends waiting on one commit went into the next together
    head = await log.head()
    assert head.size == 400
    seqs = [r.seq for r in await log.records(limit=1000)]
    assert seqs == list(range(400))
    report = await log.verify()
    assert report.ok, report.lines()
    assert report.checkpoints == 40 and report.signed == 40 and report.covered == 400


async def test_a_retried_event_id_is_stored_once(log):
    first = await log.append(event(1, event_id="e-1", event="given"))
    again = await log.append(event(1, event_id="e-1", event="withdrawn"))
    # Both copies in one batch, too.
    await asyncio.gather(log.append(event(2, event_id="e-2")), log.append(event(2, event_id="e-2")))
    assert first == again == "e-1"
    records = await log.records()
    assert [r.event_id for r in records] == ["e-1", "e-2"]
    assert records[0].event == "given"  # the first write stands


async def test_two_writers_on_one_file_keep_one_chain(policy):
    # Two logs, two writer threads, two connections: as two worker processes would.
    one, two = ConsentLog.from_policy(policy), ConsentLog.from_policy(policy)
    try:
        await asyncio.gather(
            *(one.append(event(i)) for i in range(150)),
            *(two.append(event(i)) for i in range(150, 300)),
        )
        assert (await one.head()).size == 300
        report = await two.verify()
        assert report.ok, report.lines()
    finally:
        await one.close()
        await two.close()


async def test_checkpoints_are_signed_every_n_records(log):
    for i in range(25):
        await log.append(event(i))
    checkpoints = await log.store.checkpoints()
    assert [c.size for c in checkpoints] == [10, 20]
    key = log.public_key()
    assert key is not None and all(key.verify(c) for c in checkpoints)
    report = await log.verify()
    assert report.ok and report.covered == 20
    assert any("last 5 records" in note for note in report.notes)


async def test_unsigned_log_verifies_and_says_so(audit_policy):
    log = ConsentLog.from_policy(load_policy(audit_policy(signed=False, every=5)))
    try:
        for i in range(12):
            await log.append(event(i))
        report = await log.verify()
        assert report.ok
        assert any("not signed" in note for note in report.notes)
        assert all(c.signature is None for c in await log.store.checkpoints())
    finally:
        await log.close()


async def test_archive_texts_is_idempotent(log):
    texts = {"title": "Your privacy", "text": "We use cookies.", "accept": "Accept all"}
    digest = await log.archive_texts("r1", "en", texts)
    assert digest == texts_hash(texts)
    assert await log.archive_texts("r1", "en", dict(texts)) == digest
    assert await log.archive_texts("r2", "en", texts) == digest  # same words, new revision
    german = await log.archive_texts("r1", "de", {"title": "Ihre Privatsphäre"})
    found = await log.texts(digest)
    assert found is not None and found.texts == texts
    assert [(r, lang) for r, lang, _ in found.shown] == [("r1", "en"), ("r2", "en")]
    assert (await log.texts(german)).texts == {"title": "Ihre Privatsphäre"}
    assert await log.texts("f" * 64) is None


async def test_store_down_raises_log_unavailable(audit_policy, tmp_path):
    policy = load_policy(audit_policy(store=f"sqlite:///{tmp_path}/missing-dir/consent.db"))
    log = ConsentLog.from_policy(policy)  # no I/O yet, so no error yet
    try:
        with pytest.raises(LogUnavailable):
            await log.append(event(1))
        # The store is retried on the next append, not given up on.
        (tmp_path / "missing-dir").mkdir()
        assert await log.append(event(2))
    finally:
        await log.close()


async def test_unreadable_signing_key_refuses_to_record(audit_policy, key_file):
    key_file.unlink()
    log = ConsentLog.from_policy(load_policy(audit_policy(every=1)))
    try:
        with pytest.raises(LogUnavailable, match="signing_key"):
            await log.append(event(1))
    finally:
        await log.close()


def test_from_policy_is_lazy_and_works_in_any_loop(policy, tmp_path):
    log = ConsentLog.from_policy(policy)  # outside any event loop
    assert not (tmp_path / "consent.db").exists()

    async def use() -> str:
        return await log.append(event(1))

    asyncio.run(use())
    asyncio.run(use())  # a second loop, as a test runner or a reload might bring
    asyncio.run(log.close())
    assert (tmp_path / "consent.db").exists()


async def test_after_close_appends_fail(log):
    await log.append(event(1))
    await log.close()
    with pytest.raises(LogUnavailable):
        await log.append(event(2))


async def test_cli_stores_never_create_a_log(policy, tmp_path):
    log = ConsentLog.from_policy(policy, create=False)
    try:
        with pytest.raises(LogUnavailable, match="no consent log"):
            await log.head()
    finally:
        await log.close()
    assert not (tmp_path / "consent.db").exists()


async def test_filters_and_paging(log):
    clock: Clock = log.clock  # type: ignore[assignment]
    base = clock.now
    for i in range(30):
        clock.now = base.replace(day=1 + i % 3)
        await log.append(event(i, country=("DE", "FR", "US")[i % 3]))
    page = await log.records(Query(country="fr"), limit=4)
    assert [r.seq for r in page] == [1, 4, 7, 10]
    page = await log.records(Query(country="FR"), after=page[-1].seq, limit=100)
    assert [r.seq for r in page] == [13, 16, 19, 22, 25, 28]
    since = await log.records(
        Query(since="2026-11-02T00:00:00.000000Z", until="2026-11-03T00:00:00.000000Z"), limit=100
    )
    assert {r.time[:10] for r in since} == {"2026-11-02"}
    assert await log.store.seq_range(Query(consent_id="visitor-2")) == (2, 27, 6)


async def test_stats_count_choices_by_day_and_mode(log):
    clock: Clock = log.clock  # type: ignore[assignment]
    day1, day2 = clock.now, clock.now.replace(day=28)
    everything = {"necessary": True, "analytics": True, "ads": True}
    nothing = {"necessary": True, "analytics": False, "ads": False}
    some = {"necessary": True, "analytics": True, "ads": False}
    for when, kind, categories, mode in [
        (day1, "given", everything, "opt_in"),
        (day1, "given", everything, "opt_in"),
        (day1, "refused", nothing, "opt_in"),
        (day1, "updated", some, "opt_out"),
        (day2, "withdrawn", nothing, "opt_in"),
        (day2, "gpc", nothing, "opt_out"),
    ]:
        clock.now = when
        await log.append(event(0, event=kind, categories=categories, mode=mode))
    summary = await log.stats()
    opt_in_day1 = summary.by_day[("2026-11-27", "opt_in")]
    assert (opt_in_day1.decisions, opt_in_day1.accept_all, opt_in_day1.reject_all) == (3, 2, 1)
    assert opt_in_day1.acceptance == pytest.approx(2 / 3)
    assert opt_in_day1.rates() == {"ads": pytest.approx(2 / 3), "analytics": pytest.approx(2 / 3)}
    assert summary.by_day[("2026-11-27", "opt_out")].partial == 1
    assert summary.by_day[("2026-11-28", "opt_in")].withdrawn == 1
    assert summary.by_day[("2026-11-28", "opt_out")].gpc == 1
    assert summary.total.decisions == 5
    text = "\n".join(summary.lines())
    assert "2026-11-27  opt_in" in text and "66.7%" in text


async def test_the_store_refuses_a_newer_schema(log, tmp_path):
    await log.append(event(1))
    await log.close()
    conn = sqlite3.connect(tmp_path / "consent.db")
    conn.execute("INSERT INTO schema_version VALUES (99, 'from the future', 'x')")
    conn.commit()
    conn.close()
    store = SQLiteStore(tmp_path / "consent.db", log.checkpointer)
    try:
        with pytest.raises(LogUnavailable, match="newer than this gatekeeper"):
            await store.head()
    finally:
        await store.close()


async def test_a_hung_store_times_out_as_unavailable(log, monkeypatch):
    async def hang(draft):
        await asyncio.sleep(60)

    monkeypatch.setattr(log.store, "append", hang)
    log.append_timeout = 0.05
    with pytest.raises(LogUnavailable, match="did not commit"):
        await log.append(event(1))
