"""The `gatekeeper` command's policy tools, run as a user runs them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gatekeeper.cli import main
from tests.conftest import BASE_POLICY, REPO, SECRET


def run(
    *args: str, cwd: Path = REPO, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "gatekeeper.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=60,
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


def test_shipped_policies_check_clean_as_files():
    files = sorted(str(p) for p in (REPO / "policies").glob("*.yaml"))
    assert len(files) >= 5
    result = run("check", "--policy-only", *files)
    assert result.returncode == 0, result.stdout + result.stderr


def _deployment(tmp_path: Path, geoip_dir: Path) -> tuple[Path, dict[str, str]]:
    """The shipped policies with the files they name in place: policies/ next to data/
    and templates/, as their relative paths expect."""
    policies = tmp_path / "policies"
    policies.mkdir()
    for policy in (REPO / "policies").glob("*.yaml"):
        (policies / policy.name).write_text(policy.read_text(encoding="utf-8"))
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(geoip_dir / "GeoIP2-City-Test.mmdb", data / "GeoIP2-City.mmdb")
    shutil.copy(geoip_dir / "GeoIP2-Anonymous-IP-Test.mmdb", data / "GeoIP2-Anonymous-IP.mmdb")
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    for name in ("audit-signing-key.pem", "audit-signing.pem"):  # site.yaml, demo.yaml
        (data / name).write_bytes(pem)
    (tmp_path / "templates" / "gatekeeper").mkdir(parents=True)
    env = {
        "GATEKEEPER_SECRET": SECRET,
        "GATEKEEPER_DATA": str(data),
        "GATEKEEPER_GEOIP": str(data / "GeoIP2-City.mmdb"),
    }
    return policies, env


def test_shipped_policies_start_where_their_files_are(tmp_path, geoip_dir):
    policies, env = _deployment(tmp_path, geoip_dir)
    files = sorted(str(p) for p in policies.glob("*.yaml"))
    before = sorted(p.name for p in (tmp_path / "data").iterdir())
    result = run("check", "--require-env", *files, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [f"{file}: ok" for file in files]  # no warnings
    # Checking opened the log's folder and wrote nothing: no database was created.
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == before


def test_check_opens_what_the_policy_names(tmp_path, geoip_dir):
    policies, env = _deployment(tmp_path, geoip_dir)
    shutil.rmtree(tmp_path / "data")
    shutil.rmtree(tmp_path / "templates")
    site = policies / "site.yaml"
    result = run("check", str(site), env=env)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    # Every line names the file, the line and column of the key, and the key.
    found = {}
    for line in lines:
        match = re.match(rf"^{re.escape(str(site))}:(\d+):(\d+): ([\w.]+): (.*)$", line)
        assert match, line
        found[match.group(3)] = match.group(4)
    assert found["audit.store"] == f"the folder {policies}/../data does not exist"
    assert "audit-signing-key.pem: cannot read: No such file" in found["audit.signing_key"]
    assert "does not exist" in found["templates.directory"]
    # geoip.on_missing is allow in site.yaml: the site starts without it, so a warning.
    assert found["geoip.database"].startswith("warning: GeoIP database not found")
    assert not any(line.endswith(": ok") for line in lines)


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


@pytest.mark.parametrize("command", ["demo", "serve"])
def test_serving_without_uvicorn_names_the_extra(command, tmp_path):
    # uvicorn is the `server` extra: the middleware itself never needs it.
    policy = str(REPO / "policies" / "site.yaml")
    argv = {
        "demo": ["demo", "--data", str(tmp_path)],
        "serve": ["serve", "examples.starlette_app:app", "--policy", policy],
    }[command]
    script = (
        "import sys; sys.modules['uvicorn'] = None\n"
        "from gatekeeper.cli import main\n"
        f"sys.exit(main({argv!r}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert "pip install 'gatekeeper[server]'" in done.stderr
