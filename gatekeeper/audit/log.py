"""ConsentLog: what the consent endpoint, the CLI and the auditor view call.

Lifecycle, for whoever runs it (the middleware's lifespan, or nobody):

    await log.start()   # optional: starts the periodic work (time checkpoints, witness)
    await log.append(event)   # also starts it, lazily, if start() was never called
    await log.close()   # stops it; signs what is unsigned and hands it to the witness

Both `start` and `close` are idempotent and safe to call from any event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ..policy.schema import Policy
from .backends import open_store
from .checkpoint import Checkpoint, Checkpointer, PublicKey
from .findings import Report
from .heads import HeadError, Witness, WitnessError, open_witness
from .periodic import Periodic
from .record import ConsentEvent, Draft, IPMode, Record, canonical_json, iso, texts_hash
from .sink import Sink
from .stats import Summary, summarise
from .store import ArchivedTexts, Head, LogUnavailable, Query, Store
from .verify import verify_store

log = logging.getLogger("gatekeeper.audit")
CLOSE_TIMEOUT = 5.0  # what a shutdown waits for the last checkpoint and head at most


def _now() -> datetime:
    return datetime.now(UTC)


class ConsentLog:
    """The consent log of one site.

    Creating one does no I/O: the store connects (and a SQLite writer thread starts) on
    first use, in whatever event loop is running then, so it works under servers that
    never send lifespan events. `autostart=False` (the CLI) never starts periodic work:
    reading or verifying the log must not sign anything.
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
        witness: Witness | None = None,
        autostart: bool = True,
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
        self.witness = witness
        self.autostart = autostart
        self.periodic = Periodic(store, checkpointer, lambda: self.clock(), witness=witness)
        self._archived: set[tuple[str, str, str]] = set()
        self._task: asyncio.Task[None] | None = None
        self._started = False

    @classmethod
    def from_policy(
        cls, policy: Policy, *, create: bool = True, autostart: bool = True
    ) -> ConsentLog:
        audit = policy.audit
        checkpointer = Checkpointer(
            audit.checkpoint_every,
            audit.signing_key,
            interval=audit.checkpoint_interval,
            retired=audit.retired_keys,
        )
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
            witness=open_witness(audit.witness) if audit.witness else None,
            autostart=autostart,
        )

    # --- the periodic work -----------------------------------------------------------

    async def start(self) -> None:
        """Start the periodic work in the running event loop (idempotent)."""
        loop = asyncio.get_running_loop()
        if self._task is not None and not self._task.done() and self._task.get_loop() is loop:
            return
        self._task = loop.create_task(self.periodic.run(), name="gatekeeper-audit-periodic")
        self._started = True
        if self.sink is not None:
            self.sink.wake()  # records a previous run left in the outbox

    async def checkpoint(self) -> Checkpoint | None:
        """Sign a checkpoint over every record after the newest one, now; None when there
        were none. Then hand the newest head to the witness, if there is one."""
        signed = await self.periodic.checkpoint(force=True)
        if self.witness is not None:
            try:
                await self.periodic.publish()
            except WitnessError as exc:
                log.warning("audit witness: %s; the periodic task retries", exc)
        return signed

    async def publish(self) -> Checkpoint | None:
        """Hand the newest signed head to the witness now (raises WitnessError)."""
        return await self.periodic.publish()

    async def signed_head(self) -> Checkpoint | None:
        """The newest checkpoint: the signed head auditors keep."""
        return await self.store.newest_checkpoint()

    # --- writing ---------------------------------------------------------------------

    async def append(self, event: ConsentEvent) -> str:
        """Record a consent event; return its event id once it is durably committed.

        Raises LogUnavailable when it cannot be committed: the consent must then not be
        acknowledged. A retry with the same `event_id` does not add a second record.
        """
        draft = Draft.from_event(event, now=self.clock(), ip_mode=self.ip_mode, ip_key=self.ip_key)
        if self.autostart and (self._task is None or self._task.done()):
            await self.start()
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

    def kept_heads(self) -> list[Checkpoint]:
        """The heads a local witness (a file or directory) holds for this log."""
        if self.witness is None or not self.store.log_id:
            return []
        return self.witness.heads(self.store.log_id)

    async def verify(self, heads: Sequence[Checkpoint] = ()) -> Report:
        """Check every record, checkpoint and declaration with the policy's keys, and that
        the log extends each head given and each head a local witness holds."""
        await self.store.head()  # opens the store: the log id names the witness's heads
        try:
            witnessed = await asyncio.to_thread(self.kept_heads)
        except HeadError as exc:
            witnessed = []
            log.warning("audit witness: cannot read it back: %s", exc)
        report = await verify_store(
            self.store,
            self.checkpointer.trusted() if self.checkpointer.key_path else None,
            heads=[*heads, *witnessed],
            now=self.clock(),
        )
        if witnessed:
            report.notes.append(f"{len(witnessed)} heads read back from audit.witness")
        if self.checkpointer.key_path is None:
            report.notes.append(
                "policy.audit.signing_key is not set, so checkpoints are not signed: the "
                "hashes show accidental damage, but whoever can write to the database "
                "could recompute them"
            )
        return report

    async def close(self) -> None:
        """Stop the periodic work; if this process ran it, sign what is still unsigned and
        hand the head to the witness first (bounded by CLOSE_TIMEOUT)."""
        task, self._task = self._task, None
        if task is not None and task.get_loop() is asyncio.get_running_loop():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if self._started:
            self._started = False
            try:
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await self.periodic.checkpoint(force=True)
                    if self.witness is not None:
                        await self.periodic.publish()
            except (TimeoutError, LogUnavailable, WitnessError) as exc:
                log.warning("consent log: the last checkpoint or head at shutdown failed: %s", exc)
        if self.sink is not None:
            await self.sink.close()
        if self.witness is not None:
            with contextlib.suppress(Exception):
                await self.witness.close()
        await self.store.close()
