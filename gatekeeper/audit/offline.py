"""Verifying a JSONL export with nothing but the file, the public keys and kept heads.

The same checks as on the server (verify.py), fed from the export's lines: records and
hash-only leaves in chain order, checkpoints after the record that completes them, the
log's declarations from the header. A signed head the auditor kept is compared with the
tree rebuilt at its size when the export spans it, and checked with the export's
consistency proof (RFC 9162) when it is older than the export's start.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from .chain import ChainState
from .checkpoint import Checkpoint, KeyRing, PublicKey
from .completeness import Rules
from .consistency import verify_proof
from .declaration import Declaration
from .export import EXPORT_FORMAT, EXPORT_VERSIONS
from .findings import Report
from .record import Record
from .store import ArchivedTexts
from .verify import Verifier


def _moment(text: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


class _Reading:
    """One pass over an export's lines."""

    def __init__(self, keys: KeyRing | None, source: str, heads: Sequence[Checkpoint]) -> None:
        self.keys = keys
        self.heads = heads
        self.report = Report(source=source)
        self.verifier = Verifier(self.report, keys=keys)
        self.header: dict[str, Any] | None = None
        self.anchor: Checkpoint | None = None
        self.proofs: dict[int, dict[str, Any]] = {}
        self.archived: set[str] = set()
        self.ended = False

    def start(self, item: dict[str, Any]) -> bool:
        """Read the header; False when nothing after it can be checked."""
        verifier = self.verifier
        if item.get("type") != "header" or item.get("format") != EXPORT_FORMAT:
            verifier.finding(None, "not a gatekeeper consent log export (no header)")
            return False
        version = item.get("version")
        if version not in EXPORT_VERSIONS:
            verifier.finding(None, f"export version {version} is unknown")
            return False
        self.header = item
        report = self.report
        report.log_id = str(item["log_id"])
        declarations = [Declaration.from_dict(d) for d in item.get("declarations") or ()]
        rules = Rules(declarations)
        report.declarations = len(declarations)
        state: ChainState | None = None
        anchor = item.get("anchor")
        if anchor is not None:
            checkpoint = Checkpoint.from_dict(anchor)
            probe = Verifier(report, keys=self.keys, rules=rules)
            if checkpoint.log_id != report.log_id or not probe.anchor(checkpoint):
                probe.finding(
                    None,
                    "the checkpoint the export starts from does not verify; nothing "
                    "after it can be trusted",
                )
                return False
            self.anchor = checkpoint
            state = ChainState.restore(checkpoint.size, checkpoint.chain, checkpoint.frontier)
        elif item.get("start", 0) != 0:
            verifier.finding(None, "the export starts mid-log without a checkpoint")
            return False
        self.verifier = Verifier(
            report,
            keys=self.keys,
            start=state,
            previous=state.size if state else 0,
            rules=rules,
            heads=self.heads,
        )
        rules.check(self.keys, report.log_id, self.verifier.finding)
        if version == 2 and not rules and item.get("log_size"):
            self.verifier.finding(None, "the export carries no declaration of the log's rules")
        return True

    def line(self, number: int, item: dict[str, Any]) -> None:
        kind = item.get("type")
        verifier = self.verifier
        if self.ended:
            verifier.finding(None, f"line {number}: content after the end line")
        elif kind == "record":
            verifier.record(Record.from_dict(item))
        elif kind == "leaf":
            verifier.leaf(int(item["seq"]), item["leaf"], item["chain"])
        elif kind == "checkpoint":
            verifier.checkpoint(Checkpoint.from_dict(item))
        elif kind == "consistency":
            self.proofs[int(item["from_size"])] = item
        elif kind == "texts":
            entry = ArchivedTexts(str(item["hash"]), item["texts"], (), "")
            verifier.archived(entry)
            self.archived.add(entry.hash)
        elif kind == "end":
            self.ended = True
            counts = (item.get("records"), item.get("leaves"))
            if counts != (self.report.records, self.report.leaves_only):
                verifier.finding(
                    None,
                    "the end line's counts differ from the lines above (lines removed or added)",
                )
        else:
            verifier.finding(None, f"line {number}: unknown line type {kind!r}")

    def _early(self, head: Checkpoint) -> None:
        """A kept head older than the export's start: only a consistency proof reaches it."""
        verifier, anchor = self.verifier, self.anchor
        item = self.proofs.get(head.size)
        if anchor is None or item is None:
            verifier.record_head(
                head,
                False,
                f"it is older than the export's start (record {verifier.start}) and the "
                "export carries no consistency proof from it: export again with --head",
            )
            return
        try:
            proof = [bytes.fromhex(node) for node in item["proof"]]
            good = verify_proof(
                head.size,
                anchor.size,
                bytes.fromhex(head.root),
                bytes.fromhex(anchor.root),
                proof,
            )
        except (KeyError, TypeError, ValueError):
            good = False
        if good:
            verifier.record_head(
                head,
                True,
                f"the consistency proof shows the log at the export's start ({anchor.size} "
                "records, signed) extends it",
            )
        else:
            verifier.record_head(
                head,
                False,
                "the consistency proof fails: the records before it were rewritten, "
                "deleted, inserted or reordered",
            )

    def finish(self) -> Report:
        verifier = self.verifier
        if self.header is None:
            verifier.finding(None, "the export is empty")
            return self.report
        if not self.ended:
            verifier.finding(None, "the export is cut short (no end line)")
        for head in verifier.early_heads:
            self._early(head)
        verifier.heads_beyond(
            "it is newer than the export, which ends at record {size}: export up to it"
        )
        exported = _moment(self.header.get("exported_at"))
        if exported is not None:
            verifier.complete(exported, overdue_fails=False)
        return verifier.finish(self.archived)


def verify_export(
    lines: Iterable[str],
    keys: KeyRing | PublicKey | None,
    source: str,
    *,
    heads: Sequence[Checkpoint] = (),
) -> Report:
    """Verify a JSONL export with nothing but the file, the public keys and kept heads."""
    reading = _Reading(KeyRing.of(keys), source, heads)
    started = False
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if not isinstance(item, dict):
                raise TypeError("a line must be a JSON object")
            if not started:
                if not reading.start(item):
                    return reading.report
                started = True
                continue
            reading.line(number, item)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            reading.verifier.finding(None, f"line {number}: malformed ({exc})")
    return reading.finish()
