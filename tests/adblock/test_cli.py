"""`gatekeeper adblock stats`."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from gatekeeper.adblock.store import open_store
from gatekeeper.cli import build_parser
from gatekeeper.cli import main as gatekeeper_main
from gatekeeper.policy import load_policy
from tests.conftest import REPO


class cli:
    """`gatekeeper adblock ...`"""

    @staticmethod
    def main(argv: list[str]) -> int:
        return gatekeeper_main(["adblock", *argv])


@pytest.fixture
def recorded(policy_file) -> Path:
    path = policy_file('audit: {store: "sqlite:///consent.db"}')
    store = open_store(load_policy(path).audit.store)
    asyncio.run(
        store.add(
            {
                ("2026-11-27", "DE", "/", "blocked"): 3,
                ("2026-11-27", "DE", "/", "allowed"): 1,
                ("2026-11-27", "DE", "/articles", "allowed"): 4,
                ("2026-11-27", "", "/", "no_js"): 2,
                ("2026-11-28", "FR", "/", "unknown"): 5,
            }
        )
    )
    return path


def test_stats_table(recorded: Path, capsys) -> None:
    assert cli.main(["stats", "--policy", str(recorded)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "day", "country", "path", "group", "blocked", "allowed", "no_js", "unknown", "views",
        "blocked", "rate",
    ]  # fmt: skip
    assert lines[1].split() == ["2026-11-27", "-", "/", "0", "0", "2", "0", "2", "-"]
    assert lines[2].split() == ["2026-11-27", "DE", "/", "3", "1", "0", "0", "4", "75.0%"]
    assert lines[3].split() == ["2026-11-27", "DE", "/articles", "0", "4", "0", "0", "4", "0.0%"]
    assert lines[4].split() == ["2026-11-28", "FR", "/", "0", "0", "0", "5", "5", "-"]
    assert lines[5].split() == ["total", "3", "5", "2", "5", "15", "37.5%"]


def test_stats_json_grouped_and_filtered(recorded: Path, capsys) -> None:
    args = [
        "stats",
        "--policy",
        str(recorded),
        "--json",
        "--by",
        "country",
        "--until",
        "2026-11-27",  # inclusive, as everywhere: the 28th is left out
    ]
    assert cli.main(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["by"] == ["country"]
    assert data["rows"] == [
        {"country": "-", "blocked": 0, "allowed": 0, "no_js": 2, "unknown": 0, "views": 2,
         "blocked_rate": None},
        {"country": "DE", "blocked": 3, "allowed": 5, "no_js": 0, "unknown": 0, "views": 8,
         "blocked_rate": 0.375},
    ]  # fmt: skip
    assert data["total"]["views"] == 10
    assert cli.main(["stats", "--policy", str(recorded), "--json", "--country", "fr"]) == 0
    assert json.loads(capsys.readouterr().out)["total"]["unknown"] == 5


def test_nothing_recorded_is_exit_1(policy_file, capsys) -> None:
    path = policy_file('audit: {store: "sqlite:///consent.db"}')
    (path.parent / "consent.db").touch()
    assert cli.main(["stats", "--policy", str(path)]) == 1
    assert "no adblock verdicts recorded" in capsys.readouterr().err


def test_usage_errors_are_exit_2(policy_file, tmp_path: Path, capsys) -> None:
    missing = policy_file('audit: {store: "sqlite:///nowhere.db"}')
    assert cli.main(["stats", "--policy", str(missing)]) == 2
    assert "no database" in capsys.readouterr().err
    assert not (tmp_path / "nowhere.db").exists()  # the CLI never creates the database
    broken = tmp_path / "broken.yaml"
    broken.write_text("site: [", encoding="utf-8")
    assert cli.main(["stats", "--policy", str(broken)]) == 2
    with pytest.raises(SystemExit) as caught:
        cli.main(["stats", "--policy", str(missing), "--since", "yesterday"])
    assert caught.value.code == 2


def test_register_adds_the_adblock_command(recorded: Path, capsys) -> None:
    args = build_parser().parse_args(["adblock", "stats", "--policy", str(recorded), "--by", "day"])
    assert args.func(args) == 0
    assert "2026-11-28" in capsys.readouterr().out


def test_runs_as_a_module(recorded: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gatekeeper.cli", "adblock", "stats", "--policy", str(recorded)],
        capture_output=True, text=True, cwd=REPO, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "37.5%" in done.stdout


def test_stats_derive_no_js_and_unknown_from_the_events(policy_file, capsys) -> None:
    path = policy_file('audit: {store: "sqlite:///consent.db"}')
    store = open_store(load_policy(path).audit.store)
    # Four views opened in JP: one reported allowed (it had seen its image), one more
    # loaded the image and never reported, two did nothing.
    events = {"opened": 4, "image": 2, "judged_image": 1, "allowed": 1}
    asyncio.run(store.add({("2026-11-29", "JP", "/", kind): n for kind, n in events.items()}))
    assert cli.main(["stats", "--policy", str(path), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["rows"]
    assert row == {
        "day": "2026-11-29", "country": "JP", "path": "/", "blocked": 0, "allowed": 1,
        "no_js": 1, "unknown": 2, "views": 4, "blocked_rate": 0.0,
    }  # fmt: skip
