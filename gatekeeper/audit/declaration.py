"""The log's signed declaration: how often it promises to checkpoint, and with which key.

Verification cannot require checkpoints the log never promised; and a promise kept in a
plain database row would be edited along with everything else. So the log signs its own
rules: from record `start` on, a checkpoint at every multiple of `checkpoint_every`, one
within `checkpoint_interval` of any record, every one signed with key `key_id`. A new
declaration is added (never edited) when the policy changes any of these, for example
when the signing key is rotated; each one rules from its `start` to the next one's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from .checkpoint import Checkpointer, KeyRing
from .record import canonical_json

_CONTEXT = b"gatekeeper consent log declaration v1\n"


@dataclass(frozen=True, slots=True)
class Declaration:
    log_id: str
    start: int  # the log's size when it was made: it rules checkpoints of sizes >= start
    time: str
    checkpoint_every: int
    interval_ms: int  # checkpoint_interval, in milliseconds (the signature covers integers)
    key_id: str | None
    signature: str | None = None

    @property
    def interval(self) -> float:
        return self.interval_ms / 1000

    def message(self) -> bytes:
        return _CONTEXT + canonical_json(
            {
                "log": self.log_id,
                "start": self.start,
                "time": self.time,
                "checkpoint_every": self.checkpoint_every,
                "checkpoint_interval_ms": self.interval_ms,
                "key_id": self.key_id,
            }
        )

    def same_rules(self, other: Declaration) -> bool:
        return (self.checkpoint_every, self.interval_ms, self.key_id) == (
            other.checkpoint_every,
            other.interval_ms,
            other.key_id,
        )

    def authentic(self, keys: KeyRing) -> bool:
        return keys.verify_message(self.key_id, self.signature, self.message())

    def to_dict(self) -> dict[str, Any]:
        return {
            "log_id": self.log_id,
            "start": self.start,
            "time": self.time,
            "checkpoint_every": self.checkpoint_every,
            "checkpoint_interval_ms": self.interval_ms,
            "key_id": self.key_id,
            "signature": self.signature,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Declaration:
        return cls(
            log_id=str(data["log_id"]),
            start=int(data["start"]),
            time=str(data["time"]),
            checkpoint_every=int(data["checkpoint_every"]),
            interval_ms=int(data["checkpoint_interval_ms"]),
            key_id=data.get("key_id"),
            signature=data.get("signature"),
        )


def declare(
    newest: Declaration | None, checkpointer: Checkpointer, log_id: str, size: int, now: str
) -> Declaration | None:
    """The declaration to add before writing under these rules, or None when the newest
    one already states them. Runs under the log's write lock, so `size` is the head."""
    wanted = Declaration(
        log_id=log_id,
        start=size,
        time=now,
        checkpoint_every=checkpointer.every,
        interval_ms=round(checkpointer.interval * 1000),
        key_id=checkpointer.key_id(),
    )
    if newest is not None and newest.same_rules(wanted):
        return None
    signer = checkpointer.signer()
    if signer is None:
        return wanted
    return replace(wanted, signature=signer.sign_message(wanted.message()))
