"""Picking up an edited policy file while the server runs, without stalling a request.

The request path only calls `current()`: it returns the newest good policy, and at most
once per `reload_interval` it stats the file. When the file changed, a worker thread
reads, parses, validates and checks it (`check`: what start-up would open); the new
policy is swapped in whole when that is done. A file that fails anywhere on the way is
logged and the last good policy stays in force, so a typo, a half-written file or a
hostile one never takes the site down or holds a request up.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from .issues import PolicyError
from .loader import LoadedPolicy, read_policy
from .schema import Policy

log = logging.getLogger("gatekeeper.policy")

Stamp = tuple[int, int, int] | None
Check = Callable[[LoadedPolicy], None]


def _stamp(path: Path) -> Stamp:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class PolicyFile:
    """A policy file and the last good policy read from it.

    Creating one loads the file at once (start-up): PolicyError if it is unusable or if
    `check` refuses it. `check(loaded)` runs after validation, in the same thread as the
    load, and raises PolicyError for what the policy names but cannot be used.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        env: Mapping[str, str] | None = None,
        check: Check | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self._env = env
        self._check = check
        self._clock = clock
        self._stamp = _stamp(self.path)
        self._loaded = self._load()
        self._next_check = clock() + self._loaded.policy.reload_interval
        self._worker: threading.Thread | None = None
        self._due = threading.Lock()  # one caller looks at the file when a check is due

    @property
    def loaded(self) -> LoadedPolicy:
        """The newest good policy with the positions of its values."""
        return self._loaded

    @property
    def policy(self) -> Policy:
        return self._loaded.policy

    def current(self) -> Policy:
        """The newest good policy. Cheap enough for every request: a clock read, and a
        stat of the file at most once per `reload_interval`; never a read or a parse."""
        loaded = self._loaded
        interval = loaded.policy.reload_interval
        if interval:
            now = self._clock()
            if now >= self._next_check and self._due.acquire(blocking=False):
                try:
                    self._look(now + interval)
                finally:
                    self._due.release()
        return loaded.policy

    def _look(self, next_check: float) -> None:
        if self._worker is not None:
            return  # the last reload is still running; look again at the next check
        self._next_check = next_check
        stamp = _stamp(self.path)
        if stamp != self._stamp:
            self._stamp = stamp
            self._start_reload()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a reload in progress; False if it is still running after `timeout`."""
        worker = self._worker
        if worker is None:
            return True
        worker.join(timeout)
        return not worker.is_alive()

    def _start_reload(self) -> None:
        worker = threading.Thread(target=self._reload, name="gatekeeper-policy", daemon=True)
        self._worker = worker
        worker.start()

    def _reload(self) -> None:
        try:
            loaded = self._load()
        except PolicyError as exc:
            log.error("policy %s not reloaded; keeping the last good one:\n%s", self.path, exc)
        except Exception:  # a bug must not end reloading for the life of the process
            log.exception("policy %s not reloaded; keeping the last good one", self.path)
        else:
            log.info("policy %s reloaded (revision %s)", self.path, loaded.policy.site.revision)
            self._loaded = loaded  # one assignment: requests see the old or the new, whole
        finally:
            self._worker = None

    def _load(self) -> LoadedPolicy:
        loaded = read_policy(self.path, env=self._env)
        if self._check is not None:
            self._check(loaded)
        return loaded
