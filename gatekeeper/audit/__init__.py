"""The consent log: durable, tamper-evident, verifiable and exportable records of consent.

log = ConsentLog.from_policy(policy)          # no I/O until first use
event_id = await log.append(ConsentEvent(...))  # after a durable commit, or LogUnavailable
"""

from .checkpoint import PublicKey
from .findings import Report
from .log import ConsentLog
from .record import ConsentEvent, Record, texts_hash
from .store import LogUnavailable, Query

__all__ = [
    "ConsentEvent",
    "ConsentLog",
    "LogUnavailable",
    "PublicKey",
    "Query",
    "Record",
    "Report",
    "texts_hash",
]
