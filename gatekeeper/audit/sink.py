"""Shipping records to a remote collector (policy.audit.sink) from a durable outbox.

Every append also queues its record in the outbox table, in the same transaction, so a
record is never committed without being queued. A background task claims a batch (a
lease, so several instances do not send the same batch), POSTs it as JSON with a bearer
token, and deletes it on 2xx. Network errors, timeouts, 408, 429 and 5xx are retried
with exponential backoff and jitter: the collector is down, the records wait. Any other
answer (4xx) means the collector will never take this batch; it moves to the dead-letter
table with what was sent and why, so one bad batch does not block the queue.
Delivery is at least once: the collector deduplicates on `event_id`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

from .record import iso
from .store import LogUnavailable, Store

log = logging.getLogger("gatekeeper.audit")


class Retry(Exception):
    """A batch that may succeed later."""


def _now() -> datetime:
    return datetime.now(UTC)


class Sink:
    def __init__(
        self,
        store: Store,
        url: str,
        *,
        token: str | None = None,
        batch_size: int = 100,
        timeout: float = 10.0,
        base_delay: float = 1.0,
        max_delay: float = 300.0,
        poll_interval: float = 30.0,
        lease: float = 120.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.store = store
        self.url = url
        self.token = token
        self.batch_size = batch_size
        self.timeout = timeout
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.poll_interval = poll_interval
        self.lease = lease
        self.transport = transport
        self.clock = clock
        self._client: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._log_id: str | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            headers = {"Content-Type": "application/json"}
            if self.token:
                headers["Authorization"] = f"Bearer {self.token}"
            self._client = httpx.AsyncClient(
                timeout=self.timeout, headers=headers, transport=self.transport
            )
        return self._client

    async def send_batch(self) -> int:
        """Send one batch; return how many records it held (0: the outbox is empty).

        Raises Retry when it should be tried again later.
        """
        now = self.clock()
        until = now + timedelta(seconds=self.lease)
        records = await self.store.outbox_claim(self.batch_size, iso(now), iso(until))
        if not records:
            return 0
        if self._log_id is None:
            self._log_id = (await self.store.head()).log_id
        seqs = [r.seq for r in records]
        body = json.dumps(
            {"log_id": self._log_id, "records": [r.to_dict() for r in records]},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        try:
            response = await self._http().post(self.url, content=body.encode())
        except httpx.HTTPError as exc:
            await self.store.outbox_release(seqs)
            raise Retry(f"{type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if 200 <= status < 300:
            await self.store.outbox_done(seqs)
            return len(records)
        if status in (408, 429) or status >= 500:
            await self.store.outbox_release(seqs)
            raise Retry(f"HTTP {status}")
        reason = f"HTTP {status}: {response.text[:500]}"
        log.error(
            "audit sink refused records %d..%d (%s); moved to dead letters",
            seqs[0],
            seqs[-1],
            reason,
        )
        await self.store.outbox_dead(seqs, status, reason, body, iso(self.clock()))
        return len(records)

    def _delay(self, attempt: int) -> float:
        # Jitter keeps instances that failed together from retrying together.
        return min(self.max_delay, self.base_delay * 2**attempt) * (0.5 + random.random() / 2)

    async def drain(self, *, max_attempts: int | None = None) -> None:
        """Send until the outbox is empty, backing off while the collector fails."""
        attempt = 0
        while True:
            try:
                if await self.send_batch() == 0:
                    return
                attempt = 0
            except (Retry, LogUnavailable) as exc:
                if max_attempts is not None and attempt + 1 >= max_attempts:
                    raise
                delay = self._delay(attempt)
                log.warning("audit sink: %s; retrying in %.1fs", exc, delay)
                attempt += 1
                await asyncio.sleep(delay)

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            try:
                await self.drain()
            except Exception:  # a bug must not end shipping for the life of the process
                log.exception("audit sink failed; trying again in %ss", self.poll_interval)
            # Also poll: records queued by other instances, or left by a previous run.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)
            self._wake.clear()

    def wake(self) -> None:
        """Note that records are waiting; starts the background sender on first use."""
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._wake = asyncio.Event()
            self._task = loop.create_task(self._run(), name="gatekeeper-audit-sink")
        assert self._wake is not None
        self._wake.set()

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None and task.get_loop() is asyncio.get_running_loop():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
