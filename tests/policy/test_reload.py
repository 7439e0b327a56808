"""PolicyFile: the request path asks `current()`; reading and checking happen elsewhere."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from gatekeeper.policy import LoadedPolicy, PolicyError, PolicyFile, PolicyIssue
from tests.conftest import BASE_POLICY
from tests.hostile.policies import HOSTILE


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def write(path: Path, revision: str, extra: str = "") -> None:
    """Replace the file as editors and deploys do, with a new inode."""
    staging = path.with_name("staging.yaml")
    staging.write_text(BASE_POLICY.replace('"r1"', f'"{revision}"') + extra, encoding="utf-8")
    os.replace(staging, path)


def started(tmp_path: Path, **kwargs) -> tuple[PolicyFile, Path, Clock]:
    path = tmp_path / "policy.yaml"
    write(path, "r1")
    clock = Clock()
    return PolicyFile(path, clock=clock, **kwargs), path, clock


def test_current_never_reads_or_checks_on_the_caller_thread(tmp_path):
    release = threading.Event()
    seen: list[tuple[str, str]] = []

    def check(loaded: LoadedPolicy) -> None:
        seen.append((threading.current_thread().name, loaded.policy.site.revision))
        if loaded.policy.site.revision == "r2":
            release.wait(timeout=30)

    policies, path, clock = started(tmp_path, check=check)
    assert seen == [(threading.current_thread().name, "r1")]  # start-up: checked at once
    write(path, "r2")
    clock.now += 2.0
    # The check of r2 is held until `release`; current() answers meanwhile.
    assert policies.current().site.revision == "r1"
    assert policies.current().site.revision == "r1"
    release.set()
    assert policies.wait(timeout=30)
    assert policies.current().site.revision == "r2"
    assert seen[1] == ("gatekeeper-policy", "r2")


def test_the_file_is_looked_at_once_per_reload_interval(tmp_path):
    policies, path, clock = started(tmp_path)
    write(path, "r2")
    clock.now += 1.9  # reload_interval is 2 s
    assert policies.current().site.revision == "r1"
    assert policies.wait(timeout=0)  # nothing was started
    clock.now += 0.1
    policies.current()
    assert policies.wait(timeout=30)
    assert policies.current().site.revision == "r2"


def test_reload_interval_zero_never_looks(tmp_path):
    path = tmp_path / "policy.yaml"
    write(path, "r1", "reload_interval: 0\n")
    clock = Clock()
    policies = PolicyFile(path, clock=clock)
    write(path, "r2")
    clock.now += 3600
    assert policies.current().site.revision == "r1"
    assert policies.wait(timeout=0)


def test_a_broken_file_keeps_the_last_good_and_the_next_good_one_is_taken(tmp_path, caplog):
    policies, path, clock = started(tmp_path)
    good = policies.current()
    write(path, "r2", "geoblock: {deny: [XX]}\n")
    clock.now += 2
    with caplog.at_level(logging.ERROR, logger="gatekeeper.policy"):
        policies.current()
        assert policies.wait(timeout=30)
    assert policies.current() is good
    assert f"policy {path} not reloaded; keeping the last good one" in caplog.text
    assert f"{path}:3:19: geoblock.deny[0]: 'XX' is not an ISO 3166-1 country code" in caplog.text
    write(path, "r3")
    clock.now += 2
    policies.current()
    assert policies.wait(timeout=30)
    assert policies.current().site.revision == "r3"


def test_every_hostile_file_keeps_the_last_good(tmp_path, caplog):
    policies, path, clock = started(tmp_path)
    good = policies.current()
    for case in HOSTILE:
        case.write(path)
        clock.now += 2
        with caplog.at_level(logging.ERROR, logger="gatekeeper.policy"):
            assert policies.current() is good
            assert policies.wait(timeout=30), case.name
        assert policies.current() is good, case.name
        assert f"{path}:{case.line}:" in caplog.text, case.name
        caplog.clear()


def test_what_the_check_refuses_is_not_swapped_in(tmp_path, caplog):
    def check(loaded: LoadedPolicy) -> None:
        if loaded.policy.site.revision == "r2":
            raise PolicyError([loaded.issue(("site", "revision"), "refused by the check")])

    policies, path, clock = started(tmp_path, check=check)
    write(path, "r2")
    clock.now += 2
    with caplog.at_level(logging.ERROR, logger="gatekeeper.policy"):
        policies.current()
        assert policies.wait(timeout=30)
    assert policies.current().site.revision == "r1"
    assert f"{path}:1:35: site.revision: refused by the check" in caplog.text


def test_a_failing_check_does_not_end_reloading(tmp_path, caplog):
    def check(loaded: LoadedPolicy) -> None:
        if loaded.policy.site.revision == "r2":
            raise RuntimeError("a bug in a check")

    policies, path, clock = started(tmp_path, check=check)
    for revision in ("r2", "r3"):
        write(path, revision)
        clock.now += 2
        with caplog.at_level(logging.ERROR, logger="gatekeeper.policy"):
            policies.current()
            assert policies.wait(timeout=30)
    assert "a bug in a check" in caplog.text
    assert policies.current().site.revision == "r3"


def test_positions_come_with_the_policy(tmp_path):
    policies, path, _ = started(tmp_path)
    issue = policies.loaded.issue(("secret_keys", 0), "just a test")
    assert issue == PolicyIssue(str(path), 2, 15, "secret_keys[0]", "just a test")
