"""`gatekeeper geoip lookup|update`, run through the `gatekeeper` command."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from pytest_httpx import HTTPXMock

from gatekeeper.cli import build_parser, main
from gatekeeper.cli import geoip as cli
from gatekeeper.geoblock import geo_findings
from gatekeeper.policy import load_policy
from tests.geoblock.maxmind import ACCOUNT, KEY, maxmind_archive, serve, url

CITY = "GeoIP2-City-Test.mmdb"
COUNTRY = "GeoIP2-Country-Test.mmdb"
ANONYMOUS = "GeoIP2-Anonymous-IP-Test.mmdb"


@pytest.fixture
def city_policy(policy_file, geoip_dir):
    def write(sections: str = "", database: Path | None = None) -> str:
        return str(
            policy_file(
                f"""
geoip: {{database: "{database or geoip_dir / CITY}", anonymous_database: "{geoip_dir / ANONYMOUS}"}}
{sections}
"""
            )
        )

    return write


def lookup(capsys, *args: str) -> tuple[int, dict]:
    code = main(["geoip", "lookup", *args, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if code == 0 else {}


# --- lookup -----------------------------------------------------------------------------------


def test_lookup_a_blocked_address(capsys, city_policy):
    code, answer = lookup(capsys, "81.2.69.160", "--policy", city_policy("geoblock: {deny: [GB]}"))
    assert code == 0
    assert answer == {
        "address": "81.2.69.160",
        "database": answer["database"],
        "country": "GB",
        "subdivision": "GB-ENG",
        "anonymous": None,
        "path": "/",
        "rule": "geoblock.deny",
        "blocked": True,
        "status": 451,
    }
    assert answer["database"].endswith(f"{CITY} (GeoIP2-City)")


def test_lookup_as_text(capsys, city_policy):
    code = main(["geoip", "lookup", "216.160.83.56", "--policy", city_policy()])
    out = capsys.readouterr().out
    assert code == 0
    lines = dict(line.split(None, 1) for line in out.splitlines())
    assert lines["country"] == "US"
    assert lines["subdivision"] == "US-WA"
    assert lines["rule"] == "allowed"
    assert lines["blocked"] == "no"
    assert lines["status"] == "-"


@pytest.mark.parametrize(
    ("address", "path", "rule", "blocked"),
    [
        ("89.160.20.112", "/video/1", "geoblock.rules[0]", True),
        ("216.160.83.56", "/video/1", "geoblock.rules[0]", False),
        ("89.160.20.112", "/", "allowed", False),
        ("2001:218::1", "/video/1", "geoblock.rules[0]", True),
        ("::ffff:216.160.83.56", "/video/1", "geoblock.rules[0]", False),
        ("1.1.1.1", "/", "geoblock.unknown", False),
        ("10.0.0.1", "/health", "exempt path", False),
    ],
)
def test_lookup_with_a_path(capsys, city_policy, address, path, rule, blocked):
    policy = city_policy(
        "geoblock: {rules: [{paths: [/video/*], allow: [US]}], exempt: {paths: [/health]}}"
    )
    code, answer = lookup(capsys, address, "--policy", policy, "--path", path)
    assert code == 0
    assert (answer["rule"], answer["blocked"]) == (rule, blocked)


def test_lookup_anonymous_addresses(capsys, city_policy):
    policy = city_policy("geoblock: {anonymous: block}")
    _, answer = lookup(capsys, "81.2.69.160", "--policy", policy)
    assert (answer["anonymous"], answer["rule"], answer["blocked"]) == (
        True,
        "geoblock.anonymous",
        True,
    )
    _, answer = lookup(capsys, "89.160.20.112", "--policy", policy)
    assert (answer["anonymous"], answer["blocked"]) == (False, False)


def test_lookup_with_the_database_missing(capsys, policy_file, tmp_path):
    absent = tmp_path / "absent.mmdb"
    policy = policy_file(f'geoip: {{database: "{absent}", on_missing: block}}\n')
    code, answer = lookup(capsys, "81.2.69.160", "--policy", str(policy))
    assert code == 0
    assert (answer["country"], answer["rule"], answer["blocked"]) == (
        None,
        "geoblock.unknown",
        True,
    )
    assert "unavailable" in answer["database"]

    policy = policy_file(f'geoip: {{database: "{absent}", on_missing: error}}\n')
    assert main(["geoip", "lookup", "81.2.69.160", "--policy", str(policy)]) == 2
    assert "server would not start" in capsys.readouterr().err


def test_lookup_usage_errors(capsys, city_policy, tmp_path):
    policy = city_policy()
    assert main(["geoip", "lookup", "not-an-ip", "--policy", policy]) == 2
    assert "'not-an-ip' is not an IP address" in capsys.readouterr().err
    assert main(["geoip", "lookup", "1.2.3.4", "--policy", policy, "--path", "video"]) == 2
    assert main(["geoip", "lookup", "1.2.3.4", "--policy", str(tmp_path / "none.yaml")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_lookup_needs_no_secrets(capsys, tmp_path, geoip_dir, monkeypatch):
    monkeypatch.delenv("GATEKEEPER_SECRET", raising=False)
    policy = tmp_path / "p.yaml"
    policy.write_text(
        'site: {name: N, revision: "1"}\nsecret_keys: ["${GATEKEEPER_SECRET}"]\n'
        f'geoip: {{database: "{geoip_dir / COUNTRY}"}}\n'
    )
    code, answer = lookup(capsys, "89.160.20.112", "--policy", str(policy))
    assert (code, answer["country"]) == (0, "SE")


# --- update -----------------------------------------------------------------------------------


@pytest.fixture
def update_policy(policy_file, tmp_path, geoip_dir):
    folder = tmp_path / "data"
    folder.mkdir()
    target = folder / "GeoIP2-City.mmdb"
    target.write_bytes((geoip_dir / COUNTRY).read_bytes())
    path = policy_file(f'geoip: {{database: "{target}", check_interval: 2}}\n')
    return str(path), target


@pytest.fixture
def credentials(monkeypatch):
    monkeypatch.setenv("MAXMIND_ACCOUNT_ID", ACCOUNT)
    monkeypatch.setenv("MAXMIND_LICENSE_KEY", KEY)


def test_update(capsys, httpx_mock: HTTPXMock, update_policy, credentials, geoip_dir):
    policy, target = update_policy
    serve(httpx_mock, maxmind_archive(geoip_dir / CITY))
    assert main(["geoip", "update", "--policy", policy]) == 0
    out, err = capsys.readouterr()
    assert target.read_bytes() == (geoip_dir / CITY).read_bytes()
    assert f"{target}: GeoIP2-City built" in out
    assert "within geoip.check_interval (2 s)" in out
    assert err == ""  # not a TTY: no progress bar
    assert KEY not in out + err


def test_update_with_an_edition(capsys, httpx_mock, policy_file, tmp_path, geoip_dir, credentials):
    target = tmp_path / "geo.mmdb"
    policy = str(policy_file(f'geoip: {{database: "{target}", on_missing: allow}}\n'))
    assert main(["geoip", "update", "--policy", policy]) == 2
    assert "--edition GeoLite2-City" in capsys.readouterr().err

    lite = geoip_dir / "GeoLite2-Country-Test.mmdb"
    serve(httpx_mock, maxmind_archive(lite, "GeoLite2-Country"), "GeoLite2-Country")
    assert main(["geoip", "update", "--policy", policy, "--edition", "GeoLite2-Country"]) == 0
    assert target.read_bytes() == lite.read_bytes()
    assert main(["geoip", "update", "--policy", policy, "--edition", "City"]) == 2


def test_update_anonymous_database(
    capsys, httpx_mock, policy_file, tmp_path, geoip_dir, credentials
):
    target = tmp_path / "GeoIP2-Anonymous-IP.mmdb"
    policy = str(policy_file(f'geoip: {{anonymous_database: "{target}"}}\n'))
    serve(
        httpx_mock,
        maxmind_archive(geoip_dir / ANONYMOUS, "GeoIP2-Anonymous-IP"),
        "GeoIP2-Anonymous-IP",
    )
    assert main(["geoip", "update", "--policy", policy, "--anonymous"]) == 0
    assert target.read_bytes() == (geoip_dir / ANONYMOUS).read_bytes()
    assert main(["geoip", "update", "--policy", policy]) == 2
    assert "geoip.database is not set" in capsys.readouterr().err


def test_update_without_credentials(capsys, update_policy, monkeypatch):
    monkeypatch.delenv("MAXMIND_ACCOUNT_ID", raising=False)
    monkeypatch.delenv("MAXMIND_LICENSE_KEY", raising=False)
    policy, target = update_policy
    before = target.read_bytes()
    assert main(["geoip", "update", "--policy", policy]) == 2
    assert "set MAXMIND_ACCOUNT_ID and MAXMIND_LICENSE_KEY" in capsys.readouterr().err
    assert target.read_bytes() == before


def test_update_refused_by_maxmind(capsys, httpx_mock: HTTPXMock, update_policy, credentials):
    policy, target = update_policy
    before = target.read_bytes()
    httpx_mock.add_response(url=url("GeoIP2-City", "tar.gz.sha256"), status_code=401)
    assert main(["geoip", "update", "--policy", policy]) == 1
    err = capsys.readouterr().err
    assert "gatekeeper geoip update: MaxMind refused the account id and licence key" in err
    assert KEY not in err
    assert target.read_bytes() == before


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_update_shows_progress_on_a_terminal(
    httpx_mock: HTTPXMock, update_policy, credentials, geoip_dir, monkeypatch
):
    policy, _ = update_policy
    serve(httpx_mock, maxmind_archive(geoip_dir / CITY))
    terminal = Terminal()
    monkeypatch.setattr(cli.sys, "stderr", terminal)
    assert main(["geoip", "update", "--policy", policy]) == 0
    assert "GeoIP2-City [" in terminal.getvalue() and "100%" in terminal.getvalue()


# --- wiring -----------------------------------------------------------------------------------


def test_register_adds_geoip_to_a_parser(city_policy, capsys):
    parser = build_parser()
    args = parser.parse_args(["geoip", "lookup", "89.160.20.112", "--policy", city_policy()])
    assert args.func(args) == 0
    assert "SE" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        parser.parse_args(["geoip"])


def test_geo_findings_open_the_configured_database(policy_file, geoip_dir, tmp_path):
    country = load_policy(
        policy_file(f'geoip: {{database: "{geoip_dir / COUNTRY}"}}\ngeoblock: {{deny: [US-CA]}}\n')
    )
    assert geo_findings(country) == [
        "geoblock.deny names US-CA, a subdivision, but geoip.database is a Country database "
        "(GeoIP2-Country): subdivisions are never known"
    ]
    # Where the database is not (a laptop, a lint job) the subdivision check is skipped.
    missing = load_policy(
        policy_file(
            f'geoip: {{database: "{tmp_path / "x.mmdb"}"}}\ngeoblock: {{deny: [US-CA]}}\n',
            name="m.yaml",
        )
    )
    assert geo_findings(missing) == []
