"""The attacked site for the hostile-input suites (tests/hostile/target.py).

One site per test module, in the module's event loop (the consent log's store belongs
to the loop that first used it): building one costs more than hundreds of requests.
Modules that use it mark themselves `pytest.mark.asyncio(loop_scope="module")`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.audit.conftest import pg_url  # noqa: F401 (a PostgreSQL store in its own schema)
from tests.hostile.site import app
from tests.hostile.target import Target


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def target(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Target]:
    site = Target.build(tmp_path_factory.mktemp("site"), app)
    try:
        yield site
    finally:
        await site.close()
