"""Signed checkpoints: the tree size, Merkle root and chain head, signed with Ed25519.

A hash chain alone can be rewritten by anyone who can write to the database: they edit a
record and recompute every hash after it. A signature made with a key kept outside the
database cannot be recomputed, so a checkpoint pins everything before it.

Since version 2 a checkpoint also signs the size of the checkpoint before it, so the
checkpoints form a chain of their own: one deleted from the middle leaves the next one
pointing at nothing. A checkpoint printed as JSON is a *signed tree head* (RFC 9162
§4.10): what auditors keep outside the database.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .record import canonical_json

log = logging.getLogger("gatekeeper.audit")

# Domain separation: a checkpoint signature can never be replayed as some other message.
_CONTEXT_V1 = b"gatekeeper consent log checkpoint v1\n"
_CONTEXT_V2 = b"gatekeeper consent log checkpoint v2\n"
HEAD_FORMAT = "gatekeeper-signed-head"


class KeyFileError(Exception):
    """A signing or public key that cannot be read or is not Ed25519."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    log_id: str
    size: int  # records 0 .. size-1 are covered
    time: str
    root: str  # RFC 6962 Merkle tree hash of the first `size` leaves, hex
    chain: str  # chain value after record size-1, hex
    frontier: tuple[str, ...]  # roots of the perfect subtrees that fold into `root`
    key_id: str | None = None
    signature: str | None = None  # base64 Ed25519 signature of message()
    # Size of the checkpoint before this one (0: none). None marks a version 1
    # checkpoint, written before checkpoints were chained.
    previous: int | None = None

    def message(self) -> bytes:
        body: dict[str, Any] = {
            "log": self.log_id,
            "size": self.size,
            "time": self.time,
            "root": self.root,
            "chain": self.chain,
        }
        if self.previous is None:
            return _CONTEXT_V1 + canonical_json(body)
        return _CONTEXT_V2 + canonical_json({**body, "previous": self.previous})

    def to_dict(self) -> dict[str, Any]:
        return {
            "log_id": self.log_id,
            "size": self.size,
            "time": self.time,
            "root": self.root,
            "chain": self.chain,
            "previous": self.previous,
            "frontier": list(self.frontier),
            "key_id": self.key_id,
            "signature": self.signature,
        }

    def head(self) -> dict[str, Any]:
        """The signed tree head as JSON: everything its signature covers, no frontier."""
        return {
            "format": HEAD_FORMAT,
            "log_id": self.log_id,
            "size": self.size,
            "root": self.root,
            "time": self.time,
            "chain": self.chain,
            "previous": self.previous,
            "key_id": self.key_id,
            "signature": self.signature,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Checkpoint:
        previous = data.get("previous")
        return cls(
            log_id=str(data["log_id"]),
            size=int(data["size"]),
            time=str(data["time"]),
            root=str(data["root"]),
            chain=str(data["chain"]),
            frontier=tuple(str(f) for f in data.get("frontier", ())),
            key_id=data.get("key_id"),
            signature=data.get("signature"),
            previous=None if previous is None else int(previous),
        )


def key_id_of(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


class PublicKey:
    """Checks signatures; all an offline auditor needs besides the export."""

    def __init__(self, key: Ed25519PublicKey) -> None:
        self._key = key
        self.key_id = key_id_of(key)

    @classmethod
    def from_pem(cls, data: bytes) -> PublicKey:
        try:
            key: Any = serialization.load_pem_public_key(data)
        except ValueError as exc:
            # A retired signing key may be kept as the private key it was: its public
            # half is what is needed.
            try:
                key = serialization.load_pem_private_key(data, password=None).public_key()
            except (ValueError, TypeError):
                raise KeyFileError(f"not a PEM public key: {exc}") from None
        if not isinstance(key, Ed25519PublicKey):
            raise KeyFileError("the public key is not an Ed25519 key")
        return cls(key)

    @classmethod
    def load(cls, path: Path) -> PublicKey:
        try:
            return cls.from_pem(path.read_bytes())
        except OSError as exc:
            raise KeyFileError(f"{path}: cannot read: {exc.strerror}") from None
        except KeyFileError as exc:
            raise KeyFileError(f"{path}: {exc}") from None

    def pem(self) -> str:
        return self._key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def verify_message(self, key_id: str | None, signature: str | None, message: bytes) -> bool:
        if signature is None or key_id != self.key_id:
            return False
        try:
            self._key.verify(base64.b64decode(signature, validate=True), message)
        except (InvalidSignature, ValueError):
            return False
        return True

    def verify(self, checkpoint: Checkpoint) -> bool:
        return self.verify_message(checkpoint.key_id, checkpoint.signature, checkpoint.message())


class KeyRing:
    """The public keys a verifier trusts, by key id: the current one and retired ones."""

    def __init__(self, keys: Iterable[PublicKey]) -> None:
        self.keys: dict[str, PublicKey] = {}
        for key in keys:
            self.keys.setdefault(key.key_id, key)

    @classmethod
    def of(cls, keys: KeyRing | PublicKey | None) -> KeyRing | None:
        """A ring from one key, a ring, or None (nothing to check signatures with)."""
        if keys is None or isinstance(keys, KeyRing):
            return keys or None
        return cls([keys])

    def __bool__(self) -> bool:
        return bool(self.keys)

    def __contains__(self, key_id: object) -> bool:
        return key_id in self.keys

    @property
    def ids(self) -> list[str]:
        return list(self.keys)

    def verify_message(self, key_id: str | None, signature: str | None, message: bytes) -> bool:
        key = self.keys.get(key_id or "")
        return key is not None and key.verify_message(key_id, signature, message)

    def verify(self, checkpoint: Checkpoint) -> bool:
        return self.verify_message(checkpoint.key_id, checkpoint.signature, checkpoint.message())


class Signer:
    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public = PublicKey(key.public_key())

    @classmethod
    def load(cls, path: Path) -> Signer:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise KeyFileError(f"audit.signing_key {path}: cannot read: {exc.strerror}") from None
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise KeyFileError(f"audit.signing_key {path}: not a PEM private key: {exc}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyFileError(f"audit.signing_key {path}: not an Ed25519 key")
        return cls(key)

    def sign_message(self, message: bytes) -> str:
        return base64.b64encode(self._key.sign(message)).decode()

    def sign(self, checkpoint: Checkpoint) -> Checkpoint:
        signed = replace(checkpoint, key_id=self.public.key_id)
        return replace(signed, signature=self.sign_message(signed.message()))


class Checkpointer:
    """When to checkpoint and with which key; the key file is read on first need.

    It also remembers the largest checkpoint this process has signed or seen. A process
    never signs on top of a log whose newest checkpoint is older than that: someone
    deleted checkpoints, and signing now would vouch for whatever they left.
    """

    def __init__(
        self,
        every: int,
        key_path: Path | None,
        *,
        interval: float = 300.0,
        retired: Iterable[Path] = (),
    ) -> None:
        self.every = every
        self.interval = interval
        self.key_path = key_path
        self.retired = tuple(retired)
        self._signer: Signer | None = None
        self._trusted: KeyRing | None = None
        self._lock = threading.Lock()  # the SQLite writer thread and the event loop both ask
        self._seen = 0

    def signer(self) -> Signer | None:
        if self.key_path is None:
            return None
        with self._lock:
            if self._signer is None:
                self._signer = Signer.load(self.key_path)
            return self._signer

    def key_id(self) -> str | None:
        signer = self.signer()
        return signer.public.key_id if signer else None

    def public_key(self) -> PublicKey | None:
        signer = self.signer()
        return signer.public if signer else None

    def trusted(self) -> KeyRing:
        """The key ring verification trusts: the signing key's public half, then the
        retired keys (audit.retired_keys)."""
        current = self.public_key()
        with self._lock:
            if self._trusted is None:
                retired = [PublicKey.load(path) for path in self.retired]
                self._trusted = KeyRing([current, *retired] if current else retired)
            return self._trusted

    @property
    def seen(self) -> int:
        with self._lock:
            return self._seen

    def saw(self, size: int) -> None:
        with self._lock:
            self._seen = max(self._seen, size)

    def may_extend(self, newest: int) -> bool:
        """Whether a checkpoint may be signed after the log's newest one (at `newest`)."""
        seen = self.seen
        if newest >= seen:
            return True
        log.error(
            "the consent log's newest checkpoint covers %d records, but this process saw "
            "one covering %d: checkpoints were deleted. Not signing until this is looked "
            "into (gatekeeper audit verify).",
            newest,
            seen,
        )
        return False
