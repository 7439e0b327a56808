"""Consistency proofs between two sizes of the Merkle tree (RFC 9162 §2.1.4).

A proof from size m to size n is a few node hashes (about 2·log2 n) with which anyone
holding only the two roots can check that the first m leaves of the larger tree are the
same leaves the smaller tree was built from: the log of size n is an append-only
extension of the log an auditor saw at size m. It is what lets an auditor who kept a
signed head check an export that starts after it, without the records in between.
"""

from __future__ import annotations

from collections.abc import Sequence

from .chain import EMPTY_ROOT, node_hash


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def tree_hash(leaves: Sequence[bytes], low: int = 0, high: int | None = None) -> bytes:
    """MTH(D[low:high]) over leaf hashes (RFC 9162 §2.1.1)."""
    high = len(leaves) if high is None else high
    n = high - low
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[low]
    k = _split(n)
    return node_hash(tree_hash(leaves, low, low + k), tree_hash(leaves, low + k, high))


def prove(leaves: Sequence[bytes], m: int) -> list[bytes]:
    """PROOF(m, D[0:n]) for the n = len(leaves) leaf hashes given (0 < m <= n)."""
    n = len(leaves)
    if not 0 < m <= n:
        raise ValueError(f"a consistency proof needs 0 < m <= n (m={m}, n={n})")
    return _subproof(leaves, m, 0, n, True)


def _subproof(leaves: Sequence[bytes], m: int, low: int, high: int, whole: bool) -> list[bytes]:
    n = high - low
    if m == n:
        return [] if whole else [tree_hash(leaves, low, high)]
    k = _split(n)
    if m <= k:
        return [*_subproof(leaves, m, low, low + k, whole), tree_hash(leaves, low + k, high)]
    return [*_subproof(leaves, m - k, low + k, high, False), tree_hash(leaves, low, low + k)]


def verify_proof(m: int, n: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """Whether `proof` shows the tree of size n (new_root) extends that of size m (old_root).

    The verification algorithm of RFC 9162 §2.1.4.2, step by step.
    """
    if not 0 < m <= n:
        return False
    if m == n:
        return not proof and old_root == new_root
    path = list(proof)
    if m & (m - 1) == 0:  # m is a power of two: the old root is itself a node of the proof
        path.insert(0, old_root)
    if not path:
        return False
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
