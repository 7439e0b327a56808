"""What a policy names outside itself is opened at start-up, by `check` and before a
reload, and each problem is one line at the key that names it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gatekeeper import Gatekeeper, PolicyError, load_policy
from gatekeeper.policy import read_policy
from gatekeeper.startup import check_startup, startup_findings
from tests.conftest import REPO, SECRET


async def no_app(scope, receive, send) -> None:
    raise AssertionError("start-up only")


def pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def refused(path: Path) -> list[str]:
    """The lines start-up refuses the policy with; the same as check_startup's."""
    with pytest.raises(PolicyError) as info:
        Gatekeeper(no_app, policy=str(path))
    with pytest.raises(PolicyError) as direct:
        check_startup(read_policy(path))
    assert str(info.value) == str(direct.value)
    return [str(issue) for issue in info.value.issues]


def test_a_missing_geoip_database_is_one_line_at_its_key(policy_file, tmp_path):
    path = policy_file(f"geoip:\n  database: {tmp_path}/nope.mmdb\n")
    assert refused(path) == [
        f"{path}:4:13: geoip.database: GeoIP database not found: {tmp_path}/nope.mmdb"
    ]


def test_a_broken_and_a_wrong_database(policy_file, geoip_dir):
    broken = geoip_dir / "GeoIP2-City-Test-Broken-Double-Format.mmdb"
    city = geoip_dir / "GeoIP2-City-Test.mmdb"
    path = policy_file(f"geoip:\n  database: {broken}\n  anonymous_database: {city}\n")
    database, anonymous = refused(path)
    assert database.startswith(f"{path}:4:13: geoip.database: ")
    assert anonymous.startswith(f"{path}:5:23: geoip.anonymous_database: ")
    assert "not an Anonymous-IP one" in anonymous


def test_on_missing_allow_starts_and_warns(policy_file, tmp_path):
    path = policy_file(f"geoip: {{database: {tmp_path}/nope.mmdb, on_missing: allow}}\n")
    Gatekeeper(no_app, policy=str(path))
    found = startup_findings(read_policy(path))
    assert found.errors == []
    (warning,) = found.warnings
    assert (warning.line, warning.path) == (3, "geoip.database")
    assert "every location is unknown (geoip.on_missing: allow)" in warning.message


@pytest.mark.parametrize(
    ("store", "says"),
    [
        ("mysql://db/x", "'mysql://db/x': use sqlite:///PATH or postgresql://..."),
        ("sqlite:///:memory:", "a consent log must be a file: sqlite:///PATH"),
        ("sqlite:///{tmp}/no/such/folder/log.db", "the folder {tmp}/no/such/folder does not exist"),
        ("sqlite:///{tmp}/a-file/log.db", "the folder {tmp}/a-file does not exist"),
        ("sqlite:///{tmp}/a-folder", "{tmp}/a-folder is not a file"),
        ("sqlite:///{tmp}/a-file", "{tmp}/a-file is not a SQLite database"),
        ("postgresql://db/x?schema=Bad-Name", "schema 'Bad-Name' must be lower-case"),
    ],
)
def test_a_store_that_cannot_keep_the_log(policy_file, tmp_path, store, says):
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "a-file").write_text("not a database")
    path = policy_file(f"audit:\n  store: '{store.format(tmp=tmp_path)}'\n")
    (line,) = refused(path)
    assert line.startswith(f"{path}:4:10: audit.store: {says.format(tmp=tmp_path)}")


def test_a_usable_store_is_looked_at_not_created(policy_file, tmp_path):
    folder = tmp_path / "log"
    folder.mkdir()
    path = policy_file(f"audit: {{store: 'sqlite:///{folder}/consent.db'}}\n")
    Gatekeeper(no_app, policy=str(path))
    assert startup_findings(read_policy(path)).errors == []
    assert list(folder.iterdir()) == []  # no database file, no -wal, no -shm


@pytest.mark.parametrize("kind", ["missing", "garbage", "not-ed25519"])
def test_a_signing_key_that_cannot_sign(policy_file, tmp_path, kind):
    key = tmp_path / "signing.pem"
    if kind == "garbage":
        key.write_text("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    elif kind == "not-ed25519":
        key.write_bytes(pem(generate_private_key(SECP256R1())))
    path = policy_file(f"audit:\n  signing_key: {key}\n")
    (line,) = refused(path)
    assert line.startswith(f"{path}:4:16: audit.signing_key: {key}: ")
    says = {"missing": "cannot read", "garbage": "not a PEM private key"}.get(
        kind, "not an Ed25519 key"
    )
    assert says in line


def test_a_good_signing_key_starts(policy_file, tmp_path):
    key = tmp_path / "signing.pem"
    key.write_bytes(pem(Ed25519PrivateKey.generate()))
    Gatekeeper(no_app, policy=str(policy_file(f"audit: {{signing_key: {key}}}\n")))


def test_templates_folder_and_its_templates(policy_file, tmp_path):
    folder = tmp_path / "templates"
    path = policy_file(f"templates:\n  directory: {folder}\n")
    assert refused(path) == [
        f"{path}:4:14: templates.directory: the folder {folder} does not exist"
    ]
    folder.mkdir()
    (folder / "block.html").write_text("<h1 data-gk-notice=block>{{ t(page.title) }}</h1>\n")
    Gatekeeper(no_app, policy=str(path))
    (folder / "notification.html").write_text("<p>\n{% if x %}\n<b>never closed</b>\n")
    (line,) = refused(path)
    assert line == (
        f"{folder / 'notification.html'}:3:1: template error: Unexpected end of template. "
        "Jinja was looking for the following tags: 'elif' or 'else' or 'endif'. The innermost "
        "block that needs to be closed is 'if'."
    )


def test_a_template_that_fails_to_render_at_start_up(policy_file, tmp_path):
    # Compiles, but names what the page does not have: start-up renders it once.
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "block.html").write_text("<main>\n<h1>{{ t(headline) }}</h1>\n</main>\n")
    path = policy_file(f"templates: {{directory: {folder}}}\n")
    with pytest.raises(PolicyError) as info:
        Gatekeeper(no_app, policy=str(path))
    assert (
        str(info.value) == f"{folder / 'block.html'}:2:1: template error: 'headline' is undefined"
    )


def test_a_policy_object_is_checked_too(tmp_path):
    policy = load_policy(_write(tmp_path, f"geoip: {{database: {tmp_path}/nope.mmdb}}\n"))
    with pytest.raises(PolicyError) as info:
        Gatekeeper(no_app, policy=policy)
    assert str(info.value) == (
        f"<policy>:1:1: geoip.database: GeoIP database not found: {tmp_path}/nope.mmdb"
    )


def _write(tmp_path: Path, sections: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(f'site: {{name: T, revision: "1"}}\nsecret_keys: ["{SECRET}"]\n{sections}')
    return path


def test_serve_refuses_to_start_with_one_line_and_no_traceback(tmp_path):
    path = _write(tmp_path, f"audit:\n  signing_key: {tmp_path}/missing.pem\n")
    done = subprocess.run(
        [sys.executable, "-m", "gatekeeper.cli", "serve", "gatekeeper.demo.site:create_app",
         "--policy", str(path), "--port", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr == (
        f"{path}:4:16: audit.signing_key: {tmp_path}/missing.pem: cannot read: "
        "No such file or directory\n"
    )


def test_check_notes_what_it_could_not_open_for_an_unset_variable(tmp_path):
    path = _write(tmp_path, "audit: {signing_key: '${GK_KEY_PATH}'}\n")
    done = subprocess.run(
        [sys.executable, "-m", "gatekeeper.cli", "check", str(path)],
        cwd=REPO, capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout
    assert done.stdout.splitlines() == [
        f"{path}:3:22: audit.signing_key: warning: not opened: it names unset ${{GK_KEY_PATH}}",
        f"{path}: ok (checked with placeholders for unset GK_KEY_PATH)",
    ]
