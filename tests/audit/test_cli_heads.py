"""`gatekeeper audit checkpoint|head|report`, `verify --since` and `export --head`: signed
heads as auditors keep and use them, and the dates every command reads the same way."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

from gatekeeper.audit import ConsentLog
from gatekeeper.cli import main as gatekeeper_main
from gatekeeper.policy import load_policy
from tests.audit.conftest import NOW, Clock, event
from tests.audit.rawsql import SQLiteDatabase


def main(argv: list[str]) -> int:
    """`gatekeeper audit ...`"""
    return gatekeeper_main(["audit", *argv])


def days_of_records(path: Path, *, per_day: int = 10, days: int = 3) -> None:
    """`per_day` records on each of `days` days from NOW, a checkpoint at 5 after the first
    five (the head an auditor keeps), and one when the log closes."""

    async def run() -> None:
        log = ConsentLog.from_policy(load_policy(path))
        log.clock = Clock()
        try:
            for n in range(per_day * days):
                log.clock.now = NOW + timedelta(days=n // per_day, minutes=n)
                await log.append(event(n))
                if n == 4:
                    await log.checkpoint()
        finally:
            await log.close()

    asyncio.run(run())


def run(capsys, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_checkpoint_signs_now_and_head_prints_it(audit_policy, tmp_path, capsys):
    path = str(audit_policy(every=1000))
    code, _, err = run(capsys, "head", "--policy", path)
    assert code == 2 and "no consent log" in err  # nothing written yet

    async def append() -> None:
        log = ConsentLog.from_policy(load_policy(path), autostart=False)
        try:
            for i in range(3):
                await log.append(event(i))
        finally:
            await log.close()

    asyncio.run(append())
    code, _, err = run(capsys, "head", "--policy", path)
    assert code == 1 and "audit checkpoint" in err
    code, out, _ = run(capsys, "checkpoint", "--policy", path)
    signed = json.loads(out)
    assert code == 0 and signed["size"] == 3 and signed["signature"]
    assert signed["format"] == "gatekeeper-signed-head" and signed["previous"] == 0
    code, out, err = run(capsys, "checkpoint", "--policy", path)
    assert code == 0 and "nothing new to sign" in err and json.loads(out) == signed
    code, out, _ = run(capsys, "head", "--policy", path)
    assert code == 0 and json.loads(out) == signed
    (tmp_path / "head.json").write_text(out)
    code, out, _ = run(capsys, "verify", "--policy", path, "--since", str(tmp_path / "head.json"))
    assert code == 0 and "kept head of size 3" in out and ": consistent:" in out


def test_verify_since_a_kept_head_catches_a_cut_back_log(audit_policy, tmp_path, capsys):
    path = str(audit_policy())
    days_of_records(Path(path))
    code, out, _ = run(capsys, "head", "--policy", path)
    head = tmp_path / "head.json"
    head.write_text(out)
    assert json.loads(out)["size"] == 30

    async def cut() -> None:
        db = SQLiteDatabase(tmp_path / "consent.db")
        try:
            await db.forge((await db.all_records())[:20])
            await db.execute("DELETE FROM checkpoints WHERE size > 20")
        finally:
            await db.close()

    asyncio.run(cut())
    assert run(capsys, "verify", "--policy", path)[0] == 0  # a prefix, alone, verifies
    code, out, _ = run(capsys, "verify", "--policy", path, "--since", str(head), "--json")
    report = json.loads(out)
    assert code == 1 and not report["ok"]
    assert report["heads"][0]["consistent"] is False
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**json.loads(head.read_text()), "size": 29}))
    code, out, _ = run(capsys, "verify", "--policy", path, "--since", str(bad))
    assert code == 1 and "does not verify with the log's keys" in out
    code, _, err = run(capsys, "verify", "--policy", path, "--since", str(tmp_path / "nope.json"))
    assert code == 2 and "cannot read" in err


def test_an_export_proves_it_extends_an_older_head(audit_policy, tmp_path, capsys):
    path = str(audit_policy())
    days_of_records(Path(path))

    # The head of size 5 an auditor kept on the first day.
    async def first_head() -> dict:
        log = ConsentLog.from_policy(load_policy(path), autostart=False)
        try:
            return next(c for c in await log.store.checkpoints() if c.size == 5).head()
        finally:
            await log.close()

    head = tmp_path / "head-5.json"
    head.write_text(json.dumps(asyncio.run(first_head())))
    key = tmp_path / "public.pem"
    key.write_text(run(capsys, "public-key", "--policy", path)[1])
    export = tmp_path / "day3.jsonl"
    code, _, _ = run(
        capsys, "export", "--policy", path, "--since", "2026-11-29", "--head", str(head),
        "-o", str(export),
    )  # fmt: skip
    assert code == 0
    lines = export.read_text().splitlines()
    header = json.loads(lines[0])
    assert header["start"] == 20 and header["declarations"]
    proof = json.loads(lines[1])
    assert proof["type"] == "consistency" and (proof["from_size"], proof["to_size"]) == (5, 20)
    offline = ["verify", "--export", str(export), "--public-key", str(key), "--since", str(head)]
    code, out, _ = run(capsys, *offline)
    assert code == 0 and "consistency proof shows" in out, out

    proof["proof"][0] = "00" * 32
    export.write_text("\n".join([lines[0], json.dumps(proof), *lines[2:]]) + "\n")
    code, out, _ = run(capsys, *offline)
    assert code == 1 and "the consistency proof fails" in out
    export.write_text("\n".join([lines[0], *lines[2:]]) + "\n")
    code, out, _ = run(capsys, *offline)
    assert code == 1 and "export again with --head" in out


def test_until_a_day_includes_that_day_everywhere(audit_policy, capsys):
    path = str(audit_policy())
    days_of_records(Path(path))
    code, out, _ = run(
        capsys, "stats", "--policy", path, "--since", "2026-11-28", "--until", "2026-11-28",
        "--json",
    )  # fmt: skip
    assert code == 0 and json.loads(out)["total"]["decisions"] == 10
    code, out, _ = run(
        capsys, "export", "--policy", path, "--format", "csv", "--until", "2026-11-27"
    )
    assert out.count("\n") == 1 + 10
    code, out, _ = run(
        capsys, "export", "--policy", path, "--format", "csv",
        "--until", "2026-11-28T00:00:00Z",
    )  # fmt: skip
    assert out.count("\n") == 1 + 10  # a time is an instant: the records before it


def test_report_writes_one_html_file(audit_policy, tmp_path, capsys):
    path = str(audit_policy())
    days_of_records(Path(path))
    out_file = tmp_path / "evidence.html"
    code, _, err = run(
        capsys, "report", "--policy", path, "--since", "2026-11-27", "--until", "2026-11-28",
        "-o", str(out_file),
    )  # fmt: skip
    assert code == 0 and "verification OK" in err
    page = out_file.read_text()
    assert "<strong>OK</strong>" in page and "From 2026-11-27 to 2026-11-28" in page
    assert "<script" not in page and "http://" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    assert page.count("<svg") >= 2 and "Decisions per day" in page
    assert "20 decisions" in page  # the period's two days, not the third
    assert "Revision r1, language en: 20 decisions" in page

    conn_path = tmp_path / "consent.db"

    async def tamper() -> None:
        db = SQLiteDatabase(conn_path)
        try:
            await db.execute("UPDATE records SET mode = 'notice' WHERE seq = 6")
        finally:
            await db.close()

    asyncio.run(tamper())
    code, _, err = run(capsys, "report", "--policy", path, "-o", str(out_file))
    assert code == 1 and "FAIL" in err
    assert "first bad record is seq 6" in out_file.read_text()
    code, _, err = run(capsys, "report", "--policy", path, "--since", "soon", "-o", str(out_file))
    assert code == 2 and "not a date" in err
