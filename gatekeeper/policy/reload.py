"""Picking up an edited policy file while the server runs."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from .loader import PolicyError, load_policy
from .schema import Policy

log = logging.getLogger("gatekeeper.policy")


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class PolicyFile:
    """A policy file and the last good policy read from it.

    `poll()` is cheap enough for the request path: it looks at the file at most once per
    `policy.reload_interval` seconds. A broken edit is logged and the last good policy
    stays in force, so a typo never takes a site down.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        env: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self._env = env
        self._clock = clock
        self._stamp = _stamp(self.path)
        self.policy = load_policy(self.path, env=env)
        self._next_check = clock() + self.policy.reload_interval

    def poll(self) -> Policy | None:
        """The new policy if the file changed and is valid, else None."""
        interval = self.policy.reload_interval
        if not interval:
            return None
        now = self._clock()
        if now < self._next_check:
            return None
        self._next_check = now + interval
        stamp = _stamp(self.path)
        if stamp == self._stamp:
            return None
        self._stamp = stamp
        try:
            policy = load_policy(self.path, env=self._env)
        except PolicyError as exc:
            log.error("policy %s not reloaded; keeping the last good one:\n%s", self.path, exc)
            return None
        log.info("policy %s reloaded (revision %s)", self.path, policy.site.revision)
        self.policy = policy
        return policy
