"""The `gatekeeper` command's policy tools, run as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gatekeeper.cli import main
from tests.conftest import BASE_POLICY, REPO


def run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}
    return subprocess.run(
        [sys.executable, "-m", "gatekeeper.cli", *args],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=60,
    )


def test_check_reports_every_error_with_its_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        BASE_POLICY
        + "trusted_proxies: [10.0.0.0/33]\n"  # line 3
        + "geoblock:\n"
        + "  deny: [GB, XY]\n"  # line 5
        + "  stauts: 451\n"  # line 6
    )
    result = run("check", str(bad))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{bad}:3:") and "not an IP network" in lines[0]
    assert lines[1].startswith(f"{bad}:5:") and "'XY' is not an ISO 3166-1 country" in lines[1]
    assert lines[2].startswith(f"{bad}:6:3: geoblock.stauts: unknown key 'stauts'")
    assert "did you mean 'status'?" in lines[2]


def test_check_passes_good_files_and_notes_unset_variables(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text('site: {name: N, revision: "1"}\nsecret_keys: ["${GK_TEST_SECRET}"]\n')
    result = run("check", str(good))
    assert result.returncode == 0, result.stdout
    assert "ok" in result.stdout and "GK_TEST_SECRET" in result.stdout
    strict = run("check", "--require-env", str(good))
    assert strict.returncode == 1
    assert "environment variable GK_TEST_SECRET is not set" in strict.stdout


def test_check_mixed_files_exit_one_and_report_both(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(BASE_POLICY)
    missing = tmp_path / "missing.yaml"
    result = run("check", str(good), str(missing))
    assert result.returncode == 1
    assert f"{good}: ok" in result.stdout
    assert f"{missing}:1:1: cannot read" in result.stdout


def test_shipped_policies_check_clean():
    files = sorted(str(p) for p in (REPO / "policies").glob("*.yaml"))
    assert len(files) >= 5
    result = run("check", *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_is_json_schema_of_the_policy(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "Policy"
    assert {"site", "secret_keys", "consent", "geoblock"} <= set(schema["properties"])


def test_usage_errors_exit_two(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["check"])
    assert exc.value.code == 2


def test_serve_refuses_an_app_it_cannot_import(tmp_path, capsys):
    policy = tmp_path / "p.yaml"
    policy.write_text(BASE_POLICY)
    assert main(["serve", "no_such_module:app", "--policy", str(policy)]) == 2
    assert "no_such_module" in capsys.readouterr().err


def test_serve_refuses_a_broken_policy(tmp_path, capsys):
    policy = tmp_path / "p.yaml"
    policy.write_text(BASE_POLICY + "debug: maybe\n")
    with pytest.raises(SystemExit) as exc:
        main(["serve", "gatekeeper.demo.site:create_app", "--policy", str(policy)])
    assert exc.value.code == 2
    assert f"{policy}:3:8: debug:" in capsys.readouterr().err
