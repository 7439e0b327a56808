"""The demo: a small news site wrapped by gatekeeper on embedded defaults.

Everything it needs is created in one data folder: the consent log, a generated signing
secret and audit key, and the effective policy (`DIR/policy.yaml`), so the audit commands
can be pointed at the demo's own log with `--policy DIR/policy.yaml`.

`tcf=True` (`gatekeeper demo --tcf`) adds IAB TCF and GPP with an unregistered test CMP
id and a small made-up vendor list (see tcf.yaml), and the partners' page of vendor tags.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..middleware import ASGIApp, Gatekeeper
from ..policy import interpolate
from .partners import create_tcf_app
from .site import create_app

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "policy.yaml"
GEOIP = HERE / "demo-geoip.mmdb"
TCF_SECTION = HERE / "tcf.yaml"
DEMO_GVL = HERE / "gvl"


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


def _vendor_list(data: Path) -> None:
    """The made-up vendor list, unless one is there (`tcf update` may have replaced it)."""
    folder = data / "gvl"
    folder.mkdir(exist_ok=True)
    if (folder / "vendor-list.json").exists():
        return
    for name in ("purposes-de.json", "purposes-fr.json", "vendor-list.json"):  # list last
        shutil.copyfile(DEMO_GVL / name, folder / name)


def write_policy(data: Path, *, tcf: bool = False) -> Path:
    """Create the data folder's secrets and write the effective demo policy into it."""
    data = data.resolve()
    data.mkdir(parents=True, exist_ok=True)
    _signing_key(data)
    values = {
        "GATEKEEPER_SECRET": _secret(data),
        "GATEKEEPER_DATA": str(data),
        "GATEKEEPER_GEOIP": str(GEOIP),
    }
    template = TEMPLATE.read_text(encoding="utf-8")
    if tcf:
        _vendor_list(data)
        template += TCF_SECTION.read_text(encoding="utf-8")
    text, missing = interpolate(template, values)
    if missing:  # the template names only the values above
        raise RuntimeError(f"demo policy template uses unknown variables: {missing}")
    path = data / "policy.yaml"
    _write_private(path, text.encode("utf-8"))
    return path


def prepare_demo(data: Path, *, tcf: bool = False) -> tuple[ASGIApp, Path]:
    """The wrapped demo app and the path of its effective policy."""
    policy_path = write_policy(data, tcf=tcf)
    app = create_tcf_app(create_app()) if tcf else create_app()
    return Gatekeeper(app, policy=policy_path), policy_path
