"""The informed attacker: someone who can write to the database and knows how the log
works, but does not hold the signing key.

They edit, delete, insert, reorder or truncate records, then recompute every leaf and
chain value and the head (rawsql.forge), and delete the checkpoints that would show it:
the later ones, all of them, or all of them and the log's declarations too. Every one of
these is caught by `verify` alone, and by `verify --since` with a head an auditor kept
from before, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gatekeeper.audit import ConsentLog
from gatekeeper.audit.checkpoint import Checkpoint
from gatekeeper.audit.record import Record
from gatekeeper.policy import load_policy
from tests.audit.conftest import PG_DSN, event
from tests.audit.rawsql import Database, PostgresDatabase, SQLiteDatabase

Edit = Callable[[list[Record]], tuple[list[Record], int]]


@dataclass
class Target:
    policy: Path
    connect: Callable[[], Awaitable[Database]]


@pytest.fixture(params=["sqlite", "postgres"])
def target(request, audit_policy, tmp_path) -> Target:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":

        async def connect_sqlite() -> Database:
            return SQLiteDatabase(tmp_path / "consent.db")

        return Target(audit_policy(), connect_sqlite)
    url = request.getfixturevalue("pg_url")
    schema = url.rsplit("schema=", 1)[1]

    async def connect_postgres() -> Database:
        import asyncpg

        conn = await asyncpg.connect(PG_DSN, server_settings={"search_path": schema})
        return PostgresDatabase(conn)

    return Target(audit_policy(store=url), connect_postgres)


def open_log(target: Target, *, days_later: float = 0) -> ConsentLog:
    log = ConsentLog.from_policy(load_policy(target.policy), autostart=False)
    if days_later:
        log.clock = lambda: datetime.now(UTC) + timedelta(days=days_later)
    return log


async def fill(target: Target) -> Checkpoint:
    """25 records, checkpoints every 10 and one at close (25); returns the signed head an
    auditor takes (`gatekeeper audit head`)."""
    log = ConsentLog.from_policy(load_policy(target.policy))
    try:
        digest = await log.archive_texts("r1", "en", {"title": "Your privacy"})
        for i in range(25):
            await log.append(event(i, texts_hash=digest))
    finally:
        await log.close()
    log = open_log(target)
    try:
        report = await log.verify()
        assert report.ok and report.covered == 25, report.lines()
        head = await log.signed_head()
        assert head is not None and head.size == 25
        return head
    finally:
        await log.close()


# --- the edits: each returns the new record list and the first position it touched ------


def rewrite(records: list[Record]) -> tuple[list[Record], int]:
    everything = {"necessary": True, "analytics": True, "ads": True}
    records[3] = replace(records[3], event="given", categories=everything)
    return records, 3


def delete(records: list[Record]) -> tuple[list[Record], int]:
    del records[7]
    return records, 7


def insert(records: list[Record]) -> tuple[list[Record], int]:
    records.insert(5, replace(records[4], event_id="forged", event="given"))
    return records, 5


def reorder(records: list[Record]) -> tuple[list[Record], int]:
    records[3], records[8] = records[8], records[3]
    return records, 3


def truncate(records: list[Record]) -> tuple[list[Record], int]:
    return records[:15], 15


EDITS = [rewrite, delete, insert, reorder, truncate]
CHECKPOINTS = ["later", "all", "all and the declarations"]


async def attack(target: Target, edit: Edit, checkpoints: str) -> None:
    db = await target.connect()
    try:
        records, touched = edit(await db.all_records())
        await db.forge(records)
        if checkpoints == "later":
            await db.execute("DELETE FROM checkpoints WHERE size > $1", touched)
        else:
            await db.execute("DELETE FROM checkpoints")
        if checkpoints == "all and the declarations":
            await db.execute("DELETE FROM declarations")
    finally:
        await db.close()


@pytest.mark.parametrize("checkpoints", CHECKPOINTS)
@pytest.mark.parametrize("edit", EDITS, ids=[e.__name__ for e in EDITS])
async def test_informed_tampering_is_caught_by_verify_alone(target, edit, checkpoints):
    await fill(target)
    await attack(target, edit, checkpoints)
    # Every chain link and leaf is right again: only what was signed can tell.
    log = open_log(target, days_later=1)  # the auditor checks the next day
    try:
        report = await log.verify()
    finally:
        await log.close()
    assert not report.ok, report.lines()
    text = "\n".join(report.lines())
    assert "does not match its hash" not in text  # the hashes were all recomputed
    if checkpoints == "all and the declarations":
        assert "no declaration" in text
    elif edit is truncate and checkpoints == "later":
        # 15 records left, the checkpoint at 10 kept: what came after it is old and
        # unsigned, which the declared interval does not allow.
        assert report.first_bad is not None and report.first_bad.seq == 10, text
        assert "not under a checkpoint" in text
    else:
        assert "no checkpoint at size 10" in text or "no checkpoint at size 20" in text, text


@pytest.mark.parametrize("checkpoints", CHECKPOINTS)
@pytest.mark.parametrize("edit", EDITS, ids=[e.__name__ for e in EDITS])
async def test_informed_tampering_is_caught_with_a_kept_head(target, edit, checkpoints):
    head = await fill(target)
    await attack(target, edit, checkpoints)
    log = open_log(target)  # at once: the time rule plays no part here
    try:
        report = await log.verify([head])
    finally:
        await log.close()
    assert not report.ok
    [checked] = report.heads
    assert not checked.consistent, report.lines()
    if edit is truncate:
        assert "15 records today, 10 fewer than the 25 the head signed" in checked.detail
    elif edit is delete:
        assert "24 records today, 1 fewer" in checked.detail
    else:
        assert "are not those it signed" in checked.detail


async def test_a_clean_log_extends_the_head_kept_from_it(target):
    head = await fill(target)
    log = ConsentLog.from_policy(load_policy(target.policy))
    try:
        for i in range(25, 32):
            await log.append(event(i))
    finally:
        await log.close()
    log = open_log(target)
    try:
        report = await log.verify([head])
    finally:
        await log.close()
    assert report.ok, report.lines()
    assert [h.consistent for h in report.heads] == [True] and report.covered == 32


async def test_a_prefix_needs_a_kept_head(target, tmp_path):
    """Cut the log back to an earlier checkpoint and drop what came after: every record
    left is signed, so the log alone cannot know more existed. A kept head does."""
    head = await fill(target)
    db = await target.connect()
    try:
        await db.forge((await db.all_records())[:20])
        await db.execute("DELETE FROM checkpoints WHERE size > 20")
    finally:
        await db.close()
    log = open_log(target, days_later=30)
    try:
        assert (await log.verify()).ok  # the limit of a log that keeps its own proof
        report = await log.verify([head])
    finally:
        await log.close()
    assert not report.ok
    assert "20 records today, 5 fewer than the 25" in report.heads[0].detail


async def test_a_running_process_does_not_sign_over_deleted_checkpoints(target):
    """After the attack the site keeps running: the process that saw checkpoint 25 must
    not sign the forged records now, by count or on time."""
    log = ConsentLog.from_policy(load_policy(target.policy))
    try:
        for i in range(25):
            await log.append(event(i))
        assert (await log.checkpoint()).size == 25
        await attack(target, rewrite, "later")
        for i in range(25, 31):  # crosses 30, where a checkpoint is due by count
            await log.append(event(i))
        assert await log.checkpoint() is None
    finally:
        await log.close()
    log = open_log(target)
    try:
        checkpoints = await log.store.checkpoints()
        report = await log.verify()
    finally:
        await log.close()
    assert [c.size for c in checkpoints] == [] and not report.ok


async def test_the_signer_refuses_a_head_that_does_not_match_the_records(target):
    """Edit only the head row (as a step of an attack): the time checkpoint is built from
    the last signed frontier and the re-hashed records, so it is not signed."""
    log = ConsentLog.from_policy(load_policy(target.policy))
    try:
        for i in range(12):
            await log.append(event(i))
        db = await target.connect()
        try:
            await db.execute("UPDATE head SET chain = $1", "ab" * 32)
        finally:
            await db.close()
        assert await log.checkpoint() is None
        assert [c.size for c in await log.store.checkpoints()] == [10]
    finally:
        await log.close()


async def test_purged_records_still_verify_against_a_kept_head(target):
    head = await fill(target)
    log = open_log(target)
    try:
        assert await log.purge(older_than_days=0) == 25
        report = await log.verify([head])
    finally:
        await log.close()
    assert report.ok and report.purged == 25 and report.heads[0].consistent


async def test_a_checkpoint_removed_from_between_two_others_is_named(target):
    await fill(target)
    db = await target.connect()
    try:
        # A time checkpoint (not a multiple of 10), whose absence the count rule misses.
        row = await db.fetch("SELECT size FROM checkpoints ORDER BY size")
        assert [r[0] for r in row] == [10, 20, 25]
        log = ConsentLog.from_policy(load_policy(target.policy))
        try:
            for i in range(25, 28):
                await log.append(event(i))
        finally:
            await log.close()  # signs 28, which names 25 before it
        await db.execute("DELETE FROM checkpoints WHERE size = 25")
    finally:
        await db.close()
    log = open_log(target)
    try:
        report = await log.verify()
    finally:
        await log.close()
    assert not report.ok
    assert any(
        "follows a checkpoint at size 25, which is missing" in str(f) for f in report.findings
    )


async def test_a_weakened_declaration_is_caught(target):
    await fill(target)
    db = await target.connect()
    try:
        # Try to declare weaker rules (a checkpoint every million records).
        await db.execute("UPDATE declarations SET checkpoint_every = 1000000")
    finally:
        await db.close()
    log = open_log(target)
    try:
        report = await log.verify()
    finally:
        await log.close()
    assert any("declaration for records from 0: bad signature" in str(f) for f in report.findings)
