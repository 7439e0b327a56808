"""The consent log: where it is kept, how it is signed and witnessed, the auditor view."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from ..fields import Model


class AuditViewSettings(Model):
    enabled: bool = False
    token: str | None = Field(None, description="Bearer token or ?token= for the auditor view.")
    username: str | None = None
    password: str | None = None


class AuditSinkSettings(Model):
    url: str = Field(pattern=r"^https?://", description="HTTPS collector receiving records.")
    token: str | None = None
    batch_size: int = Field(100, ge=1)


class AuditSettings(Model):
    store: str = Field(
        "sqlite:///gatekeeper-consent.db",
        description="sqlite:///PATH (relative to the policy file) or postgresql://...",
    )
    retention_days: int = Field(395, ge=1)
    ip: Literal["truncate", "hash", "none"] = Field(
        "truncate", description="How the visitor's IP is kept: /24 or /48, keyed hash, or not."
    )
    signing_key: Path | None = Field(
        None, description="Ed25519 private key (PEM) that signs checkpoints."
    )
    checkpoint_every: int = Field(1000, ge=1, description="Records between signed checkpoints.")
    checkpoint_interval: float = Field(
        300.0,
        gt=0,
        le=86400,
        description="Seconds within which every record is under a signed checkpoint: one "
        "deployment-wide checkpoint per interval while records arrive.",
    )
    witness: str | None = Field(
        None,
        description="Where each signed head goes, outside the database: an http(s) URL "
        "(POSTed as JSON), a directory (one file per head) or a file (one head per line).",
    )
    retired_keys: tuple[Path, ...] = Field(
        (),
        description="Public keys (PEM) of earlier signing keys: verify accepts their "
        "signatures on the checkpoints made before the key changed.",
    )
    sink: AuditSinkSettings | None = None
    view: AuditViewSettings = AuditViewSettings()
