"""`gatekeeper check` on hostile policy files: one `file:line:col` line each, no traceback.

All the files go to one real `gatekeeper check` process, so the run also shows that one
hostile file does not stop the others from being checked. How long the run takes is
recorded (`--junitxml` keeps it), not asserted: this machine's speed is not the product's.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gatekeeper.policy import PolicyError, parse_policy, read_policy
from tests.conftest import REPO, SECRET
from tests.hostile.policies import HOSTILE, Hostile

# Cases decided while reading the file, before YAML sees it.
READ_ONLY = {"fifo", "device", "huge-file", "utf-16", "not-utf-8"}


def test_check_gives_one_line_per_hostile_file(tmp_path: Path, record_property) -> None:
    files = []
    for case in HOSTILE:
        path = tmp_path / f"{case.name}.yaml"
        case.write(path)
        files.append(path)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "gatekeeper.cli", "check", *map(str, files)],
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", "GATEKEEPER_SECRET": SECRET},
        capture_output=True,
        text=True,
        timeout=120,  # a hang guard, not a speed requirement
    )
    record_property("check_seconds_for_all_hostile_files", round(time.monotonic() - started, 2))
    assert done.returncode == 1
    assert done.stderr == ""  # no traceback, no warning
    lines = done.stdout.splitlines()
    assert len(lines) == len(HOSTILE), done.stdout
    for case, path, line in zip(HOSTILE, files, lines, strict=True):
        match = re.match(rf"^{re.escape(str(path))}:(\d+):(\d+): (.*)$", line)
        assert match, line
        assert int(match.group(1)) == case.line, line
        assert re.search(case.says, match.group(3)), line


@pytest.mark.parametrize("case", HOSTILE, ids=[case.name for case in HOSTILE])
def test_loading_gives_one_issue(case: Hostile, tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    case.write(path)
    with pytest.raises(PolicyError) as info:
        read_policy(path, env={})
    (issue,) = info.value.issues
    assert (issue.file, issue.line) == (str(path), case.line)
    assert re.search(case.says, issue.message), issue


TEXT_CASES = [case for case in HOSTILE if case.name not in READ_ONLY]


@pytest.mark.parametrize("case", TEXT_CASES, ids=[case.name for case in TEXT_CASES])
def test_pyyaml_parser_gives_the_same_one_issue(case: Hostile) -> None:
    # Where PyYAML has no libyaml, its own parser feeds the same composer and budgets.
    text = case.make().decode("utf-8")
    with pytest.raises(PolicyError) as info:
        parse_policy(text, source="p.yaml", env={}, libyaml=False)
    (issue,) = info.value.issues
    assert issue.line == case.line, issue
    assert re.search(case.says, issue.message), issue
