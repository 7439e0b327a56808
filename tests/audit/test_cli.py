"""`gatekeeper audit ...` as auditors run it: exit 0 ok, 1 findings, 2 usage/config."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from gatekeeper.audit import ConsentLog
from gatekeeper.cli import build_parser
from gatekeeper.cli import main as gatekeeper_main
from gatekeeper.policy import load_policy
from tests.audit.conftest import Clock, event
from tests.conftest import REPO


def main(argv: list[str]) -> int:
    """`gatekeeper audit ...`"""
    return gatekeeper_main(["audit", *argv])


def fill(policy_path: Path, count: int = 25, *, days_ago: int = 0) -> str:
    """Append records; return the hash of the archived texts they reference."""

    async def run() -> str:
        log = ConsentLog.from_policy(load_policy(policy_path))
        clock = Clock()
        clock.now -= timedelta(days=days_ago)
        log.clock = clock
        try:
            digest = await log.archive_texts("r1", "en", {"title": "Your privacy"})
            for i in range(count):
                await log.append(event(i, texts_hash=digest))
            return digest
        finally:
            await log.close()

    return asyncio.run(run())


def test_verify_ok_then_tampered(audit_policy, tmp_path, capsys):
    path = audit_policy()
    fill(path)
    assert main(["verify", "--policy", str(path)]) == 0
    out = capsys.readouterr().out
    # Two every 10 records, and the one close() signs over the last 5.
    assert out.rstrip().endswith("OK") and "3 signatures valid" in out

    conn = sqlite3.connect(tmp_path / "consent.db")
    conn.execute("UPDATE records SET mode = 'notice' WHERE seq = 6")
    conn.commit()
    conn.close()
    assert main(["verify", "--policy", str(path)]) == 1
    out = capsys.readouterr().out
    assert "FAIL record 6:" in out and "first bad record: seq 6" in out
    assert main(["verify", "--policy", str(path), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["first_bad_record"] == 6


def test_verify_unsigned_log_says_so(audit_policy, capsys):
    path = audit_policy(signed=False)
    fill(path, 12)
    assert main(["verify", "--policy", str(path)]) == 0
    assert "signing_key is not set" in capsys.readouterr().out


def test_usage_and_config_errors_exit_two(audit_policy, policy_file, tmp_path, capsys):
    missing_log = audit_policy()  # the file consent.db does not exist yet
    assert main(["verify", "--policy", str(missing_log)]) == 2
    assert "no consent log" in capsys.readouterr().err
    assert not (tmp_path / "consent.db").exists()
    assert main(["verify", "--policy", str(tmp_path / "nope.yaml")]) == 2
    broken = policy_file("audit: {ip: everything}\n", name="broken.yaml")
    assert main(["stats", "--policy", str(broken)]) == 2
    assert "audit.ip" in capsys.readouterr().err
    assert main(["verify"]) == 2
    assert main(["public-key", "--policy", str(audit_policy(signed=False, name="u.yaml"))]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["export", "--policy", str(missing_log), "--since", "last tuesday"])
    assert exc.value.code == 2


def test_offline_verification_with_only_the_export_and_the_public_key(
    audit_policy, tmp_path, capsys
):
    path = audit_policy()
    fill(path)
    export = tmp_path / "out" / "log.jsonl"
    export.parent.mkdir()
    assert main(["export", "--policy", str(path), "--output", str(export)]) == 0
    assert "exported 25 records (jsonl)" in capsys.readouterr().err
    assert main(["public-key", "--policy", str(path)]) == 0
    pem = capsys.readouterr().out
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    public = tmp_path / "out" / "public.pem"
    public.write_text(pem)
    # The auditor's side: the export and the key, no policy, no database.
    args = ["verify", "--export", str(export), "--public-key", str(public)]
    assert main(args) == 0
    assert "OK" in capsys.readouterr().out

    lines = export.read_text().splitlines()
    lines.pop(9)  # a record goes missing
    export.write_text("\n".join(lines) + "\n")
    assert main(args) == 1
    assert "first bad record: seq" in capsys.readouterr().out
    assert main(["verify", "--export", str(tmp_path / "none.jsonl")]) == 2


def test_export_formats_and_filters(audit_policy, tmp_path, capsys):
    path = audit_policy()
    fill(path, 12)
    assert main(["export", "--policy", str(path), "--consent-id", "visitor-2"]) == 0
    captured = capsys.readouterr()
    records = [json.loads(x) for x in captured.out.splitlines() if '"type":"record"' in x]
    assert [r["seq"] for r in records] == [2, 7]
    assert "exporting [" not in captured.err  # no progress bar when stderr is not a TTY

    csv_file = tmp_path / "log.csv"
    assert main(["export", "--policy", str(path), "-o", str(csv_file), "--country", "de"]) == 0
    assert len(csv_file.read_text().splitlines()) == 13
    iso_file = tmp_path / "log.json"
    assert (
        main(
            [
                "export",
                "--policy",
                str(path),
                "-o",
                str(iso_file),
                "--since",
                "2026-11-27",
                "--until",
                "2026-11-28T00:00:00Z",
            ]
        )
        == 0
    )
    assert len(json.loads(iso_file.read_text())["records"]) == 12
    assert main(["export", "--policy", str(path), "--format", "csv", "--since", "2026-11-28"]) == 0
    assert capsys.readouterr().out.count("\n") == 1  # the header only
    assert not list(tmp_path.glob("*.partial"))


def test_show_answers_an_access_request(audit_policy, capsys):
    path = audit_policy()
    digest = fill(path, 12)
    assert main(["show", "visitor-1", "--policy", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("consent id visitor-1: 3 records")
    assert "refused" in out and "save@preferences" in out and f"{digest} (archived)" in out
    assert "203.0.113.0/24" in out
    assert main(["show", "visitor-1", "--policy", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["seq"] for r in data["records"]] == [1, 6, 11]
    assert data["texts"][digest]["texts"] == {"title": "Your privacy"}
    assert main(["show", "nobody", "--policy", str(path)]) == 1


def test_stats(audit_policy, capsys):
    path = audit_policy()
    fill(path, 12)
    assert main(["stats", "--policy", str(path)]) == 0
    out = capsys.readouterr().out
    assert "2026-11-27  opt_in" in out and "accepted all" in out
    assert main(["stats", "--policy", str(path), "--json", "--since", "2026-11-27"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total"]["decisions"] == 12
    assert data["by_day"][0]["day"] == "2026-11-27"


def test_purge_defaults_to_the_retention_period(audit_policy, capsys):
    path = audit_policy(extra="  retention_days: 30\n")
    fill(path, 5, days_ago=100)
    fill(path, 3)
    assert main(["purge", "--policy", str(path)]) == 0
    assert "purged the personal fields of 5 records older than 30 days" in capsys.readouterr().out
    assert main(["purge", "--policy", str(path), "--older-than", "0"]) == 0
    assert "of 3 records" in capsys.readouterr().out
    assert main(["verify", "--policy", str(path)]) == 0


def test_texts_prints_what_visitors_saw(audit_policy, tmp_path, capsys):
    path = audit_policy()
    digest = fill(path, 1)
    assert main(["texts", digest, "--policy", str(path)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["texts"] == {"title": "Your privacy"}
    assert shown["shown"][0]["revision"] == "r1" and shown["shown"][0]["language"] == "en"
    assert main(["texts", "f" * 64, "--policy", str(path)]) == 1
    conn = sqlite3.connect(tmp_path / "consent.db")
    conn.execute("""UPDATE texts SET texts = '{"title":"Other"}'""")
    conn.commit()
    conn.close()
    assert main(["texts", digest, "--policy", str(path)]) == 1
    assert "do not match" in capsys.readouterr().err


def test_register_adds_audit_to_the_main_command(audit_policy, capsys):
    path = audit_policy()
    fill(path, 3)
    args = build_parser().parse_args(["audit", "verify", "--policy", str(path)])
    assert args.func(args) == 0
    assert "OK" in capsys.readouterr().out


def test_runs_as_a_module(audit_policy):
    path = audit_policy()
    fill(path, 3)
    result = subprocess.run(
        [sys.executable, "-m", "gatekeeper.cli", "audit", "verify", "--policy", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith("OK")
