"""A PostgreSQL schema of its own per test (as tests/audit/conftest.py does)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest

from tests.conftest import require

PG_DSN = os.environ.get("GATEKEEPER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    try:
        import asyncpg
    except ImportError:
        require(False, "asyncpg is not installed (pip install 'gatekeeper[postgres]')")
    try:
        conn = await asyncpg.connect(PG_DSN, timeout=3)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        require(False, f"PostgreSQL not reachable at {PG_DSN}: {exc}")
    schema = f"gk_counters_{uuid.uuid4().hex[:12]}"
    try:
        yield f"{PG_DSN}?schema={schema}"
    finally:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()
