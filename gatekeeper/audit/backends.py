"""Which store holds a consent log: the one factory that knows the backends.

The interface (store.py) imports no backend and each backend imports the interface, so
adding one is a module and a branch here. Backends are imported when their URL is
opened: PostgreSQL needs asyncpg, an optional extra.
"""

from __future__ import annotations

from pathlib import Path

from .checkpoint import Checkpointer
from .store import Store, display


def open_store(
    url: str, checkpointer: Checkpointer, *, outbox: bool = False, create: bool = True
) -> Store:
    """The store for a `policy.audit.store` URL. No I/O happens until the first call.

    `create=False` (the CLI) refuses to create a SQLite file that is not there, so a
    typo in a path is an error rather than an empty log that verifies.
    """
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if path in ("", ":memory:"):
            raise ValueError("audit.store: a consent log must be a file: sqlite:///PATH")
        from .store_sqlite import SQLiteStore

        return SQLiteStore(Path(path), checkpointer, outbox=outbox, create=create)
    if url.startswith(("postgresql://", "postgres://")):
        try:
            from .store_postgres import PostgresStore
        except ImportError:  # asyncpg is the optional `postgres` extra
            raise ValueError(
                "audit.store is PostgreSQL but asyncpg is not installed: "
                "pip install 'gatekeeper[postgres]'"
            ) from None
        return PostgresStore(url, checkpointer, outbox=outbox)
    raise ValueError(f"audit.store {display(url)!r}: use sqlite:///PATH or postgresql://...")
