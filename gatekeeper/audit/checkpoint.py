"""Signed checkpoints: the tree size, Merkle root and chain head, signed with Ed25519.

A hash chain alone can be rewritten by anyone who can write to the database: they edit a
record and recompute every hash after it. A signature made with a key kept outside the
database cannot be recomputed, so a checkpoint pins everything before it.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .record import canonical_json

# Domain separation: a checkpoint signature can never be replayed as some other message.
_CONTEXT = b"gatekeeper consent log checkpoint v1\n"


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

    def message(self) -> bytes:
        return _CONTEXT + canonical_json(
            {
                "log": self.log_id,
                "size": self.size,
                "time": self.time,
                "root": self.root,
                "chain": self.chain,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "log_id": self.log_id,
            "size": self.size,
            "time": self.time,
            "root": self.root,
            "chain": self.chain,
            "frontier": list(self.frontier),
            "key_id": self.key_id,
            "signature": self.signature,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Checkpoint:
        return cls(
            log_id=str(data["log_id"]),
            size=int(data["size"]),
            time=str(data["time"]),
            root=str(data["root"]),
            chain=str(data["chain"]),
            frontier=tuple(data["frontier"]),
            key_id=data.get("key_id"),
            signature=data.get("signature"),
        )


def _key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


class PublicKey:
    """Checks checkpoint signatures; all an offline auditor needs besides the export."""

    def __init__(self, key: Ed25519PublicKey) -> None:
        self._key = key
        self.key_id = _key_id(key)

    @classmethod
    def from_pem(cls, data: bytes) -> PublicKey:
        try:
            key = serialization.load_pem_public_key(data)
        except ValueError as exc:
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

    def pem(self) -> str:
        return self._key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def verify(self, checkpoint: Checkpoint) -> bool:
        if checkpoint.signature is None or checkpoint.key_id != self.key_id:
            return False
        try:
            self._key.verify(base64.b64decode(checkpoint.signature), checkpoint.message())
        except (InvalidSignature, ValueError):
            return False
        return True


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

    def sign(self, checkpoint: Checkpoint) -> Checkpoint:
        signature = base64.b64encode(self._key.sign(checkpoint.message())).decode()
        return replace(checkpoint, key_id=self.public.key_id, signature=signature)


class Checkpointer:
    """When to checkpoint and with which key; the key file is read on first need."""

    def __init__(self, every: int, key_path: Path | None) -> None:
        self.every = every
        self.key_path = key_path
        self._signer: Signer | None = None
        self._lock = threading.Lock()  # the SQLite writer thread and the CLI may both ask

    def signer(self) -> Signer | None:
        if self.key_path is None:
            return None
        with self._lock:
            if self._signer is None:
                self._signer = Signer.load(self.key_path)
            return self._signer

    def public_key(self) -> PublicKey | None:
        signer = self.signer()
        return signer.public if signer else None
