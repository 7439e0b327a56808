"""Fixtures for the whole suite.

Test data (GeoIP databases, filter lists) lives in `tests/data/`, so a clone anywhere runs
the whole suite. Tests that need a service outside the repository (PostgreSQL,
Chromium) call `require(...)`: it skips with the reason on a developer machine and fails
when `GATEKEEPER_TEST_STRICT=1`, which CI sets, so nothing silently stops being tested.

In-process HTTP goes through `httpx.AsyncClient` with `httpx.ASGITransport`; pytest-httpx
only intercepts httpx's network transports, so mocked outbound calls and in-process
requests can share one test.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
STRICT = os.environ.get("GATEKEEPER_TEST_STRICT") == "1"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Playwright's sync API keeps an event loop running for as long as the browser is up;
    # async tests cannot run after it in the same session, so browser tests go last.
    items.sort(key=lambda item: "tests/browser/" in item.nodeid.replace("\\", "/"))


def require(condition: bool, reason: str) -> None:
    """Skip (or fail under GATEKEEPER_TEST_STRICT=1) when `condition` is false."""
    if condition:
        return
    if STRICT:
        pytest.fail(f"required in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def geoip_dir() -> Path:
    """MaxMind's GeoIP2 test databases (tests/data/geoip/README.md)."""
    return DATA / "geoip"


@pytest.fixture(scope="session")
def filterlists_dir() -> Path:
    """EasyList and EasyPrivacy (tests/data/filterlists/README.md)."""
    return DATA / "filterlists"


SECRET = "test-secret-0123456789abcdef0123456789"
BASE_POLICY = f"""\
site: {{name: Test News, revision: "r1"}}
secret_keys: ["{SECRET}"]
"""


@pytest.fixture
def policy_file(tmp_path: Path):
    """Write a policy file: the base site and secret plus the given YAML sections."""

    def write(sections: str = "", name: str = "policy.yaml") -> Path:
        path = tmp_path / name
        path.write_text(BASE_POLICY + sections, encoding="utf-8")
        return path

    return write
