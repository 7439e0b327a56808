"""Verification: re-hash every record, walk the chain, check every checkpoint.

One verifier serves both sources: the live store (`verify_store`) and an export file
(`export.verify_export`), fed records in chain order. Each record is checked on its own
(body against leaf hash, personal fields against their commitment, link to the stored
chain value before it), which names the first bad record; the running state rebuilt from
re-computed leaves is compared with each signed checkpoint, which catches a rewrite that
recomputed every hash after the edit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .chain import ChainState, fold, leaf_hash, node_hash
from .checkpoint import Checkpoint, PublicKey
from .record import Record, body_of, personal_commitment, texts_hash
from .store import ArchivedTexts, Query, Store

PAGE = 5000
MAX_FINDINGS = 100
MAX_SHIFT = 64  # how far a record that moved is looked for, to tell moves from edits


@dataclass(frozen=True, slots=True)
class Finding:
    seq: int | None  # the record concerned, when there is one
    message: str

    def __str__(self) -> str:
        return f"record {self.seq}: {self.message}" if self.seq is not None else self.message


@dataclass(slots=True)
class Report:
    source: str
    log_id: str = ""
    records: int = 0
    leaves_only: int = 0
    purged: int = 0
    checkpoints: int = 0
    signed: int = 0
    key_id: str | None = None
    covered: int = 0  # records under a checkpoint that verified (signed if a key was given)
    texts: int = 0
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    omitted: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first_bad(self) -> Finding | None:
        with_seq = [f for f in self.findings if f.seq is not None]
        return min(with_seq, key=lambda f: f.seq or 0) if with_seq else None

    def to_dict(self) -> dict[str, Any]:
        first = self.first_bad
        return {
            "ok": self.ok,
            "source": self.source,
            "log_id": self.log_id,
            "records": self.records,
            "leaves_only": self.leaves_only,
            "purged": self.purged,
            "checkpoints": self.checkpoints,
            "signed_checkpoints": self.signed,
            "key_id": self.key_id,
            "covered_by_checkpoint": self.covered,
            "texts": self.texts,
            "first_bad_record": first.seq if first else None,
            "findings": [{"seq": f.seq, "message": f.message} for f in self.findings],
            "findings_omitted": self.omitted,
            "notes": self.notes,
        }

    def lines(self) -> list[str]:
        out = [f"consent log: {self.source} (log id {self.log_id or 'unknown'})"]
        detail = f", {self.leaves_only} as hashes only" if self.leaves_only else ""
        out.append(f"records: {self.records}{detail}, of which {self.purged} purged")
        if self.checkpoints:
            signed = f", {self.signed} signatures valid (key {self.key_id})" if self.signed else ""
            out.append(f"checkpoints: {self.checkpoints}{signed}")
        if self.covered:
            how = "signed" if self.signed else "unsigned or unchecked"
            out.append(
                f"under a matching checkpoint ({how}): every record before seq {self.covered}"
            )
        if self.texts:
            out.append(f"texts archive: {self.texts} texts match their hashes")
        out += [f"note: {note}" for note in self.notes]
        if self.ok:
            out.append("OK")
            return out
        out += [f"FAIL {finding}" for finding in self.findings]
        if self.omitted:
            out.append(f"FAIL ... and {self.omitted} more")
        first = self.first_bad
        if first is not None:
            out.append(f"first bad record: seq {first.seq}")
        return out


def _bytes(value: object) -> bytes | None:
    try:
        raw = bytes.fromhex(str(value))
    except ValueError:
        return None
    return raw if len(raw) == 32 else None


class Verifier:
    def __init__(
        self,
        report: Report,
        *,
        public_key: PublicKey | None,
        start: ChainState | None = None,
    ) -> None:
        self.report = report
        self.public_key = public_key
        self.state = start or ChainState()
        self.next_seq = self.state.size
        self.stored_head = self.state.head  # the stored chain value before the next record
        self.texts_seen: set[str] = set()
        self.unsigned = 0
        self.unchecked_signatures = 0
        if public_key is not None:
            report.key_id = public_key.key_id
        report.covered = self.state.size  # an anchor is checked before it is used

    def finding(self, seq: int | None, message: str) -> None:
        if len(self.report.findings) >= MAX_FINDINGS:
            self.report.omitted += 1
            return
        self.report.findings.append(Finding(seq, message))

    def _position(self, seq: int) -> bool:
        """Check the record's place; False when something is missing just before it."""
        expected, self.next_seq = self.next_seq, max(self.next_seq, seq + 1)
        if seq > expected:
            missing = (
                f"record {expected} is"
                if seq == expected + 1
                else (f"records {expected}..{seq - 1} are")
            )
            self.finding(expected, f"{missing} missing (deleted)")
            return False
        if seq < expected:
            self.finding(seq, "out of order or duplicated (records reordered or inserted)")
            return False
        return True

    def _link(self, seq: int, leaf: bytes, chain: object, in_place: bool) -> None:
        stored = _bytes(chain)
        if stored is None:
            self.finding(seq, "its chain value is not a SHA-256 hash")
        elif in_place and node_hash(self.stored_head, leaf) != stored:
            self.finding(
                seq,
                "does not link to the record before it (a record was inserted, "
                "deleted or moved before this one)",
            )
        self.stored_head = stored if stored is not None else self.stored_head

    def record(self, record: Record) -> None:
        self.report.records += 1
        self.texts_seen.add(record.texts_hash)
        in_place = self._position(record.seq)
        if record.salt is None:
            self.report.purged += 1
            if any(value is not None for value in record.personal().values()):
                self.finding(
                    record.seq,
                    "purged, yet it carries personal fields its hash "
                    "does not cover (added after the purge)",
                )
        elif personal_commitment(record.personal(), record.salt) != record.personal_hash:
            self.finding(
                record.seq,
                "its consent id, country, IP, user agent or path do not match its hash (modified)",
            )
        computed = leaf_hash(record.body())
        stored_leaf = _bytes(record.leaf)
        if stored_leaf != computed:
            self._mismatch(record, stored_leaf)
            self._link(record.seq, stored_leaf or computed, record.chain, False)
        else:
            self._link(record.seq, computed, record.chain, in_place)
        self.state.add(computed)

    def _mismatch(self, record: Record, stored: bytes | None) -> None:
        """Say whether the record was changed or only moved: its hash covers its position."""
        seq = record.seq
        if stored is not None:
            for was in range(max(0, seq - MAX_SHIFT), seq + MAX_SHIFT + 1):
                if was != seq and leaf_hash(body_of(record, was)) == stored:
                    if was < seq:
                        self.finding(
                            was,
                            f"records {was}..{seq - 1} were inserted or moved "
                            f"here: record {seq} was at {was}",
                        )
                    else:
                        self.finding(
                            seq,
                            f"this record was at {was}: records before it were "
                            "deleted or reordered",
                        )
                    return
        self.finding(seq, "its content does not match its hash (modified)")

    def leaf(self, seq: int, leaf: object, chain: object) -> None:
        """A record present in an export as its hashes only (outside the export's filter)."""
        self.report.leaves_only += 1
        in_place = self._position(seq)
        raw = _bytes(leaf)
        if raw is None:
            self.finding(seq, "its leaf hash is not a SHA-256 hash")
            raw = bytes(32)
        self._link(seq, raw, chain, in_place)
        self.state.add(raw)

    def _signature(self, checkpoint: Checkpoint) -> bool:
        """Whether the checkpoint is authentic enough to cover the records before it."""
        if self.public_key is None:
            if checkpoint.signature is None:
                self.unsigned += 1
            else:
                self.unchecked_signatures += 1
            return True
        if checkpoint.signature is None:
            self.finding(None, f"checkpoint at size {checkpoint.size} is not signed")
            return False
        if not self.public_key.verify(checkpoint):
            key = (
                ""
                if checkpoint.key_id == self.public_key.key_id
                else (f" (made with key {checkpoint.key_id}, not {self.public_key.key_id})")
            )
            self.finding(None, f"checkpoint at size {checkpoint.size}: bad signature{key}")
            return False
        self.report.signed += 1
        return True

    def anchor(self, checkpoint: Checkpoint) -> bool:
        """Check the checkpoint an export starts from before trusting its frontier."""
        good = self._signature(checkpoint) and self._frontier(checkpoint)
        if good:
            self.report.checkpoints += 1
        return good

    def _frontier(self, checkpoint: Checkpoint) -> bool:
        frontier = [_bytes(f) for f in checkpoint.frontier]
        if (
            None in frontier
            or len(frontier) != checkpoint.size.bit_count()
            or fold([f for f in frontier if f is not None]).hex() != checkpoint.root
        ):
            self.finding(
                None,
                f"checkpoint at size {checkpoint.size}: its frontier does not "
                "fold into its root (modified)",
            )
            return False
        return True

    def checkpoint(self, checkpoint: Checkpoint) -> None:
        self.report.checkpoints += 1
        if checkpoint.log_id != self.report.log_id:
            self.finding(
                None,
                f"checkpoint at size {checkpoint.size} belongs to another log "
                f"({checkpoint.log_id})",
            )
            return
        authentic = self._signature(checkpoint)
        authentic = self._frontier(checkpoint) and authentic
        if checkpoint.size > self.state.size and checkpoint.size > self.next_seq:
            self.finding(
                self.next_seq,
                f"the log ends at record {self.next_seq - 1} but a checkpoint covers "
                f"{checkpoint.size} records: records {self.next_seq}..{checkpoint.size - 1} "
                "were deleted",
            )
            return
        if checkpoint.size != self.state.size:
            self.finding(
                None,
                f"checkpoint at size {checkpoint.size} does not line up with "
                f"the records ({self.state.size} before it)",
            )
            return
        if checkpoint.root != self.state.root().hex() or checkpoint.chain != self.state.head.hex():
            self.finding(
                None,
                f"records before checkpoint {checkpoint.size} differ from what it signed "
                "(rewritten, with the hashes recomputed)",
            )
            return
        if authentic and self.report.ok:
            self.report.covered = checkpoint.size

    def archived(self, entry: ArchivedTexts) -> None:
        try:
            good = texts_hash(entry.texts) == entry.hash
        except TypeError:
            good = False
        if not good:
            self.finding(None, f"archived texts {entry.hash} do not match their hash (modified)")
        else:
            self.report.texts += 1

    def finish(self, archived: Iterable[str] = ()) -> Report:
        report = self.report
        if self.unsigned:
            report.notes.append(f"{self.unsigned} checkpoints carry no signature")
        if self.unchecked_signatures:
            report.notes.append(
                f"{self.unchecked_signatures} checkpoint signatures were not checked: no "
                "public key was given"
            )
        tail = self.state.size - report.covered
        if tail > 0 and report.ok:
            report.notes.append(
                f"the last {tail} records (from seq {report.covered}) are chained but not yet "
                "under a checkpoint: their hashes are consistent, but only a later "
                "checkpoint can prove they were not rewritten"
            )
        missing = sorted(self.texts_seen - set(archived))
        if missing:
            shown = ", ".join(h[:12] for h in missing[:5])
            report.notes.append(f"{len(missing)} texts hashes have no archived texts: {shown}")
        return report


async def verify_store(
    store: Store, public_key: PublicKey | None, *, checkpoint_every: int | None = None
) -> Report:
    """Verify the whole log in the store, with the policy's key when it has one."""
    head = await store.head()
    report = Report(source=store.display_url, log_id=head.log_id)
    verifier = Verifier(report, public_key=public_key)
    checkpoints = await store.checkpoints()
    due = 0
    after = -1
    while True:
        page = await store.records(Query(), after=after, limit=PAGE)
        for record in page:
            while due < len(checkpoints) and checkpoints[due].size <= record.seq:
                verifier.checkpoint(checkpoints[due])
                due += 1
            verifier.record(record)
        if len(page) < PAGE:
            break
        after = page[-1].seq
    for checkpoint in checkpoints[due:]:
        verifier.checkpoint(checkpoint)
    if head.size != verifier.next_seq:
        verifier.finding(
            min(head.size, verifier.next_seq),
            f"the log's head says {head.size} records but {verifier.next_seq} are present "
            "(records removed from or added at the end)",
        )
    elif head.chain != verifier.stored_head.hex():
        verifier.finding(head.size - 1, "the last record does not match the log's head")
    if checkpoint_every and not checkpoints and head.size >= checkpoint_every:
        report.notes.append(
            f"no checkpoints although the log holds {head.size} records "
            f"(checkpoint_every: {checkpoint_every}); were they deleted?"
        )
    archived = await store.texts()
    for entry in archived:
        verifier.archived(entry)
    return verifier.finish(entry.hash for entry in archived)
