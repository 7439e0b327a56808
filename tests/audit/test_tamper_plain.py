"""Plain tampering is caught, on SQLite and PostgreSQL; a purge is not tampering.

The attacker here edits rows with SQL and tidies up a little (the head, a hash); the
one who recomputes everything and deletes checkpoints is in test_tamper.py.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import pytest

from gatekeeper.audit import ConsentLog
from gatekeeper.audit.chain import leaf_hash, node_hash
from gatekeeper.policy import load_policy
from tests.audit.conftest import PG_DSN, event
from tests.audit.rawsql import Database, PostgresDatabase, SQLiteDatabase

Tamper = Callable[["Database"], Awaitable[None]]


# --- the attacks ------------------------------------------------------------------------


async def modify_choice(db: Database) -> None:
    everything = json.dumps({"ads": True, "analytics": True, "necessary": True})
    await db.execute("UPDATE records SET categories = $1 WHERE seq = 13", everything)


async def modify_country(db: Database) -> None:
    await db.execute("UPDATE records SET country = 'FR' WHERE seq = 4")


async def delete_one(db: Database) -> None:
    await db.execute("DELETE FROM records WHERE seq = 7")


async def insert_one(db: Database) -> None:
    # Make room at 5 and insert a record whose own hashes are right.
    await db.execute("UPDATE records SET seq = -seq - 1 WHERE seq >= 5")
    await db.execute("UPDATE records SET seq = -seq WHERE seq < 0")
    before = await db.record(4)
    forged = replace(before, seq=5, event_id="forged", event="given")
    leaf = leaf_hash(forged.body())
    chain = node_hash(bytes.fromhex(before.chain), leaf)
    await db.insert(replace(forged, leaf=leaf.hex(), chain=chain.hex()))
    await db.execute("UPDATE head SET size = size + 1")


async def swap_two(db: Database) -> None:
    await db.set_seq(3, -100)
    await db.set_seq(8, 3)
    await db.set_seq(-100, 8)


async def replace_signature(db: Database) -> None:
    # A genuine signature, but over another checkpoint.
    rows = await db.fetch("SELECT signature FROM checkpoints WHERE size = 20")
    await db.execute("UPDATE checkpoints SET signature = $1 WHERE size = 10", rows[0][0])


async def truncate_after_checkpoint(db: Database) -> None:
    # Remove records a checkpoint covers, and tidy the head to match.
    last = await db.record(14)
    await db.execute("DELETE FROM records WHERE seq >= 15")
    await db.execute("UPDATE head SET size = 15, chain = $1", last.chain)


async def truncate_tail(db: Database) -> None:
    await db.execute("DELETE FROM records WHERE seq >= 22")


async def rewrite_with_recomputed_hashes(db: Database) -> None:
    # Edit record 3 and recompute every hash after it: only the signatures can tell.
    previous = bytes.fromhex((await db.record(2)).chain)
    for seq in range(3, 25):
        record = await db.record(seq)
        if seq == 3:
            record = replace(record, categories={"ads": True, "analytics": True})
        leaf = leaf_hash(record.body())
        previous = node_hash(previous, leaf)
        await db.execute(
            "UPDATE records SET categories = $1, leaf = $2, chain = $3 WHERE seq = $4",
            json.dumps(record.categories),
            leaf.hex(),
            previous.hex(),
            seq,
        )
    await db.execute("UPDATE head SET chain = $1", previous.hex())


async def append_behind_the_head(db: Database) -> None:
    # A record added at the end with its own hashes right, the head left alone.
    last = await db.record(24)
    forged = replace(last, seq=25, event_id="forged", event="given")
    leaf = leaf_hash(forged.body())
    chain = node_hash(bytes.fromhex(last.chain), leaf)
    await db.insert(replace(forged, leaf=leaf.hex(), chain=chain.hex()))


async def modify_archived_texts(db: Database) -> None:
    await db.execute("""UPDATE texts SET texts = '{"title":"Something else"}'""")


ATTACKS: list[tuple[Tamper, int | None, str]] = [
    (modify_choice, 13, "does not match its hash"),
    (modify_country, 4, "country"),
    (delete_one, 7, "missing"),
    (insert_one, 5, "records 5..5 were inserted"),
    (swap_two, 3, "this record was at 8"),
    (replace_signature, None, "bad signature"),
    (truncate_after_checkpoint, 15, "were deleted"),
    (truncate_tail, 22, "head says 25"),
    (rewrite_with_recomputed_hashes, None, "differ from what it signed"),
    (append_behind_the_head, 25, "records were added after the last one"),
    (modify_archived_texts, None, "archived texts"),
]
IDS = [attack.__name__ for attack, _, _ in ATTACKS]


async def fill(policy_path: Path) -> None:
    log = ConsentLog.from_policy(load_policy(policy_path))
    try:
        digest = await log.archive_texts("r1", "en", {"title": "Your privacy"})
        for i in range(25):
            await log.append(event(i, texts_hash=digest))
        assert (await log.verify()).ok
    finally:
        await log.close()


async def verify(policy_path: Path):  # type: ignore[no-untyped-def]
    log = ConsentLog.from_policy(load_policy(policy_path), create=False)
    try:
        return await log.verify()
    finally:
        await log.close()


async def check(
    policy_path: Path,
    connect: Callable[[], Awaitable[Database]],
    attack: Tamper,
    first: int | None,
    text: str,
) -> None:
    await fill(policy_path)
    db = await connect()
    try:
        await attack(db)
    finally:
        await db.close()
    report = await verify(policy_path)
    assert not report.ok, report.lines()
    bad = report.first_bad
    assert (bad.seq if bad else None) == first, report.lines()
    assert any(text in str(f) for f in report.findings), report.lines()


@pytest.mark.parametrize(("attack", "first", "text"), ATTACKS, ids=IDS)
async def test_tampering_sqlite(audit_policy, tmp_path, attack, first, text):
    async def connect() -> Database:
        return SQLiteDatabase(tmp_path / "consent.db")

    await check(audit_policy(), connect, attack, first, text)


@pytest.mark.parametrize(("attack", "first", "text"), ATTACKS, ids=IDS)
async def test_tampering_postgres(audit_policy, pg_url, attack, first, text):
    import asyncpg

    schema = pg_url.rsplit("schema=", 1)[1]

    async def connect() -> Database:
        conn = await asyncpg.connect(PG_DSN, server_settings={"search_path": schema})
        return PostgresDatabase(conn)

    await check(audit_policy(store=pg_url), connect, attack, first, text)


async def purge_then_verify(policy_path: Path) -> None:
    log = ConsentLog.from_policy(load_policy(policy_path))
    try:
        for i in range(25):
            await log.append(event(i))
        assert await log.purge(older_than_days=0) == 25
        assert await log.purge(older_than_days=0) == 0  # already erased
        report = await log.verify()
        assert report.ok, report.lines()
        assert report.purged == 25
        records = await log.records(limit=100)
        assert all(
            r.consent_id is r.ip is r.user_agent is r.path is r.country is None for r in records
        )
        assert all(r.salt is None for r in records)
        assert await log.history("visitor-1") == []
        # What proves the decision stays.
        assert records[0].event == "given" and records[0].categories["necessary"] is True
    finally:
        await log.close()


async def test_purge_keeps_verification_passing_sqlite(audit_policy, tmp_path):
    await purge_then_verify(audit_policy())
    # Erased values are not left readable in the file either.
    assert b"Mozilla/5.0 (test)" not in (tmp_path / "consent.db").read_bytes()


async def test_purge_keeps_verification_passing_postgres(audit_policy, pg_url):
    await purge_then_verify(audit_policy(store=pg_url))


async def test_purge_respects_the_retention_period(log):
    clock = log.clock
    now = clock.now
    from datetime import timedelta

    clock.now = now - timedelta(days=400)
    for i in range(5):
        await log.append(event(i))
    await log.checkpoint()  # what the periodic task did back then
    clock.now = now
    for i in range(5, 8):
        await log.append(event(i))
    assert await log.purge() == 5  # retention_days: 395 by default
    records = await log.records()
    assert [r.purged for r in records] == [True] * 5 + [False] * 3
    assert (await log.verify()).ok


async def test_personal_fields_added_after_a_purge_are_caught(log, tmp_path):
    for i in range(3):
        await log.append(event(i))
    await log.purge(older_than_days=0)
    await log.close()
    conn = sqlite3.connect(tmp_path / "consent.db")
    conn.execute("UPDATE records SET ip = '198.51.100.0/24' WHERE seq = 1")
    conn.commit()
    conn.close()
    report = await verify(tmp_path / "policy.yaml")
    assert not report.ok and report.first_bad is not None and report.first_bad.seq == 1
