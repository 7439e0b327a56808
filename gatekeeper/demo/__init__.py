"""The demo: a small news site wrapped by gatekeeper on embedded defaults.

Everything it needs is created in one data folder: the consent log, a generated signing
secret and audit key, and the effective policy (`DIR/policy.yaml`), so the audit commands
can be pointed at the demo's own log with `--policy DIR/policy.yaml`.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..middleware import ASGIApp, Gatekeeper
from ..policy import interpolate
from .site import create_app

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "policy.yaml"
GEOIP = HERE / "demo-geoip.mmdb"


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _secret(data: Path) -> str:
    path = data / "secret.key"
    if not path.exists():
        _write_private(path, secrets.token_urlsafe(48).encode())
    return path.read_text().strip()


def _signing_key(data: Path) -> Path:
    path = data / "audit-signing.pem"
    if not path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _write_private(path, pem)
    return path


def write_policy(data: Path) -> Path:
    """Create the data folder's secrets and write the effective demo policy into it."""
    data = data.resolve()
    data.mkdir(parents=True, exist_ok=True)
    _signing_key(data)
    values = {
        "GATEKEEPER_SECRET": _secret(data),
        "GATEKEEPER_DATA": str(data),
        "GATEKEEPER_GEOIP": str(GEOIP),
    }
    text, missing = interpolate(TEMPLATE.read_text(encoding="utf-8"), values)
    if missing:  # the template names only the values above
        raise RuntimeError(f"demo policy template uses unknown variables: {missing}")
    path = data / "policy.yaml"
    _write_private(path, text.encode("utf-8"))
    return path


def prepare_demo(data: Path) -> tuple[ASGIApp, Path]:
    """The wrapped demo app and the path of its effective policy."""
    policy_path = write_policy(data)
    return Gatekeeper(create_app(), policy=policy_path), policy_path
