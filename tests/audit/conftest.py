"""Consent log fixtures: signing keys, policies with an audit section, events, PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gatekeeper.audit import ConsentEvent, ConsentLog
from gatekeeper.policy import Policy, load_policy
from tests.conftest import require

PG_DSN = os.environ.get("GATEKEEPER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def write_key(path: Path) -> Path:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.write_bytes(pem)
    return path


def event(n: int = 0, **changes: Any) -> ConsentEvent:
    """A plausible consent event; `n` varies the visitor and the choice."""
    fields: dict[str, Any] = {
        "consent_id": f"visitor-{n % 5}",
        "event": ("given", "refused", "updated")[n % 3],
        "categories": {"necessary": True, "analytics": n % 2 == 0, "ads": n % 3 == 0},
        "method": ("accept_all@banner", "reject_all@banner", "save@preferences")[n % 3],
        "revision": "r1",
        "texts_hash": "0" * 64,
        "language": "en",
        "mode": "opt_in",
        "country": "DE",
        "subdivision": None,
        "ip": f"203.0.113.{n % 250}",
        "user_agent": "Mozilla/5.0 (test)",
        "path": "/article",
        "valid_until": NOW + timedelta(days=180),
    }
    fields.update(changes)
    return ConsentEvent(**fields)


class Clock:
    """A clock the test sets by hand, for records on chosen days."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    return write_key(tmp_path / "audit-signing.pem")


@pytest.fixture
def audit_policy(policy_file: Callable[..., Path], key_file: Path) -> Callable[..., Path]:
    """Write a policy whose audit section uses these settings; returns its path."""

    def write(
        store: str = "sqlite:///consent.db",
        *,
        signed: bool = True,
        every: int = 10,
        extra: str = "",
        name: str = "policy.yaml",
    ) -> Path:
        key = f"  signing_key: {key_file.name}\n" if signed else ""
        return policy_file(
            f'audit:\n  store: "{store}"\n{key}  checkpoint_every: {every}\n{extra}', name=name
        )

    return write


@pytest.fixture
def policy(audit_policy: Callable[..., Path]) -> Policy:
    return load_policy(audit_policy())


@pytest.fixture
async def log(policy: Policy) -> AsyncIterator[ConsentLog]:
    consent_log = ConsentLog.from_policy(policy)
    consent_log.clock = Clock()
    yield consent_log
    await consent_log.close()


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A PostgreSQL store URL in a schema of its own, dropped afterwards."""
    try:
        import asyncpg
    except ImportError:
        require(False, "asyncpg is not installed (pip install 'gatekeeper[postgres]')")
    try:
        conn = await asyncpg.connect(PG_DSN, timeout=3)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        require(False, f"PostgreSQL not reachable at {PG_DSN}: {exc}")
    schema = f"gk_test_{uuid.uuid4().hex[:12]}"
    try:
        yield f"{PG_DSN}?schema={schema}"
    finally:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()
