"""Verification: re-hash every record, walk the chain, check every checkpoint and head.

One verifier serves both sources: the live store (`verify_store`) and an export file
(`offline.verify_export`), fed records in chain order. Each record is checked on its own
(body against leaf hash, personal fields against their commitment, link to the stored
chain value before it), which names the first bad record; the running state rebuilt from
re-computed leaves is compared with each signed checkpoint, which catches a rewrite that
recomputed every hash after the edit; the log's signed declarations say which
checkpoints must exist (completeness.py), which catches checkpoints deleted to hide a
rewrite; and signed heads an auditor kept from earlier are compared with the tree rebuilt
at their size, which catches anything before them, even with every checkpoint rewritten.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from .chain import ChainState, fold, leaf_hash, node_hash
from .checkpoint import Checkpoint, KeyRing, PublicKey
from .completeness import Rules
from .findings import Finding, HeadCheck, Report
from .record import Record, body_of, personal_commitment, texts_hash
from .store import ArchivedTexts, Query, Store

__all__ = ["PAGE", "Finding", "Report", "Verifier", "verify_store"]

PAGE = 5000
MAX_FINDINGS = 100
MAX_SHIFT = 64  # how far a record that moved is looked for, to tell moves from edits


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
        keys: KeyRing | PublicKey | None,
        start: ChainState | None = None,
        previous: int = 0,
        rules: Rules | None = None,
        heads: Sequence[Checkpoint] = (),
    ) -> None:
        self.report = report
        self.keys = KeyRing.of(keys)
        self.rules = rules or Rules(())
        self.state = start or ChainState()
        self.start = self.state.size
        self.next_seq = self.state.size
        self.stored_head = self.state.head  # the stored chain value before the next record
        self.previous = previous  # the size of the last checkpoint seen
        self.present: set[int] = set()
        self.first_uncovered: tuple[int, str] | None = None
        self.texts_seen: set[str] = set()
        self.unsigned = 0
        self.unchecked_signatures = 0
        report.covered = self.state.size
        kept = sorted(self._trusted_heads(heads), key=lambda h: h.size)
        # Heads before an export's start need a consistency proof (offline.py); one at the
        # start is the anchor's own size; the others are met while walking.
        self.early_heads = [h for h in kept if h.size < self.start]
        self.heads = [h for h in kept if h.size >= self.start]
        while self.heads and self.heads[0].size == self.start:
            self._compare_head(self.heads.pop(0))

    def finding(self, seq: int | None, message: str) -> None:
        if len(self.report.findings) >= MAX_FINDINGS:
            self.report.omitted += 1
            return
        self.report.findings.append(Finding(seq, message))

    # --- records ----------------------------------------------------------------------

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

    def _add(self, leaf: bytes, seq: int, time: str | None) -> None:
        self.state.add(leaf)
        if time is not None and self.first_uncovered is None:
            self.first_uncovered = (seq, time)
        while self.heads and self.heads[0].size <= self.state.size:
            self._compare_head(self.heads.pop(0))

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
        self._add(computed, record.seq, record.time)

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
        # A hash-only line has no time: the export's checkpoint around it vouches for it.
        self._add(raw, seq, None)

    # --- checkpoints ------------------------------------------------------------------

    def _signature(self, checkpoint: Checkpoint) -> bool:
        """Whether the checkpoint is authentic enough to cover the records before it."""
        if self.keys is None:
            if checkpoint.signature is None:
                self.unsigned += 1
            else:
                self.unchecked_signatures += 1
            return True
        if checkpoint.signature is None:
            self.finding(None, f"checkpoint at size {checkpoint.size} is not signed")
            return False
        if not self.keys.verify(checkpoint):
            key = (
                ""
                if checkpoint.key_id in self.keys
                else (
                    f" (made with key {checkpoint.key_id}, not "
                    f"{' or '.join(self.keys.ids)}: a retired key goes in audit.retired_keys)"
                )
            )
            self.finding(None, f"checkpoint at size {checkpoint.size}: bad signature{key}")
            return False
        wrong_key = self.rules.key_allowed(checkpoint.size, checkpoint.key_id)
        if wrong_key is not None:
            self.finding(None, wrong_key)
            return False
        self.report.signed += 1
        if checkpoint.key_id and checkpoint.key_id not in self.report.key_ids:
            self.report.key_ids.append(checkpoint.key_id)
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

    def _chained(self, checkpoint: Checkpoint) -> None:
        """Version 2 checkpoints name the one before them: a gap is a deleted one."""
        named, before = checkpoint.previous, self.previous
        self.previous = checkpoint.size
        if named is None or named == before:
            return
        if named < before:
            self.finding(
                None,
                f"checkpoint at size {checkpoint.size} follows the checkpoint at size "
                f"{named}, but the one at size {before} is between them "
                "(a checkpoint was inserted)",
            )
        else:
            self.finding(
                None,
                f"checkpoint at size {checkpoint.size} follows a checkpoint at size "
                f"{named}, which is missing (deleted)",
            )

    def checkpoint(self, checkpoint: Checkpoint) -> None:
        self.report.checkpoints += 1
        self.present.add(checkpoint.size)
        # The time rule asks for a checkpoint after old records, not a valid one: a bad
        # one is a finding of its own.
        self.first_uncovered = None
        if checkpoint.log_id != self.report.log_id:
            self.finding(
                None,
                f"checkpoint at size {checkpoint.size} belongs to another log "
                f"({checkpoint.log_id})",
            )
            return
        authentic = self._signature(checkpoint)
        authentic = self._frontier(checkpoint) and authentic
        self._chained(checkpoint)
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

    # --- heads an auditor kept --------------------------------------------------------

    def _trusted_heads(self, heads: Iterable[Checkpoint]) -> list[Checkpoint]:
        kept: list[Checkpoint] = []
        for head in heads:
            if head.log_id != self.report.log_id:
                self.finding(None, f"the kept head of size {head.size} is of another log")
            elif self.keys is not None and not self.keys.verify(head):
                self.finding(
                    None,
                    f"the kept head of size {head.size} ({head.time}) does not verify with "
                    "the log's keys: it was modified, or is not from this log",
                )
            elif head.size > 0:
                kept.append(head)
        return kept

    def record_head(self, head: Checkpoint, consistent: bool, detail: str) -> None:
        self.report.heads.append(
            HeadCheck(head.size, head.time, head.root, head.key_id, consistent, detail)
        )
        if consistent:
            if self.report.ok:
                self.report.covered = max(self.report.covered, head.size)
        else:
            self.finding(None, f"the head of size {head.size} kept from {head.time}: {detail}")

    def _compare_head(self, head: Checkpoint) -> None:
        if self.state.size != head.size:  # only when records are missing at the very end
            return
        if self.state.root().hex() == head.root and self.state.head.hex() == head.chain:
            self.record_head(
                head,
                True,
                "the log extends it: the tree rebuilt from today's records has the root it signed",
            )
        else:
            self.record_head(
                head,
                False,
                f"the first {head.size} records today are not those it signed (rewritten, "
                "deleted, inserted or reordered, with the checkpoints rewritten to match)",
            )

    def heads_beyond(self, what: str) -> None:
        """Heads larger than the log (or export) that was walked: `what` says why."""
        for head in self.heads:
            gone = head.size - self.state.size
            self.record_head(
                head, False, what.format(size=self.state.size, head=head.size, gone=gone)
            )
        self.heads = []

    # --- the end ----------------------------------------------------------------------

    def archived(self, entry: ArchivedTexts) -> None:
        try:
            good = texts_hash(entry.texts) == entry.hash
        except TypeError:
            good = False
        if not good:
            self.finding(None, f"archived texts {entry.hash} do not match their hash (modified)")
        else:
            self.report.texts += 1

    def complete(self, now: datetime, *, overdue_fails: bool = True) -> None:
        """Ask for every checkpoint the declarations promise, up to the walked size, and
        for one over the oldest record after the last checkpoint, if it is old enough.

        An export cannot tell a deleted checkpoint from one not yet made when it was
        written (`overdue_fails=False`): it notes an overdue tail instead.
        """
        for message in self.rules.missing(self.present, self.start, self.state.size):
            self.finding(None, message)
        if self.first_uncovered is not None:
            seq, time = self.first_uncovered
            why = self.rules.overdue(seq, time, now)
            if why is not None and overdue_fails:
                self.finding(seq, why)
            elif why is not None:
                self.report.notes.append(f"record {seq}: {why}")

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
    store: Store,
    keys: KeyRing | PublicKey | None,
    *,
    heads: Sequence[Checkpoint] = (),
    now: datetime | None = None,
) -> Report:
    """Verify the whole log in the store with these trusted keys, and against kept heads."""
    head = await store.head()
    report = Report(source=store.display_url, log_id=head.log_id)
    rules = Rules(await store.declarations())
    report.declarations = len(rules.declarations)
    keys = KeyRing.of(keys)
    verifier = Verifier(report, keys=keys, rules=rules, heads=heads)
    rules.check(keys, head.log_id, verifier.finding)
    # The log may grow while it is read: everything is checked up to the head read first.
    every_checkpoint = await store.checkpoints()
    checkpoints = [c for c in every_checkpoint if c.size <= head.size]
    due = 0
    after = -1
    while True:
        page = await store.records(Query(), after=after, before=head.size, limit=PAGE)
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
    # A checkpoint beyond the head read first is fine if the log has grown to it since;
    # beyond the head now, it covers records that are gone.
    later = await store.head()
    for checkpoint in every_checkpoint:
        if checkpoint.size > later.size:
            verifier.checkpoint(checkpoint)
    if later.end > later.size:
        verifier.finding(
            later.size,
            f"records were added after the last one the log's head counts ({later.size})",
        )
    verifier.heads_beyond(
        "the log holds {size} records today, {gone} fewer than the {head} the head signed: "
        "records were deleted (from the end, or anywhere with the hashes recomputed), "
        "and the checkpoints with them"
    )
    if not rules and verifier.state.size:
        verifier.finding(
            None,
            "the log has no declaration of its checkpoint rules (it is written with the "
            "first record): it was deleted",
        )
    elif rules.start:
        report.notes.append(
            f"records before seq {rules.start} predate the log's first declaration (they "
            "were written by an older gatekeeper): only their checkpoints vouch for them"
        )
    verifier.complete(now or datetime.now(UTC))
    archived = await store.texts()
    for entry in archived:
        verifier.archived(entry)
    return verifier.finish(entry.hash for entry in archived)
