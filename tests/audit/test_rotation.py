"""Rotating the signing key: the log declares the new key from where it took over, the
old one is trusted through audit.retired_keys, and each key only signs its own stretch."""

from __future__ import annotations

import io
from dataclasses import replace

from gatekeeper.audit import ConsentLog, PublicKey
from gatekeeper.audit.checkpoint import KeyRing, Signer
from gatekeeper.audit.export import export
from gatekeeper.audit.offline import verify_export
from gatekeeper.audit.store import Query
from gatekeeper.policy import load_policy
from tests.audit.conftest import event, write_key
from tests.audit.rawsql import SQLiteDatabase


def policy_with(policy_file, key: str, retired: str = "") -> object:
    extra = f"  retired_keys: [{retired}]\n" if retired else ""
    path = policy_file(
        f'audit:\n  store: "sqlite:///consent.db"\n  signing_key: {key}\n'
        f"  checkpoint_every: 10\n{extra}"
    )
    return load_policy(path)


async def append(policy, start: int, count: int) -> None:  # type: ignore[no-untyped-def]
    log = ConsentLog.from_policy(policy)
    try:
        for i in range(start, start + count):
            await log.append(event(i))
    finally:
        await log.close()


async def rotated(policy_file, tmp_path):  # type: ignore[no-untyped-def]
    """15 records under key A, then 10 under key B; A's public half kept as retired."""
    write_key(tmp_path / "a.pem")
    write_key(tmp_path / "b.pem")
    (tmp_path / "a.pub.pem").write_text(Signer.load(tmp_path / "a.pem").public.pem())
    await append(policy_with(policy_file, "a.pem"), 0, 15)
    rotated_policy = policy_with(policy_file, "b.pem", retired="a.pub.pem")
    await append(rotated_policy, 15, 10)
    return rotated_policy


async def verify(policy):  # type: ignore[no-untyped-def]
    log = ConsentLog.from_policy(policy, autostart=False)
    try:
        return await log.verify(), await log.store.declarations()
    finally:
        await log.close()


async def test_a_rotated_log_verifies_with_the_retired_key(policy_file, tmp_path):
    policy = await rotated(policy_file, tmp_path)
    report, declarations = await verify(policy)
    assert report.ok, report.lines()
    a = Signer.load(tmp_path / "a.pem").public.key_id
    b = Signer.load(tmp_path / "b.pem").public.key_id
    assert [(d.start, d.key_id) for d in declarations] == [(0, a), (15, b)]
    assert report.key_ids == [a, b] and report.covered == 25


async def test_without_the_retired_key_the_old_stretch_fails(policy_file, tmp_path):
    await rotated(policy_file, tmp_path)
    report, _ = await verify(policy_with(policy_file, "b.pem"))
    assert not report.ok
    text = "\n".join(report.lines())
    assert "declaration for records from 0 is signed with key" in text and "not trusted" in text
    assert "checkpoint at size 10: bad signature (made with key" in text


async def test_offline_verification_takes_both_public_keys(policy_file, tmp_path):
    policy = await rotated(policy_file, tmp_path)
    log = ConsentLog.from_policy(policy, autostart=False)
    try:
        out = io.StringIO()
        await export(log.store, out, "jsonl", Query())
    finally:
        await log.close()
    lines = out.getvalue().splitlines()
    a = PublicKey.load(tmp_path / "a.pub.pem")
    b = Signer.load(tmp_path / "b.pem").public
    assert verify_export(lines, KeyRing([a, b]), "rotated.jsonl").ok
    assert not verify_export(lines, KeyRing([b]), "rotated.jsonl").ok


async def test_the_retired_key_cannot_sign_after_the_rotation(policy_file, tmp_path):
    """Someone who kept the old key re-signs the newest checkpoint over other records:
    the declaration says that stretch belongs to the new key."""
    policy = await rotated(policy_file, tmp_path)
    log = ConsentLog.from_policy(policy, autostart=False)
    try:
        newest = await log.signed_head()
    finally:
        await log.close()
    assert newest is not None and newest.size == 25
    forged = Signer.load(tmp_path / "a.pem").sign(replace(newest, key_id=None, signature=None))
    db = SQLiteDatabase(tmp_path / "consent.db")
    try:
        await db.execute(
            "UPDATE checkpoints SET key_id = $1, signature = $2 WHERE size = 25",
            forged.key_id,
            forged.signature,
        )
    finally:
        await db.close()
    report, _ = await verify(policy)
    assert not report.ok
    assert any(
        "checkpoint at size 25 is signed with key" in str(f) and "declared key" in str(f)
        for f in report.findings
    ), report.lines()
