"""Long-lived resources with one owner: opened by their config, kept across policy
reloads while the config is unchanged, closed when no policy uses them any more, and at
shutdown.

GeoIP readers, the consent log, the adblock detector and the block counter outlive any
one policy revision: reloading a policy that only changed a banner text must not reopen
the log or drop the counts. Each is asked for by a key that says what it is and how it
is configured; a new revision that asks with the same key gets the same object.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

log = logging.getLogger("gatekeeper")

T = TypeVar("T")


def _close(resource: Any) -> Any:
    close = getattr(resource, "close", None)
    return close() if close is not None else None


class Resources:
    """The resources of one Gatekeeper, by key."""

    def __init__(self) -> None:
        self._held: dict[Hashable, Any] = {}
        self._asked: set[Hashable] | None = None
        self._retired: list[Any] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._waiting: list[Any] = []  # retired, closed by a task after a delay

    def get(self, key: Hashable, open_: Callable[[], T]) -> T:
        """The resource for `key`, opened now if no earlier revision opened it."""
        if self._asked is not None:
            self._asked.add(key)
        if key not in self._held:
            self._held[key] = open_()
        return self._held[key]

    def begin(self) -> None:
        """Start building a revision: note which keys it asks for."""
        self._asked = set()

    def commit(self) -> None:
        """The revision is in use: retire what it did not ask for."""
        asked, self._asked = self._asked or set(), None
        self._retire([key for key in self._held if key not in asked])

    def abandon(self, keep: set[Hashable] | None = None) -> None:
        """The revision failed: retire what it opened that the current one does not use."""
        asked, self._asked = self._asked or set(), None
        keep = keep or set()
        self._retire([key for key in asked if key not in keep and key in self._held])

    def keys(self) -> set[Hashable]:
        return set(self._held)

    def _retire(self, keys: list[Hashable]) -> None:
        for key in keys:
            self._retired.append(self._held.pop(key))

    async def close_retired(self) -> None:
        retired, self._retired = self._retired, []
        for resource in retired:
            await self._close_one(resource)

    async def close(self) -> None:
        """Close everything (at shutdown), those waiting for their delay included: a
        consent log replaced a moment ago still signs and hands on its last records."""
        here = [task for task in self._tasks if task.get_loop() is asyncio.get_running_loop()]
        for task in here:
            task.cancel()
        await asyncio.gather(*here, return_exceptions=True)
        self._retired = self._waiting + self._retired
        self._waiting = []
        self._retire(list(self._held))
        await self.close_retired()

    @staticmethod
    async def _close_one(resource: Any) -> None:
        try:
            result = _close(resource)
            if inspect.isawaitable(result):
                await result
        except Exception:  # one failing close must not keep the others open
            log.exception("closing %r failed", resource)

    def close_retired_soon(self, delay: float = 10.0) -> None:
        """Close retired resources after `delay` seconds, on the running loop: requests
        still in flight on the previous revision finish with them first."""
        if not self._retired:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop: they are closed at shutdown
        retired, self._retired = self._retired, []
        self._waiting.extend(retired)

        async def later() -> None:
            await asyncio.sleep(delay)
            for resource in retired:
                await self._close_one(resource)
                # Only once closed: cancelled halfway, shutdown closes it (again).
                self._waiting = [r for r in self._waiting if r is not resource]

        task = loop.create_task(later())
        self._tasks.add(task)  # the loop keeps only a weak reference
        task.add_done_callback(self._tasks.discard)
