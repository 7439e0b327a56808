"""One consent record: what the consent code hands over, and what the log keeps of it.

A record is split in two. The *public* part (event, time, categories, method, revision,
texts hash, language, mode, validity) is what proves a decision and is kept for as long
as the log exists. The *personal* part (consent id, country, subdivision, reduced IP,
user agent, page path) identifies or locates a visitor and is erased by the retention
purge. The leaf hash covers the public part plus a salted commitment to the personal
part, so a purge can drop the personal fields and the salt and the record still
verifies; without the salt the commitment cannot be brute-forced back into a /24 or a
country after the purge.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from socket import AF_INET, AF_INET6, inet_ntop, inet_pton
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

EventType = Literal["given", "refused", "updated", "withdrawn", "expired", "gpc"]
Mode = Literal["opt_in", "opt_out", "notice"]
IPMode = Literal["truncate", "hash", "none"]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
MODES: tuple[str, ...] = get_args(Mode)

RECORD_VERSION = 1
_MAPPED = bytes(10) + b"\xff\xff"
PERSONAL_FIELDS = ("consent_id", "country", "subdivision", "ip", "user_agent", "path")
# Public fields added after version 1 of the record; absent (None) in older records.
OPTIONAL_FIELDS = ("tc_string", "gpp_string")

# Visitors choose their user agent and, within limits, the path: cap what one request
# can make us store forever.
_LIMITS = {"user_agent": 512, "path": 1024, "method": 64, "consent_id": 128}
# A TC string naming thousands of vendors by bit field is a few KB; far more is no string
# gatekeeper made.
_STRING_LIMIT = 16_384
_BASE64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: RFC 8785 for the value types a record holds.

    Records hold only strings, booleans, integers, null and objects of them; for those,
    Python's sorted-key compact form matches JCS (no floats to normalise; keys are ASCII).
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def iso(moment: datetime) -> str:
    """Fixed-width UTC text (microseconds, Z): sorts as it compares and hashes stably."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def texts_hash(texts: Mapping[str, str]) -> str:
    """SHA-256 hex of the canonical JSON of the texts a visitor was shown."""
    for key, value in texts.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError("texts map names to strings")
    return hashlib.sha256(canonical_json(dict(texts))).hexdigest()


def reduce_ip(raw: str | None, mode: IPMode, key: bytes) -> str | None:
    """What the log keeps of an address: its /24 or /48, a keyed hash, or nothing."""
    if raw is None or mode == "none":
        return None
    text = raw.strip().strip("[]").split("%", 1)[0]
    # inet_pton, not ipaddress: this runs for every consent and is ten times faster.
    try:
        packed = inet_pton(AF_INET6 if ":" in text else AF_INET, text)
    except OSError:
        return None
    if len(packed) == 16 and packed[:12] == _MAPPED:
        packed = packed[12:]
    if mode == "hash":
        # Domain-separated so the same secret used for cookies never yields this value.
        digest = hmac.new(key, b"gatekeeper audit ip\x00" + packed, hashlib.sha256)
        return "hmac-sha256:" + digest.hexdigest()
    if len(packed) == 4:
        return f"{packed[0]}.{packed[1]}.{packed[2]}.0/24"
    return inet_ntop(AF_INET6, packed[:6] + bytes(10)) + "/48"


def page_path(text: str | None) -> str | None:
    """The page a choice was made on, as the log keeps it: the path alone.

    Callers hand over the consent form's `next` or the Referer; either may carry a query
    string or fragment (search terms, e-mail addresses, tokens) that has no place in a
    record kept for years, and a full URL's host says nothing the site does not know.
    """
    if text is None:
        return None
    try:
        path = urlsplit(text.strip()).path
    except ValueError:  # "http://[" and the like: keep nothing rather than guess
        return None
    return "/" + path.lstrip("/") if path else "/"


def _clean(text: str | None, name: str) -> str | None:
    if text is None:
        return None
    # Lone surrogates (from badly decoded input) cannot be stored as UTF-8 or hashed.
    text = text.encode("utf-8", "replace").decode("utf-8")
    limit = _LIMITS.get(name)
    return text[:limit] if limit else text


def _ascii(text: str | None, name: str) -> str | None:
    """A TC or GPP string as given: base64url segments joined by '.' or '~', nothing else."""
    if text is None:
        return None
    if len(text) > _STRING_LIMIT or not set(text) <= _BASE64URL:
        raise ValueError(f"{name} is not a TC or GPP string")
    return text


@dataclass(frozen=True, slots=True)
class ConsentEvent:
    """A consent decision as the consent code hands it over; the log adds id, time, chain."""

    consent_id: str
    event: EventType
    categories: Mapping[str, bool]
    method: str
    revision: str
    texts_hash: str
    language: str
    mode: str
    country: str | None
    subdivision: str | None
    ip: str | None  # the raw address: the log reduces it per policy.audit.ip before storing
    user_agent: str
    # The page the choice was made on (the consent form's validated `next`, or the path of
    # a same-site Referer), not the consent endpoint. Only its path is kept: see page_path.
    path: str
    valid_until: datetime
    event_id: str | None = None  # set by callers that retry, so a retry is not a second record
    # The strings ad tech reads, as minted with this decision (IAB TCF and GPP); part of
    # the proof of what was decided, so public like the categories. None when TCF is off.
    tc_string: str | None = None
    gpp_string: str | None = None


@dataclass(frozen=True, slots=True)
class Draft:
    """A record before it has a place in the chain."""

    event_id: str
    time: str
    event: str
    categories: dict[str, bool]
    method: str
    revision: str
    texts_hash: str
    language: str
    mode: str
    valid_until: str
    consent_id: str | None
    country: str | None
    subdivision: str | None
    ip: str | None
    user_agent: str | None
    path: str | None
    salt: str | None
    personal_hash: str
    tc_string: str | None = None
    gpp_string: str | None = None

    @classmethod
    def from_event(
        cls, event: ConsentEvent, *, now: datetime, ip_mode: IPMode, ip_key: bytes
    ) -> Draft:
        if event.event not in EVENT_TYPES:
            raise ValueError(f"event {event.event!r} is not one of {', '.join(EVENT_TYPES)}")
        if event.mode not in MODES:
            raise ValueError(f"mode {event.mode!r} is not one of {', '.join(MODES)}")
        categories = {str(k): v for k, v in event.categories.items()}
        if not all(isinstance(v, bool) for v in categories.values()):
            raise TypeError("categories map names to True or False")
        personal = {
            "consent_id": _clean(event.consent_id, "consent_id"),
            "country": event.country.upper() if event.country else None,
            "subdivision": event.subdivision.upper() if event.subdivision else None,
            "ip": reduce_ip(event.ip, ip_mode, ip_key),
            "user_agent": _clean(event.user_agent, "user_agent"),
            "path": _clean(page_path(event.path), "path"),
        }
        salt = secrets.token_hex(16)
        return cls(
            event_id=event.event_id or secrets.token_hex(16),
            time=iso(now),
            event=event.event,
            categories=categories,
            method=_clean(event.method, "method") or "",
            revision=event.revision,
            texts_hash=event.texts_hash,
            language=event.language,
            mode=event.mode,
            valid_until=iso(event.valid_until),
            salt=salt,
            personal_hash=personal_commitment(personal, salt),
            tc_string=_ascii(event.tc_string, "tc_string"),
            gpp_string=_ascii(event.gpp_string, "gpp_string"),
            **personal,
        )


def personal_commitment(personal: Mapping[str, str | None], salt: str) -> str:
    return hmac.new(bytes.fromhex(salt), canonical_json(dict(personal)), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Record:
    """A record in the chain: position `seq`, its leaf hash and the chain value after it."""

    seq: int
    event_id: str
    time: str
    event: str
    categories: dict[str, bool]
    method: str
    revision: str
    texts_hash: str
    language: str
    mode: str
    valid_until: str
    consent_id: str | None
    country: str | None
    subdivision: str | None
    ip: str | None
    user_agent: str | None
    path: str | None
    salt: str | None  # None once purged
    personal_hash: str
    leaf: str
    chain: str
    tc_string: str | None = None
    gpp_string: str | None = None

    @property
    def purged(self) -> bool:
        return self.salt is None

    def personal(self) -> dict[str, str | None]:
        return {name: getattr(self, name) for name in PERSONAL_FIELDS}

    def body(self) -> bytes:
        return body_of(self, self.seq)

    def to_dict(self) -> dict[str, Any]:
        """Everything, including what offline verification needs (salt, hashes)."""
        return {
            "seq": self.seq,
            "event_id": self.event_id,
            "time": self.time,
            "consent_id": self.consent_id,
            "event": self.event,
            "categories": self.categories,
            "method": self.method,
            "revision": self.revision,
            "texts_hash": self.texts_hash,
            "language": self.language,
            "mode": self.mode,
            "country": self.country,
            "subdivision": self.subdivision,
            "ip": self.ip,
            "user_agent": self.user_agent,
            "path": self.path,
            "valid_until": self.valid_until,
            "purged": self.purged,
            "salt": self.salt,
            "personal_hash": self.personal_hash,
            "leaf": self.leaf,
            "chain": self.chain,
            "tc_string": self.tc_string,
            "gpp_string": self.gpp_string,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Record:
        names = list(cls.__dataclass_fields__)
        # Exports made before the TCF strings existed have no such keys.
        missing = [n for n in names if n not in data and n not in OPTIONAL_FIELDS]
        if missing:
            raise ValueError(f"record lacks {', '.join(missing)}")
        return cls(**{n: data[n] for n in names if n in data})


def body_of(record: Draft | Record, seq: int) -> bytes:
    """The bytes the leaf hash covers: the public fields, the position, the commitment.

    The TCF strings are covered only when present, so every record made before they
    existed (or with TCF off) hashes exactly as it always did."""
    body: dict[str, Any] = {
        "v": RECORD_VERSION,
        "seq": seq,
        "event_id": record.event_id,
        "time": record.time,
        "event": record.event,
        "categories": record.categories,
        "method": record.method,
        "revision": record.revision,
        "texts_hash": record.texts_hash,
        "language": record.language,
        "mode": record.mode,
        "valid_until": record.valid_until,
        "personal": record.personal_hash,
    }
    for name in OPTIONAL_FIELDS:
        value = getattr(record, name)
        if value is not None:
            body[name] = value
    return canonical_json(body)
