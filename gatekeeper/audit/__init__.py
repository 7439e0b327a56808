"""The consent log: durable, tamper-evident, verifiable and exportable records of consent.

log = ConsentLog.from_policy(policy)          # no I/O until first use
await log.start()                             # optional: periodic work (else on first append)
event_id = await log.append(ConsentEvent(...))  # after a durable commit, or LogUnavailable
await log.close()                             # signs what is unsigned, stops periodic work
"""

from .checkpoint import Checkpoint, KeyRing, PublicKey
from .findings import Report
from .log import ConsentLog
from .record import ConsentEvent, Record, texts_hash
from .store import LogUnavailable, Query

__all__ = [
    "Checkpoint",
    "ConsentEvent",
    "ConsentLog",
    "KeyRing",
    "LogUnavailable",
    "PublicKey",
    "Query",
    "Record",
    "Report",
    "texts_hash",
]
