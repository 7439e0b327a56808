"""gunicorn managing uvicorn workers, the app wrapped in code: counts are exact."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.browser.conftest import free_port, wait_for_port
from tests.conftest import REPO, require
from tests.workers.conftest import (
    GENEROUS,
    Visits,
    adblock_stats,
    demo_policy,
    expected,
    run_views,
)

VIEWS = {"NZ": ("blocked", 5), "ZA": ("allowed", 5), "JP": ("no_js", 5), "AU": ("check_again", 3)}


def test_gunicorn_with_uvicorn_workers(tmp_path: Path) -> None:
    gunicorn = Path(sys.executable).parent / "gunicorn"
    require(gunicorn.exists() or shutil.which("gunicorn") is not None, "gunicorn not installed")
    policy = demo_policy(tmp_path / "data", GENEROUS)
    port = free_port()
    process = subprocess.Popen(
        [str(gunicorn), "tests.workers.wrapped:app", "-k", "tests.workers.wrapped.Worker",
         "-w", "2", "--bind", f"127.0.0.1:{port}", "--graceful-timeout", "20"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "GATEKEEPER_TEST_POLICY": str(policy), "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    try:
        wait_for_port(port, process, timeout=60)
        visits = Visits(port)
        run_views(visits, VIEWS)
        assert len(visits.served_by) == 2, "the requests all went to one worker"
    finally:
        process.terminate()  # SIGTERM: gunicorn stops its workers, each writes its counts
        output = process.communicate(timeout=60)[0]
    assert adblock_stats(policy) == expected(VIEWS), output[-2000:]
