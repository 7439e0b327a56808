"""The hash chain and Merkle tree over the records (RFC 6962 hashing).

leaf    = SHA-256(0x00 || record body)
node    = SHA-256(0x01 || left || right)
chain_n = node(chain_{n-1}, leaf_n), chain_{-1} = 32 zero bytes

The chain names the first bad record when walked in order; the Merkle root lets a
checkpoint be checked from a compact frontier (one subtree root per set bit of the size)
instead of every leaf before it, which is what makes a one-month export verifiable on
its own. Both advance in O(log n) per record, so appending never re-reads the log.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from .checkpoint import Checkpoint, Checkpointer
from .record import Draft, Record, body_of

log = logging.getLogger("gatekeeper.audit")

GENESIS = bytes(32)
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(body: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + body).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def fold(frontier: Sequence[bytes]) -> bytes:
    """The RFC 6962 tree hash from the subtree roots, largest (left-most) first."""
    if not frontier:
        return EMPTY_ROOT
    root = frontier[-1]
    for left in reversed(frontier[:-1]):
        root = node_hash(left, root)
    return root


@dataclass(slots=True)
class ChainState:
    size: int = 0
    head: bytes = GENESIS
    frontier: list[bytes] = field(default_factory=list)

    def add(self, leaf: bytes) -> None:
        self.head = node_hash(self.head, leaf)
        node, index = leaf, self.size
        while index & 1:  # each trailing 1 bit is a complete subtree to merge with
            node = node_hash(self.frontier.pop(), node)
            index >>= 1
        self.frontier.append(node)
        self.size += 1

    def root(self) -> bytes:
        return fold(self.frontier)

    def frontier_hex(self) -> list[str]:
        return [f.hex() for f in self.frontier]

    @classmethod
    def restore(cls, size: int, head: str, frontier: Sequence[str]) -> ChainState:
        state = cls(size, bytes.fromhex(head), [bytes.fromhex(f) for f in frontier])
        if len(state.frontier) != size.bit_count():
            raise ValueError(f"a frontier for size {size} needs {size.bit_count()} roots")
        return state

    def checkpoint(self, log_id: str, time: str, previous: int) -> Checkpoint:
        return Checkpoint(
            log_id=log_id,
            size=self.size,
            time=time,
            root=self.root().hex(),
            chain=self.head.hex(),
            frontier=tuple(self.frontier_hex()),
            previous=previous,
        )


def seal(
    drafts: Sequence[Draft],
    state: ChainState,
    log_id: str,
    checkpointer: Checkpointer,
    previous: int,
) -> tuple[list[Record], list[Checkpoint]]:
    """Place drafts at the end of the chain; `state` advances. Runs inside the write lock.

    `previous` is the size of the log's newest checkpoint, which the first new one names.
    """
    records: list[Record] = []
    checkpoints: list[Checkpoint] = []
    signer = checkpointer.signer()
    signing = checkpointer.may_extend(previous)
    for draft in drafts:
        seq = state.size
        leaf = leaf_hash(body_of(draft, seq))
        state.add(leaf)
        records.append(
            Record(
                seq=seq,
                event_id=draft.event_id,
                time=draft.time,
                event=draft.event,
                categories=draft.categories,
                method=draft.method,
                revision=draft.revision,
                texts_hash=draft.texts_hash,
                language=draft.language,
                mode=draft.mode,
                valid_until=draft.valid_until,
                consent_id=draft.consent_id,
                country=draft.country,
                subdivision=draft.subdivision,
                ip=draft.ip,
                user_agent=draft.user_agent,
                path=draft.path,
                salt=draft.salt,
                personal_hash=draft.personal_hash,
                leaf=leaf.hex(),
                chain=state.head.hex(),
                tc_string=draft.tc_string,
                gpp_string=draft.gpp_string,
            )
        )
        if signing and state.size % checkpointer.every == 0:
            checkpoint = state.checkpoint(log_id, draft.time, previous)
            checkpoints.append(signer.sign(checkpoint) if signer else checkpoint)
            previous = state.size
    checkpointer.saw(previous)
    return records, checkpoints


def extend(
    newest: Checkpoint | None,
    head: ChainState,
    records: Sequence[Record],
    log_id: str,
    checkpointer: Checkpointer,
    now: str,
) -> Checkpoint | None:
    """A checkpoint over the records after the newest one, or None when there are none.

    Runs inside the write lock, off the request path. The new checkpoint is built from
    the newest checkpoint's signed frontier and the records after it, each re-hashed, not
    from the head row: whatever does not extend what was signed before is refused (and
    logged), never signed.
    """
    base = newest.size if newest is not None else 0
    if head.size <= base or not checkpointer.may_extend(base):
        return None

    def refuse(why: str) -> None:
        log.error("consent log: not signing a checkpoint after size %d: %s", base, why)

    state = ChainState()
    if newest is not None:
        keys = checkpointer.trusted()
        if newest.signature is not None and keys and not keys.verify(newest):
            refuse("the newest checkpoint's signature does not verify")
            return None
        try:
            state = ChainState.restore(newest.size, newest.chain, newest.frontier)
        except ValueError:
            refuse("the newest checkpoint's frontier is malformed")
            return None
        if state.root().hex() != newest.root:
            refuse("the newest checkpoint's frontier does not fold into its root")
            return None
    for record in records:
        leaf = leaf_hash(record.body())
        if record.seq != state.size or leaf.hex() != record.leaf:
            refuse(f"record {record.seq} is not the record its hashes say")
            return None
        state.add(leaf)
        if state.head.hex() != record.chain:
            refuse(f"record {record.seq} does not link to the one before it")
            return None
    if (state.size, state.head, state.frontier) != (head.size, head.head, head.frontier):
        refuse("the log's head does not match its records")
        return None
    checkpoint = state.checkpoint(log_id, now, base)
    signer = checkpointer.signer()
    checkpointer.saw(state.size)
    return signer.sign(checkpoint) if signer else checkpoint
