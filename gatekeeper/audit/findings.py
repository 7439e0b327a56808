"""What verification found: the findings, the counts, and the notes, as text or data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Finding:
    seq: int | None  # the record concerned, when there is one
    message: str

    def __str__(self) -> str:
        return f"record {self.seq}: {self.message}" if self.seq is not None else self.message


@dataclass(frozen=True, slots=True)
class HeadCheck:
    """One signed head an auditor kept, and what it proved about the log today."""

    size: int
    time: str
    root: str
    key_id: str | None
    consistent: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "time": self.time,
            "root": self.root,
            "key_id": self.key_id,
            "consistent": self.consistent,
            "detail": self.detail,
        }


@dataclass(slots=True)
class Report:
    source: str
    log_id: str = ""
    records: int = 0
    leaves_only: int = 0
    purged: int = 0
    checkpoints: int = 0
    signed: int = 0
    key_ids: list[str] = field(default_factory=list)  # keys whose signatures verified
    covered: int = 0  # records under a checkpoint that verified (signed if a key was given)
    declarations: int = 0
    texts: int = 0
    heads: list[HeadCheck] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    omitted: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def key_id(self) -> str | None:
        return ", ".join(self.key_ids) or None

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
            "key_ids": self.key_ids,
            "covered_by_checkpoint": self.covered,
            "declarations": self.declarations,
            "texts": self.texts,
            "heads": [head.to_dict() for head in self.heads],
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
        if self.declarations:
            out.append(f"declarations: {self.declarations} (the log's signed checkpoint rules)")
        if self.covered:
            how = "signed" if self.signed else "unsigned or unchecked"
            out.append(
                f"under a matching checkpoint ({how}): every record before seq {self.covered}"
            )
        for head in self.heads:
            verdict = "consistent" if head.consistent else "NOT consistent"
            out.append(f"kept head of size {head.size} ({head.time}): {verdict}: {head.detail}")
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
