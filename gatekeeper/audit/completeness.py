"""Completeness: the checkpoints the log's signed declarations promise must all be there.

Someone who can write to the database but does not hold the key cannot forge a
checkpoint, but can delete them, and then rewrite the records they covered. So verify
asks for every checkpoint the log declared (see declaration.py): one at every multiple
of `checkpoint_every`, and one covering any record older than the checkpoint interval
(with a margin). Checkpoints also name the one before them, so one deleted from between
two others is named too.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta

from .checkpoint import KeyRing
from .declaration import Declaration

# How far past the interval a record may wait for its checkpoint before verify calls it
# missing: the checkpointing task wakes a fifth of an interval apart, hosts' clocks and
# busy databases differ by seconds, and a restart takes a moment.
MARGIN_INTERVALS = 2
MARGIN_SECONDS = 60.0

Report = Callable[[int | None, str], None]


def _ranges(sizes: Sequence[int], step: int) -> str:
    """`10, 20, 30, 50` as `10..30, 50` for steps of 10 (at most a few shown)."""
    parts: list[str] = []
    start = prev = sizes[0]
    for size in [*sizes[1:], None]:
        if size is not None and size == prev + step:
            prev = size
            continue
        parts.append(str(start) if start == prev else f"{start}..{prev}")
        if size is not None:
            start = prev = size
    shown = ", ".join(parts[:5])
    return shown + (f" and {len(parts) - 5} more" if len(parts) > 5 else "")


class Rules:
    """The log's declarations in force, by the size each starts at."""

    def __init__(self, declarations: Iterable[Declaration]) -> None:
        self.declarations = sorted(declarations, key=lambda d: d.start)
        self._starts = [d.start for d in self.declarations]

    def __bool__(self) -> bool:
        return bool(self.declarations)

    @property
    def start(self) -> int | None:
        return self._starts[0] if self._starts else None

    def ruling(self, size: int) -> list[Declaration]:
        """The declarations a checkpoint of this size may follow: at a boundary, both."""
        index = bisect.bisect_right(self._starts, size) - 1
        if index < 0:
            return []
        found = [self.declarations[index]]
        if self.declarations[index].start == size and index > 0:
            found.insert(0, self.declarations[index - 1])
        return found

    def for_record(self, seq: int) -> Declaration | None:
        """The declaration in force when record `seq` was appended."""
        index = bisect.bisect_right(self._starts, seq) - 1
        return self.declarations[index] if index >= 0 else None

    def check(self, keys: KeyRing | None, log_id: str, finding: Report) -> None:
        for d in self.declarations:
            where = f"the log's declaration for records from {d.start}"
            if d.log_id != log_id:
                finding(None, f"{where} belongs to another log ({d.log_id})")
            elif not keys:
                continue
            elif d.signature is None:
                finding(None, f"{where} is not signed")
            elif d.key_id not in keys:
                finding(
                    None,
                    f"{where} is signed with key {d.key_id}, which is not trusted "
                    f"(trusted: {', '.join(keys.ids)}; a retired key goes in "
                    "audit.retired_keys)",
                )
            elif not d.authentic(keys):
                finding(None, f"{where}: bad signature (modified)")

    def key_allowed(self, size: int, key_id: str | None) -> str | None:
        """Why a checkpoint of this size may not carry this key, or None when it may."""
        ruling = self.ruling(size)
        if not ruling or any(d.key_id == key_id for d in ruling):
            return None
        named = " or ".join(str(d.key_id) for d in ruling)
        return (
            f"checkpoint at size {size} is signed with key {key_id}, but the log declared "
            f"key {named} for it"
        )

    def missing(self, present: set[int], low: int, high: int) -> list[str]:
        """What is missing of the checkpoints due at multiples, for sizes in (low, high]."""
        out: list[str] = []
        for index, d in enumerate(self.declarations):
            end = self._starts[index + 1] if index + 1 < len(self._starts) else high
            first, last = max(low, d.start), min(end, high)
            every = d.checkpoint_every
            due = range((first // every + 1) * every, last + 1, every)
            gone = [size for size in due if size not in present]
            if gone:
                out.append(
                    f"no checkpoint at size {_ranges(gone, every)}, although the log "
                    f"declared one every {every} records from record {d.start}: "
                    "deleted (records after the last checkpoint left can be rewritten)"
                )
        return out

    def overdue(self, seq: int, time: str, now: datetime) -> str | None:
        """Why record `seq` (written at `time`, the oldest one after the last checkpoint)
        should have been under a checkpoint by `now`, or None."""
        d = self.for_record(seq)
        if d is None:
            return None
        margin = timedelta(seconds=d.interval * MARGIN_INTERVALS + MARGIN_SECONDS)
        try:
            written = datetime.fromisoformat(time.replace("Z", "+00:00"))
        except ValueError:
            return f"its time {time!r} is not a time"
        if now - written <= margin:
            return None
        return (
            f"it was written at {time} and is not under a checkpoint, although the log "
            f"declared one within {d.interval:g} s of every record (checked with a margin "
            f"of {margin.total_seconds():g} s): the checkpoints after it were deleted, or "
            "no gatekeeper process has run since (then `gatekeeper audit checkpoint` signs "
            "them, but only a head kept from before can prove they were not changed)"
        )
