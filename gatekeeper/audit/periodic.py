"""The log's periodic work: checkpoints on time, and signed heads to the witness.

Every process that writes the log runs this task, and the database decides which of them
does the work, so a deployment signs one checkpoint per interval however many workers or
hosts it has, and keeps signing when any one of them is killed:

- Checkpoints. Each process wakes every fifth of `audit.checkpoint_interval`; when the
  newest checkpoint is older than the interval and records came after it, it signs one
  (store.sign_checkpoint). The store checks the newest checkpoint again under the log's
  write lock (SQLite BEGIN IMMEDIATE, the PostgreSQL advisory lock of appends), so of two
  processes that wake together one signs and the other finds nothing to do. No lease or
  leader: a killed process holds no lock once its connection is gone.
- The witness. The newest head the witness took is kept in the log's meta table
  (`witness`: size, and a claim with an expiry). A process claims publication with a
  compare-and-set, POSTs or writes the head outside any database lock, and records the
  size; a process killed while publishing leaves a claim that expires. Failures are
  retried with exponential backoff and jitter; meanwhile newer heads replace the one that
  did not go out, since each head vouches for everything before it.

Nothing here runs on the request path.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from .checkpoint import Checkpoint, Checkpointer
from .heads import HeadError, Witness, WitnessError
from .record import iso
from .store import LogUnavailable, Store

log = logging.getLogger("gatekeeper.audit")

WITNESS_KEY = "witness"
LEASE = timedelta(seconds=60)


def _state(raw: str | None) -> tuple[int, str | None]:
    if raw is None:
        return 0, None
    try:
        data = json.loads(raw)
        return int(data["size"]), data.get("claimed_until")
    except (ValueError, KeyError, TypeError):
        return 0, None


def _encode(size: int, claimed_until: str | None) -> str:
    return json.dumps({"size": size, "claimed_until": claimed_until}, sort_keys=True)


class Periodic:
    def __init__(
        self,
        store: Store,
        checkpointer: Checkpointer,
        clock: Callable[[], datetime],
        *,
        witness: Witness | None = None,
        base_delay: float = 1.0,
        max_delay: float = 300.0,
    ) -> None:
        self.store = store
        self.checkpointer = checkpointer
        self.clock = clock
        self.witness = witness
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._attempt = 0
        self._retry_at = 0.0
        self._remembered = False

    @property
    def tick(self) -> float:
        return min(60.0, max(0.02, self.checkpointer.interval / 5))

    async def run(self) -> None:
        while True:
            # Sleep first: a process that just started has nothing of its own to sign, and
            # whatever an earlier run left is due at the first wake-up.
            await asyncio.sleep(self.tick)
            try:
                await self.step()
            except Exception:  # a bug must not end checkpointing for the life of the process
                log.exception("consent log: periodic work failed; trying again")

    async def step(self) -> None:
        """One wake-up: sign a checkpoint if one is due, publish the newest head."""
        try:
            await self.checkpoint(force=False)
        except LogUnavailable as exc:
            log.warning("consent log: cannot checkpoint now: %s", exc)
            return
        if self.witness is not None and time.monotonic() >= self._retry_at:
            try:
                await self.publish()
            except (WitnessError, LogUnavailable) as exc:
                delay = min(self.max_delay, self.base_delay * 2**self._attempt)
                delay *= 0.5 + random.random() / 2
                self._attempt += 1
                self._retry_at = time.monotonic() + delay
                log.warning("audit witness: %s; retrying in %.1fs", exc, delay)
            else:
                self._attempt = 0

    async def checkpoint(self, *, force: bool) -> Checkpoint | None:
        """Sign a checkpoint over the records after the newest one: when due, or now."""
        await self._remember()
        now = self.clock()
        due = None if force else iso(now - timedelta(seconds=self.checkpointer.interval))
        signed = await self.store.sign_checkpoint(iso(now), due)
        if signed is not None:
            log.info("consent log: signed checkpoint at size %d", signed.size)
        return signed

    async def _remember(self) -> None:
        """Once: the newest head a local witness holds is the least this process has seen."""
        if self._remembered or self.witness is None:
            return
        log_id = (await self.store.head()).log_id
        try:
            heads = await asyncio.to_thread(self.witness.heads, log_id)
        except HeadError as exc:
            log.warning("audit witness: cannot read it back: %s", exc)
            heads = []
        for head in heads:
            self.checkpointer.saw(head.size)
        self._remembered = True

    async def publish(self) -> Checkpoint | None:
        """Hand the newest head to the witness unless it has it, or another process is on
        it; the head published, or None."""
        if self.witness is None:
            return None
        newest = await self.store.newest_checkpoint()
        if newest is None:
            return None
        raw = await self.store.meta(WITNESS_KEY)
        published, claimed_until = _state(raw)
        now = self.clock()
        if newest.size <= published or (claimed_until is not None and claimed_until > iso(now)):
            return None
        claim = _encode(published, iso(now + LEASE))
        if not await self.store.swap_meta(WITNESS_KEY, raw, claim):
            return None  # another process claimed it first
        try:
            await self.witness.publish(newest.head())
        except BaseException:
            with contextlib.suppress(LogUnavailable):
                await self.store.swap_meta(WITNESS_KEY, claim, _encode(published, None))
            raise
        await self.store.swap_meta(WITNESS_KEY, claim, _encode(newest.size, None))
        log.info("audit witness: published the head of size %d", newest.size)
        return newest
