"""Signed heads outside the database: reading the ones auditors kept, and the witness.

A signed head (a checkpoint as JSON, checkpoint.Checkpoint.head) is only worth keeping
somewhere the database's writers cannot reach. `audit.witness` names that place:

- an `http(s)://` URL: each new head is POSTed to it as JSON (a transparency service, or
  the auditor's own collector);
- a directory (an existing one, or a path ending in `/`): one file per head,
  `LOGID-SIZE.json`, written whole and renamed into place;
- any other path: a file with one head per line, appended to and synced.

`gatekeeper audit verify --since` reads any of the three local forms: one head, a file of
heads, or a directory of them.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any, Protocol

import httpx

from .checkpoint import HEAD_FORMAT, Checkpoint


class HeadError(Exception):
    """A kept head that cannot be read."""


class WitnessError(Exception):
    """The witness did not take the head; publishing is retried later."""


def parse_head(data: Any, source: str) -> Checkpoint:
    if not isinstance(data, dict) or data.get("format") != HEAD_FORMAT:
        raise HeadError(f"{source}: not a gatekeeper signed head (format {HEAD_FORMAT!r})")
    try:
        return Checkpoint.from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise HeadError(f"{source}: malformed signed head ({exc})") from None


def _read_file(path: Path) -> list[Checkpoint]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise HeadError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise HeadError(f"{path}: not UTF-8 text") from None
    try:
        return [parse_head(json.loads(text), str(path))]
    except json.JSONDecodeError:
        pass  # not one JSON document: one head per line, as a file witness writes them
    heads = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                heads.append(parse_head(json.loads(line), f"{path}:{number}"))
            except json.JSONDecodeError as exc:
                raise HeadError(f"{path}:{number}: not JSON ({exc.msg})") from None
    if not heads:
        raise HeadError(f"{path}: holds no signed head")
    return heads


def load_heads(path: Path) -> list[Checkpoint]:
    """The heads in a head file, a file of heads (one a line), or a directory of them."""
    if path.is_dir():
        heads: list[Checkpoint] = []
        for entry in sorted(path.glob("*.json")):
            heads += _read_file(entry)
        return heads
    return _read_file(path)


class Witness(Protocol):
    async def publish(self, head: dict[str, Any]) -> None:
        """Hand over one signed head; raises WitnessError when it was not taken."""

    def heads(self, log_id: str) -> list[Checkpoint]:
        """The heads of this log the witness holds, if it can be read back (else [])."""

    async def close(self) -> None: ...


def _dump(head: dict[str, Any]) -> str:
    return json.dumps(head, sort_keys=True, separators=(",", ":"))


class HTTPWitness:
    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.transport = transport
        self._client: httpx.AsyncClient | None = None

    async def publish(self, head: dict[str, Any]) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout, transport=self.transport)
        try:
            response = await self._client.post(
                self.url, content=_dump(head).encode(), headers={"Content-Type": "application/json"}
            )
        except httpx.HTTPError as exc:
            raise WitnessError(f"{self.url}: {type(exc).__name__}: {exc}") from exc
        if not 200 <= response.status_code < 300:
            raise WitnessError(f"{self.url}: HTTP {response.status_code}")

    def heads(self, log_id: str) -> list[Checkpoint]:
        return []

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


class DirectoryWitness:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _write(self, head: dict[str, Any]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        target = self.path / f"{head['log_id']}-{int(head['size']):012d}.json"
        partial = target.with_name(target.name + ".partial")
        with open(partial, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(head, indent=2, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, target)

    async def publish(self, head: dict[str, Any]) -> None:
        try:
            await asyncio.to_thread(self._write, head)
        except OSError as exc:
            raise WitnessError(f"{self.path}: {exc.strerror or exc}") from exc

    def heads(self, log_id: str) -> list[Checkpoint]:
        if not self.path.is_dir():
            return []
        found: list[Checkpoint] = []
        for entry in sorted(self.path.glob(f"{log_id}-*.json")):
            found += _read_file(entry)
        return found

    async def close(self) -> None:
        pass


class FileWitness:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _append(self, head: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(_dump(head) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    async def publish(self, head: dict[str, Any]) -> None:
        try:
            await asyncio.to_thread(self._append, head)
        except OSError as exc:
            raise WitnessError(f"{self.path}: {exc.strerror or exc}") from exc

    def heads(self, log_id: str) -> list[Checkpoint]:
        if not self.path.is_file():
            return []
        return [head for head in _read_file(self.path) if head.log_id == log_id]

    async def close(self) -> None:
        pass


def open_witness(where: str) -> Witness:
    """The witness for an `audit.witness` value (no I/O until the first head)."""
    if where.startswith(("http://", "https://")):
        return HTTPWitness(where)
    path = Path(where)
    if where.endswith(("/", os.sep)) or path.is_dir():
        return DirectoryWitness(path)
    return FileWitness(path)
