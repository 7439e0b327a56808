"""What a consent log store does, whatever holds the data (SQLite or PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from .checkpoint import Checkpoint
from .declaration import Declaration
from .record import Draft, Record


class LogUnavailable(Exception):
    """The log cannot durably record right now; the consent must not be acknowledged."""


@dataclass(frozen=True, slots=True)
class Query:
    """Record filters shared by export, the auditor view and stats. Times are `iso()` text."""

    since: str | None = None  # inclusive
    until: str | None = None  # exclusive
    consent_id: str | None = None
    country: str | None = None

    def is_empty(self) -> bool:
        return not (self.since or self.until or self.consent_id or self.country)

    def where(self, placeholder: Callable[[int], str], start: int = 1) -> tuple[str, list[Any]]:
        """SQL conditions (joined with AND, or 'TRUE') and their arguments."""
        parts: list[str] = []
        args: list[Any] = []
        for column, op, value in (
            ("time", ">=", self.since),
            ("time", "<", self.until),
            ("consent_id", "=", self.consent_id),
            ("country", "=", self.country.upper() if self.country else None),
        ):
            if value is not None:
                args.append(value)
                parts.append(f"{column} {op} {placeholder(start + len(args) - 1)}")
        return (" AND ".join(parts) or "1 = 1"), args

    def matches(self, record: Record) -> bool:
        return (
            (self.since is None or record.time >= self.since)
            and (self.until is None or record.time < self.until)
            and (self.consent_id is None or record.consent_id == self.consent_id)
            and (self.country is None or record.country == self.country.upper())
        )


@dataclass(frozen=True, slots=True)
class Head:
    log_id: str
    size: int
    chain: str
    frontier: tuple[str, ...]
    end: int = 0  # one past the largest seq stored, read with the head in one snapshot


@dataclass(frozen=True, slots=True)
class ArchivedTexts:
    hash: str
    texts: dict[str, str]
    shown: tuple[tuple[str, str, str], ...]  # (revision, language, first seen)
    stored_text: str  # as archived, so a verifier can re-hash exactly what is stored

    def to_dict(self) -> dict[str, Any]:
        return {
            "hash": self.hash,
            "texts": self.texts,
            "shown": [
                {"revision": r, "language": lang, "first_seen": t} for r, lang, t in self.shown
            ],
        }


@dataclass(frozen=True, slots=True)
class StatsRow:
    day: str
    mode: str
    event: str
    categories: dict[str, bool]
    count: int


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    seqs: tuple[int, ...]
    status: int | None
    reason: str
    failed_at: str


class Store(Protocol):
    """A durable, append-only consent log. Every method may raise LogUnavailable."""

    log_id: str  # known once the store has been opened (after any call)

    @property
    def display_url(self) -> str: ...

    async def append(self, draft: Draft) -> None:
        """Return once the record is committed; an event id already present is a no-op."""

    async def archive_texts(self, hash: str, revision: str, language: str, text: str) -> None: ...

    async def head(self) -> Head: ...

    async def records(
        self, query: Query, *, after: int = -1, before: int | None = None, limit: int = 1000
    ) -> list[Record]:
        """Matching records with after < seq < before, in chain order."""

    async def seq_range(self, query: Query) -> tuple[int, int, int] | None:
        """(first seq, last seq, count) of the matching records, or None."""

    async def checkpoints(self) -> list[Checkpoint]: ...

    async def newest_checkpoint(self) -> Checkpoint | None: ...

    async def declarations(self) -> list[Declaration]:
        """The log's declarations, by start."""

    async def leaves(self, after: int, before: int, limit: int = 10000) -> list[tuple[int, str]]:
        """(seq, stored leaf hash) with after < seq < before, in chain order."""

    async def sign_checkpoint(self, now: str, due: str | None) -> Checkpoint | None:
        """Under the write lock, checkpoint the records after the newest checkpoint.

        With `due`, only when the newest checkpoint is from `due` or earlier, so processes
        sharing the log sign one per interval between them. None when nothing was signed.
        """

    async def meta(self, key: str) -> str | None: ...

    async def swap_meta(self, key: str, old: str | None, new: str) -> bool:
        """Set `key` to `new` if it holds `old` (None: absent); whether it did."""

    async def stats(self, query: Query) -> list[StatsRow]: ...

    async def texts(self, hashes: Sequence[str] | None = None) -> list[ArchivedTexts]:
        """The archived texts with these hashes (all of them when None)."""

    async def purge(self, before: str, now: str) -> int:
        """Erase the personal fields of records older than `before`; return how many."""

    async def outbox_claim(self, limit: int, now: str, lease_until: str) -> list[Record]: ...

    async def outbox_done(self, seqs: Sequence[int]) -> None: ...

    async def outbox_release(self, seqs: Sequence[int]) -> None: ...

    async def outbox_dead(
        self, seqs: Sequence[int], status: int | None, reason: str, body: str, now: str
    ) -> None:
        """Move records the collector refused out of the outbox, keeping what was sent."""

    async def outbox_size(self) -> int: ...

    async def dead_letters(self) -> list[DeadLetter]: ...

    async def close(self) -> None: ...


RECORD_COLUMNS = (
    "seq, event_id, time, event, categories, method, revision, texts_hash, language, mode, "
    "valid_until, consent_id, country, subdivision, ip, user_agent, path, salt, "
    "personal_hash, leaf, chain, tc_string, gpp_string"
)
CHECKPOINT_COLUMNS = "size, time, root, chain, frontier, key_id, signature, previous"
DECLARATION_COLUMNS = "start, time, checkpoint_every, interval_ms, key_id, signature"


def record_row(record: Record) -> tuple[Any, ...]:
    return (
        record.seq,
        record.event_id,
        record.time,
        record.event,
        json.dumps(record.categories, sort_keys=True, separators=(",", ":")),
        record.method,
        record.revision,
        record.texts_hash,
        record.language,
        record.mode,
        record.valid_until,
        record.consent_id,
        record.country,
        record.subdivision,
        record.ip,
        record.user_agent,
        record.path,
        record.salt,
        record.personal_hash,
        record.leaf,
        record.chain,
        record.tc_string,
        record.gpp_string,
    )


def row_record(row: Sequence[Any]) -> Record:
    (
        seq,
        event_id,
        time,
        event,
        categories,
        method,
        revision,
        texts_hash,
        language,
        mode,
        valid_until,
        consent_id,
        country,
        subdivision,
        ip,
        user_agent,
        path,
        salt,
        personal_hash,
        leaf,
        chain,
        tc_string,
        gpp_string,
    ) = row
    return Record(
        seq=int(seq),
        event_id=event_id,
        time=time,
        event=event,
        categories=json.loads(categories),
        method=method,
        revision=revision,
        texts_hash=texts_hash,
        language=language,
        mode=mode,
        valid_until=valid_until,
        consent_id=consent_id,
        country=country,
        subdivision=subdivision,
        ip=ip,
        user_agent=user_agent,
        path=path,
        salt=salt,
        personal_hash=personal_hash,
        leaf=leaf,
        chain=chain,
        tc_string=tc_string,
        gpp_string=gpp_string,
    )


def checkpoint_row(checkpoint: Checkpoint) -> tuple[Any, ...]:
    return (
        checkpoint.size,
        checkpoint.time,
        checkpoint.root,
        checkpoint.chain,
        json.dumps(list(checkpoint.frontier)),
        checkpoint.key_id,
        checkpoint.signature,
        checkpoint.previous,
    )


def row_checkpoint(log_id: str, row: Sequence[Any]) -> Checkpoint:
    size, time, root, chain, frontier, key_id, signature, previous = row
    return Checkpoint(
        log_id=log_id,
        size=int(size),
        time=time,
        root=root,
        chain=chain,
        frontier=tuple(json.loads(frontier)),
        key_id=key_id,
        signature=signature,
        previous=None if previous is None else int(previous),
    )


def declaration_row(declaration: Declaration) -> tuple[Any, ...]:
    return (
        declaration.start,
        declaration.time,
        declaration.checkpoint_every,
        declaration.interval_ms,
        declaration.key_id,
        declaration.signature,
    )


def row_declaration(log_id: str, row: Sequence[Any]) -> Declaration:
    start, time, every, interval_ms, key_id, signature = row
    return Declaration(log_id, int(start), time, int(every), int(interval_ms), key_id, signature)


def display(url: str) -> str:
    """The store URL without a password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))
