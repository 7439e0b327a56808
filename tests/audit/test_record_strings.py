"""The TC and GPP strings a record may carry (schema version 4): a log made before them
migrates and still verifies, records with them verify, are covered by their hash, survive
a purge and travel in exports."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

from gatekeeper.audit import ConsentLog, PublicKey, Query
from gatekeeper.audit.export import export
from gatekeeper.audit.offline import verify_export
from gatekeeper.audit.record import Record, body_of
from gatekeeper.policy import load_policy
from tests.audit.conftest import Clock, event
from tests.audit.rawsql import SQLiteDatabase

TC = "CQumbsAQumbsA__AHBENCOFoAPPAAEPAAAYgIzQBYAAgAEABkAlgC8wIzAjNAGAAEAAgADIBLAF5gRmACCQAQF5lAAMAAQRm.IIzQBoAAgAEAAgADIBLAF5gRmAAA"
GPP = "DBABMA~" + TC


def sqlite_path(policy_path: Path) -> Path:
    return Path(load_policy(policy_path).audit.store.removeprefix("sqlite:///"))


def back_to_version_3(path: Path) -> None:
    """The database as gatekeeper left it before migration 4 existed."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("ALTER TABLE records DROP COLUMN tc_string")
    conn.execute("ALTER TABLE records DROP COLUMN gpp_string")
    conn.execute("DELETE FROM schema_version WHERE version = 4")
    conn.close()


async def open_log(policy_path: Path) -> ConsentLog:
    log = ConsentLog.from_policy(load_policy(policy_path))
    log.clock = Clock()
    return log


async def test_an_older_log_migrates_and_its_records_verify_beside_new_ones(audit_policy):
    policy_path = audit_policy()
    log = await open_log(policy_path)
    for i in range(12):
        await log.append(event(i))
    await log.close()
    back_to_version_3(sqlite_path(policy_path))

    log = await open_log(policy_path)
    try:
        await log.append(event(12, tc_string=TC, gpp_string=GPP))
        report = await log.verify()
        assert report.ok, report.lines()
        records = await log.records(limit=100)
        assert [r.tc_string for r in records] == [None] * 12 + [TC]
        assert records[-1].gpp_string == GPP
    finally:
        await log.close()
    conn = sqlite3.connect(sqlite_path(policy_path))
    assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == 4


async def test_the_strings_are_hashed_only_when_present(log):
    await log.append(event(0))
    await log.append(event(1, tc_string=TC, gpp_string=GPP))
    plain, minted = await log.records()
    assert b"tc_string" not in body_of(plain, plain.seq)  # the version 1 body, unchanged
    body = json.loads(body_of(minted, minted.seq))
    assert (body["tc_string"], body["gpp_string"]) == (TC, GPP)


async def test_an_edited_tc_string_fails_verification(log, audit_policy):
    await log.append(event(0, tc_string=TC, gpp_string=GPP))
    await log.append(event(1))
    database = SQLiteDatabase(sqlite_path(audit_policy()))
    await database.execute(
        "UPDATE records SET tc_string = $1 WHERE seq = 0", TC.replace("CQumbs", "CQumbt", 1)
    )
    report = await log.verify()
    assert not report.ok
    assert any("record 0" in line for line in report.lines())


async def test_a_purge_keeps_the_strings(log):
    for i in range(10):  # a signed checkpoint covers them: a purge needs one to verify
        await log.append(event(i, tc_string=TC, gpp_string=GPP))
    log.clock.now = log.clock.now.replace(year=2028)  # type: ignore[attr-defined]
    assert await log.purge(older_than_days=30) == 10
    record = (await log.records())[0]
    assert record.purged and record.consent_id is None
    assert (record.tc_string, record.gpp_string) == (TC, GPP)
    assert (await log.verify()).ok


async def test_exports_carry_the_strings_and_verify_offline(log):
    await log.append(event(0, tc_string=TC, gpp_string=GPP))
    await log.append(event(1))
    out = io.StringIO()
    await export(log.store, out, "jsonl", Query())
    lines = out.getvalue().splitlines()
    exported = [json.loads(line) for line in lines if json.loads(line)["type"] == "record"]
    assert [r["tc_string"] for r in exported] == [TC, None]
    key = PublicKey.from_pem(log.public_key().pem().encode())
    report = verify_export(lines, key, "export.jsonl")
    assert report.ok, report.lines()


def test_a_record_exported_before_the_strings_existed_still_reads():
    data = {
        "seq": 0,
        "event_id": "e",
        "time": "t",
        "event": "given",
        "categories": {},
        "method": "m",
        "revision": "r",
        "texts_hash": "h",
        "language": "en",
        "mode": "opt_in",
        "valid_until": "v",
        "consent_id": None,
        "country": None,
        "subdivision": None,
        "ip": None,
        "user_agent": None,
        "path": None,
        "salt": None,
        "personal_hash": "p",
        "leaf": "l",
        "chain": "c",
    }
    record = Record.from_dict(data)
    assert record.tc_string is None and record.gpp_string is None


def test_a_string_that_is_no_tc_string_is_refused():
    from gatekeeper.audit.record import Draft

    for bad in ("CQ<script>", "x" * 20_000):
        try:
            Draft.from_event(
                event(0, tc_string=bad), now=Clock()(), ip_mode="truncate", ip_key=b"k"
            )
        except ValueError as exc:
            assert "tc_string" in str(exc)
        else:
            raise AssertionError(f"{bad[:20]!r} was accepted")
