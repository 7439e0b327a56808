"""The chain and Merkle tree against RFC 6962's definition; checkpoint signatures."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from gatekeeper.audit.chain import ChainState, fold, leaf_hash, node_hash
from gatekeeper.audit.checkpoint import Checkpointer, KeyFileError, PublicKey, Signer
from tests.audit.conftest import write_key


def mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 section 2.1, as written: split at the largest power of two below n."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def test_incremental_root_matches_rfc6962_for_every_size():
    data = [f"record {i}".encode() for i in range(70)]
    state = ChainState()
    assert state.root() == mth([])
    for n, item in enumerate(data, 1):
        state.add(leaf_hash(item))
        assert state.root() == mth(data[:n]), n
        assert len(state.frontier) == n.bit_count()


def test_chain_links_each_leaf_to_the_one_before():
    leaves = [leaf_hash(bytes([i])) for i in range(3)]
    state = ChainState()
    for leaf in leaves:
        state.add(leaf)
    expected = bytes(32)
    for leaf in leaves:
        expected = hashlib.sha256(b"\x01" + expected + leaf).digest()
    assert state.head == expected


def test_a_restored_frontier_continues_the_same_tree():
    leaves = [leaf_hash(bytes([i])) for i in range(23)]
    whole = ChainState()
    for leaf in leaves:
        whole.add(leaf)
    part = ChainState()
    for leaf in leaves[:13]:
        part.add(leaf)
    resumed = ChainState.restore(part.size, part.head.hex(), part.frontier_hex())
    for leaf in leaves[13:]:
        resumed.add(leaf)
    assert (resumed.root(), resumed.head) == (whole.root(), whole.head)
    assert fold(part.frontier) == part.root()
    with pytest.raises(ValueError):
        ChainState.restore(13, part.head.hex(), part.frontier_hex()[:-1])


def test_checkpoint_signatures(tmp_path):
    signer = Signer.load(write_key(tmp_path / "k.pem"))
    state = ChainState()
    state.add(leaf_hash(b"x"))
    checkpoint = signer.sign(state.checkpoint("log-1", "2026-11-27T00:00:00.000000Z", 0))
    public = PublicKey.from_pem(signer.public.pem().encode())
    assert public.key_id == checkpoint.key_id
    assert public.verify(checkpoint)
    assert not public.verify(replace(checkpoint, size=2))
    assert not public.verify(replace(checkpoint, root="00" * 32))
    assert not public.verify(replace(checkpoint, log_id="log-2"))
    # The size of the checkpoint before it is signed too, and the version with it.
    assert not public.verify(replace(checkpoint, previous=1))
    assert not public.verify(replace(checkpoint, previous=None))
    other = Signer.load(write_key(tmp_path / "other.pem")).public
    assert not other.verify(checkpoint)


def test_key_files_are_checked(tmp_path):
    missing = Checkpointer(10, tmp_path / "absent.pem")
    with pytest.raises(KeyFileError, match="cannot read"):
        missing.signer()
    not_a_key = tmp_path / "junk.pem"
    not_a_key.write_text("hello")
    with pytest.raises(KeyFileError, match="not a PEM private key"):
        Signer.load(not_a_key)
    assert Checkpointer(10, None).signer() is None
