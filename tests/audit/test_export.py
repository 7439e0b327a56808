"""Exports: JSONL that verifies offline with only the public key, CSV, ISO/IEC TS 27560."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest

from gatekeeper.audit import ConsentLog, PublicKey, Query
from gatekeeper.audit.checkpoint import Signer
from gatekeeper.audit.export import export
from gatekeeper.audit.offline import verify_export
from tests.audit.conftest import Clock, event, write_key


async def jsonl(log: ConsentLog, query: Query = Query()) -> list[str]:  # noqa: B008
    out = io.StringIO()
    await export(log.store, out, "jsonl", query)
    return out.getvalue().splitlines()


def check(lines: list[str], key: PublicKey | None):  # type: ignore[no-untyped-def]
    return verify_export(lines, key, "export.jsonl")


async def months(log: ConsentLog) -> None:
    """35 records: October (0-9), November (10-29), December (30-34)."""
    clock: Clock = log.clock  # type: ignore[assignment]
    digest = await log.archive_texts("r1", "en", {"title": "Your privacy"})
    for i in range(35):
        month, first = (10, 0) if i < 10 else (11, 10) if i < 30 else (12, 30)
        clock.now = clock.now.replace(month=month, day=1) + timedelta(days=i - first, hours=5)
        await log.append(event(i, texts_hash=digest, country="FR" if i == 17 else "DE"))


async def test_a_full_export_verifies_offline(log):
    await months(log)
    lines = await jsonl(log)
    kinds = [json.loads(line)["type"] for line in lines]
    assert kinds[0] == "header" and kinds[-1] == "end"
    assert kinds.count("record") == 35 and kinds.count("checkpoint") == 3
    assert kinds.count("texts") == 1
    key = PublicKey.from_pem(log.public_key().pem().encode())  # only the PEM travels
    report = check(lines, key)
    assert report.ok, report.lines()
    assert (report.records, report.signed, report.covered, report.texts) == (35, 3, 30, 1)


async def test_a_month_export_carries_only_that_month_and_still_verifies(log):
    await months(log)
    november = Query(since="2026-11-01T00:00:00.000000Z", until="2026-12-01T00:00:00.000000Z")
    lines = await jsonl(log, november)
    items = [json.loads(line) for line in lines]
    header = items[0]
    records = [i for i in items if i["type"] == "record"]
    assert all(r["time"].startswith("2026-11") for r in records)
    first, last = records[0]["seq"], records[-1]["seq"]
    assert len(records) == last - first + 1 == 20
    # It starts at the checkpoint before the month and ends at the one after.
    assert header["start"] == 10 and header["end"] == 30
    assert header["anchor"]["size"] == 10
    assert not [i for i in items if i["type"] == "leaf"]  # the month fills both intervals
    report = check(lines, log.public_key())
    assert report.ok, report.lines()
    assert report.covered == 30


async def test_a_filtered_export_shows_others_as_hashes_only(log):
    await months(log)
    lines = await jsonl(log, Query(country="fr"))
    items = [json.loads(line) for line in lines]
    assert [i["seq"] for i in items if i["type"] == "record"] == [17]
    leaves = [i for i in items if i["type"] == "leaf"]
    assert len(leaves) == 9 and set(leaves[0]) == {"type", "seq", "leaf", "chain"}
    assert "DE" not in "\n".join(json.dumps(i) for i in leaves)
    report = check(lines, log.public_key())
    assert report.ok, report.lines()

    visitor = await jsonl(log, Query(consent_id="visitor-3"))
    assert check(visitor, log.public_key()).ok
    nobody = await jsonl(log, Query(consent_id="nobody"))
    assert [json.loads(line)["type"] for line in nobody] == ["header", "end"]
    assert check(nobody, log.public_key()).ok


def _edit(lines: list[str], kind: str, index: int, **changes: object) -> list[str]:
    found = [n for n, line in enumerate(lines) if json.loads(line)["type"] == kind]
    n = found[index]
    item = json.loads(lines[n])
    item.update(changes)
    return [*lines[:n], json.dumps(item), *lines[n + 1 :]]


async def test_tampered_exports_fail(log, tmp_path):
    await months(log)
    lines = await jsonl(log)
    key = log.public_key()
    record_line = next(n for n, line in enumerate(lines) if '"seq":4,' in line)
    first_signature = next(json.loads(x) for x in lines if '"type":"checkpoint"' in x)["signature"]
    cases = {
        "modified": _edit(lines, "record", 4, event="withdrawn"),
        "personal": _edit(lines, "record", 4, ip="192.0.2.0/24"),
        "deleted": [*lines[:record_line], *lines[record_line + 1 :]],
        "signature": _edit(lines, "checkpoint", 1, signature=first_signature),
        "cut short": lines[:-6],
        "texts": _edit(lines, "texts", 0, texts={"title": "Something else"}),
    }
    for name, edited in cases.items():
        report = check(edited, key)
        assert not report.ok, name
    assert check(_edit(lines, "record", 4, event="withdrawn"), key).first_bad.seq == 4
    other = Signer.load(write_key(tmp_path / "other.pem")).public
    wrong_key = check(lines, other)
    assert not wrong_key.ok and "not trusted" in str(wrong_key.findings[0])
    assert any("bad signature" in str(f) for f in wrong_key.findings)
    assert not check(["not json"], key).ok
    assert not check([], key).ok


async def test_without_a_key_the_chain_is_still_checked(log):
    await months(log)
    lines = await jsonl(log)
    report = check(lines, None)
    assert report.ok and any("not checked" in n for n in report.notes)
    assert not check(_edit(lines, "record", 2, method="forged@banner"), None).ok


async def test_csv_export(log):
    await log.append(event(1, user_agent='=HYPERLINK("http://x")', path="/a,b"))
    await log.append(event(2))
    out = io.StringIO()
    assert await export(log.store, out, "csv", Query()) == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(rows) == 2
    assert rows[0]["user_agent"].startswith("'=")  # a spreadsheet shows it, never runs it
    assert rows[0]["path"] == "/a,b"
    assert json.loads(rows[0]["categories"]) == {
        "ads": False,
        "analytics": False,
        "necessary": True,
    }
    assert rows[0]["ip"] == "203.0.113.0/24" and len(rows[0]["leaf"]) == 64


async def test_iso_27560_export(log):
    await log.append(event(0, event="given", categories={"necessary": True, "ads": False}))
    await log.append(event(1, event="gpc", categories={"necessary": True, "ads": False}))
    await log.append(event(2, event="withdrawn"))
    out = io.StringIO()
    assert await export(log.store, out, "27560", Query()) == 3
    document = json.loads(out.getvalue())
    assert "27560" in document["conforms_to"]
    first, gpc, withdrawn = document["records"]
    assert first["pii_principal_id"] == "visitor-0"
    assert first["notice"]["notice_id"] == "0" * 64
    assert {p["purpose_id"]: p["consent_status"] for p in first["purposes"]} == {
        "ads": "refused",
        "necessary": "given",
    }
    assert first["event"]["event_state"] == "given"
    assert gpc["event"]["event_by"] == "signal" and gpc["event"]["event_state"] == "refused"
    assert {p["consent_status"] for p in withdrawn["purposes"]} == {"withdrawn"}
    assert first["integrity"]["seq"] == 0


@pytest.mark.parametrize("fmt", ["csv", "27560"])
async def test_empty_exports_are_well_formed(log, fmt):
    out = io.StringIO()
    assert await export(log.store, out, fmt, Query()) == 0
    if fmt == "27560":
        assert json.loads(out.getvalue())["records"] == []
    else:
        assert out.getvalue().startswith("seq,event_id,")
