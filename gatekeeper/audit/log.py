"""ConsentLog: what the consent endpoint, the CLI and the auditor view call."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from ..policy.schema import Policy
from .checkpoint import Checkpointer, PublicKey
from .record import ConsentEvent, Draft, IPMode, Record, canonical_json, iso, texts_hash
from .sink import Sink
from .stats import Summary, summarise
from .store import ArchivedTexts, Head, LogUnavailable, Query, Store, open_store
from .verify import Report, verify_store


def _now() -> datetime:
    return datetime.now(UTC)


class ConsentLog:
    """The consent log of one site.

    Creating one does no I/O: the store connects (and a SQLite writer thread starts) on
    first use, in whatever event loop is running then, so it works under servers that
    never send lifespan events.
    """

    def __init__(
        self,
        store: Store,
        checkpointer: Checkpointer,
        *,
        ip_mode: IPMode = "truncate",
        ip_key: bytes = b"",
        retention_days: int = 395,
        required: frozenset[str] = frozenset(),
        sink: Sink | None = None,
        clock: Callable[[], datetime] = _now,
        append_timeout: float = 10.0,
    ) -> None:
        self.store = store
        self.checkpointer = checkpointer
        self.ip_mode = ip_mode
        self.ip_key = ip_key
        self.retention_days = retention_days
        self.required = required
        self.sink = sink
        self.clock = clock
        self.append_timeout = append_timeout
        self._archived: set[tuple[str, str, str]] = set()

    @classmethod
    def from_policy(cls, policy: Policy, *, create: bool = True) -> ConsentLog:
        audit = policy.audit
        checkpointer = Checkpointer(audit.checkpoint_every, audit.signing_key)
        store = open_store(audit.store, checkpointer, outbox=audit.sink is not None, create=create)
        sink = None
        if audit.sink is not None:
            sink = Sink(
                store, audit.sink.url, token=audit.sink.token, batch_size=audit.sink.batch_size
            )
        return cls(
            store,
            checkpointer,
            ip_mode=audit.ip,
            ip_key=policy.secret_keys[0].encode(),
            retention_days=audit.retention_days,
            required=frozenset(n for n, c in policy.consent.categories.items() if c.required),
            sink=sink,
        )

    # --- writing ---------------------------------------------------------------------

    async def append(self, event: ConsentEvent) -> str:
        """Record a consent event; return its event id once it is durably committed.

        Raises LogUnavailable when it cannot be committed: the consent must then not be
        acknowledged. A retry with the same `event_id` does not add a second record.
        """
        draft = Draft.from_event(event, now=self.clock(), ip_mode=self.ip_mode, ip_key=self.ip_key)
        try:
            # A hung disk or database must not hold the visitor's request forever. The
            # write may still land later; the visitor then clicked, was told it failed,
            # and will be asked again.
            async with asyncio.timeout(self.append_timeout):
                await self.store.append(draft)
        except TimeoutError:
            raise LogUnavailable(
                f"the consent log did not commit within {self.append_timeout:g}s"
            ) from None
        if self.sink is not None:
            self.sink.wake()
        return draft.event_id

    async def archive_texts(self, revision: str, language: str, texts: Mapping[str, str]) -> str:
        """Keep the texts shown for a revision and language; return their hash."""
        digest = texts_hash(texts)
        key = (digest, revision, language)
        if key not in self._archived:
            await self.store.archive_texts(
                digest, revision, language, canonical_json(dict(texts)).decode()
            )
            self._archived.add(key)
        return digest

    async def purge(self, older_than_days: int | None = None) -> int:
        """Erase the personal fields of records older than this (default: retention_days)."""
        days = self.retention_days if older_than_days is None else older_than_days
        now = self.clock()
        return await self.store.purge(iso(now - timedelta(days=days)), iso(now))

    # --- reading (CLI, auditor view) -------------------------------------------------

    async def history(self, consent_id: str) -> list[dict[str, Any]]:
        """Every record of one visitor, oldest first: the answer to an access request."""
        records: list[Record] = []
        after = -1
        while True:
            page = await self.store.records(Query(consent_id=consent_id), after=after)
            records += page
            if len(page) < 1000:
                break
            after = page[-1].seq
        return [r.to_dict() for r in records]

    async def records(
        self, query: Query | None = None, *, after: int = -1, limit: int = 100
    ) -> list[Record]:
        """A page of records in chain order; pass the last seq as `after` for the next."""
        return await self.store.records(query or Query(), after=after, limit=limit)

    async def stats(self, query: Query | None = None) -> Summary:
        return summarise(await self.store.stats(query or Query()), self.required)

    async def texts(self, digest: str) -> ArchivedTexts | None:
        found = await self.store.texts([digest])
        return found[0] if found else None

    async def head(self) -> Head:
        return await self.store.head()

    def public_key(self) -> PublicKey | None:
        """The checkpoints' public key (reads audit.signing_key), or None when unset."""
        return self.checkpointer.public_key()

    async def verify(self) -> Report:
        """Check every record and checkpoint, with the policy's key when it has one."""
        report = await verify_store(
            self.store, self.public_key(), checkpoint_every=self.checkpointer.every
        )
        if self.checkpointer.key_path is None:
            report.notes.append(
                "policy.audit.signing_key is not set, so checkpoints are not signed: the "
                "hashes show accidental damage, but whoever can write to the database "
                "could recompute them"
            )
        return report

    async def close(self) -> None:
        if self.sink is not None:
            await self.sink.close()
        await self.store.close()
