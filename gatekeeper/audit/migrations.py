"""The log's schema, as ordered migrations for SQLite and PostgreSQL.

One logical schema on both: the same tables, columns and meanings, in each dialect's
types. Times and hashes are stored as text on both, because the text is what the hashes
cover: a TIMESTAMPTZ round trip could change the bytes a verifier re-hashes. A store
applies every migration above its `schema_version` in order, all in one transaction (a
half-migrated log is never seen), and refuses a database newer than the code.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    sqlite: tuple[str, ...]
    postgres: tuple[str, ...]


SCHEMA_VERSION_TABLE = {
    "sqlite": "CREATE TABLE IF NOT EXISTS schema_version ("
    "version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)",
    "postgres": "CREATE TABLE IF NOT EXISTS schema_version ("
    "version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)",
}


def _records(seq_type: str) -> str:
    return f"""CREATE TABLE records (
        seq {seq_type} PRIMARY KEY,
        event_id TEXT NOT NULL UNIQUE,
        time TEXT NOT NULL,
        event TEXT NOT NULL,
        categories TEXT NOT NULL,
        method TEXT NOT NULL,
        revision TEXT NOT NULL,
        texts_hash TEXT NOT NULL,
        language TEXT NOT NULL,
        mode TEXT NOT NULL,
        valid_until TEXT NOT NULL,
        consent_id TEXT,
        country TEXT,
        subdivision TEXT,
        ip TEXT,
        user_agent TEXT,
        path TEXT,
        salt TEXT,
        personal_hash TEXT NOT NULL,
        leaf TEXT NOT NULL,
        chain TEXT NOT NULL,
        purged_at TEXT
    )"""


_ZERO = "0" * 64

_CORE_COMMON = (
    "CREATE INDEX records_consent_id ON records (consent_id)",
    "CREATE INDEX records_time ON records (time)",
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # The chain's end, kept with the records in every append transaction, so an appender
    # never scans the log and a truncated tail shows up against it.
    "CREATE TABLE head (id INTEGER PRIMARY KEY CHECK (id = 1), size BIGINT NOT NULL, "
    "chain TEXT NOT NULL, frontier TEXT NOT NULL)",
    f"INSERT INTO head (id, size, chain, frontier) VALUES (1, 0, '{_ZERO}', '[]')",
    "CREATE TABLE checkpoints (size BIGINT PRIMARY KEY, time TEXT NOT NULL, "
    "root TEXT NOT NULL, chain TEXT NOT NULL, frontier TEXT NOT NULL, key_id TEXT, "
    "signature TEXT)",
    "CREATE TABLE texts (hash TEXT PRIMARY KEY, texts TEXT NOT NULL, archived_at TEXT NOT NULL)",
    "CREATE TABLE texts_shown (hash TEXT NOT NULL, revision TEXT NOT NULL, "
    "language TEXT NOT NULL, first_seen TEXT NOT NULL, PRIMARY KEY (hash, revision, language))",
)

_DECLARATIONS = (
    # NULL for checkpoints written before they named the one before them (version 1).
    "ALTER TABLE checkpoints ADD COLUMN previous BIGINT",
    "CREATE TABLE declarations (start BIGINT PRIMARY KEY, time TEXT NOT NULL, "
    "checkpoint_every BIGINT NOT NULL, interval_ms BIGINT NOT NULL, key_id TEXT, "
    "signature TEXT)",
)

_TCF_STRINGS = (
    # NULL for every record made before (or without) TCF: their hashes never covered them.
    "ALTER TABLE records ADD COLUMN tc_string TEXT",
    "ALTER TABLE records ADD COLUMN gpp_string TEXT",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "records, chain head, checkpoints, texts archive",
        sqlite=(_records("INTEGER"), *_CORE_COMMON),
        postgres=(_records("BIGINT"), *_CORE_COMMON),
    ),
    Migration(
        2,
        "outbox and dead letters for the outbound sink",
        sqlite=(
            "CREATE TABLE outbox (seq INTEGER PRIMARY KEY, queued_at TEXT NOT NULL, "
            "claimed_until TEXT)",
            "CREATE TABLE dead_letter (id INTEGER PRIMARY KEY AUTOINCREMENT, "
            "seqs TEXT NOT NULL, status INTEGER, reason TEXT NOT NULL, "
            "failed_at TEXT NOT NULL, body TEXT NOT NULL)",
        ),
        postgres=(
            "CREATE TABLE outbox (seq BIGINT PRIMARY KEY, queued_at TEXT NOT NULL, "
            "claimed_until TEXT)",
            "CREATE TABLE dead_letter (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
            "seqs TEXT NOT NULL, status INTEGER, reason TEXT NOT NULL, "
            "failed_at TEXT NOT NULL, body TEXT NOT NULL)",
        ),
    ),
    Migration(
        3,
        "chained checkpoints and the log's signed declarations",
        sqlite=_DECLARATIONS,
        postgres=_DECLARATIONS,
    ),
    Migration(
        4,
        "the IAB TCF and GPP strings of a decision",
        sqlite=_TCF_STRINGS,
        postgres=_TCF_STRINGS,
    ),
)

LATEST = MIGRATIONS[-1].version


def pending(current: int) -> list[Migration]:
    if current > LATEST:
        raise RuntimeError(
            f"the consent log's schema is version {current}, newer than this gatekeeper "
            f"knows ({LATEST}); upgrade gatekeeper"
        )
    return [m for m in MIGRATIONS if m.version > current]
