"""Reading policy YAML into a `Policy`, with errors that point at file, line and column.

document.py reads the file and composes it within budgets; nodes.py builds the plain
data, keeping each key path's position; here pydantic validates it and its error
locations are mapped back onto those positions. Every problem in a file is reported, not
only the first.
"""

from __future__ import annotations

import difflib
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .document import BUDGETS, LIBYAML, Budgets, compose, read_text
from .issues import PolicyError, PolicyIssue, dotted, shown, sorted_issues
from .nodes import PLACEHOLDER, Builder, Loc, interpolate
from .schema import Policy

__all__ = [
    "PLACEHOLDER",
    "LoadedPolicy",
    "PolicyError",
    "PolicyIssue",
    "interpolate",
    "load_policy",
    "parse_policy",
    "read_policy",
]


@dataclass(frozen=True, slots=True)
class LoadedPolicy:
    """A valid policy and where its values are written, so that a later problem with one
    of them (a database that does not open) can be reported at its line and column."""

    policy: Policy
    source: str
    positions: Mapping[Loc, tuple[int, int]] = field(default_factory=dict)
    placeholders: frozenset[str] = frozenset()

    def issue(self, loc: Loc, message: str) -> PolicyIssue:
        """An issue at the value of `loc` (or the nearest enclosing key written)."""
        for end in range(len(loc), -1, -1):
            where = self.positions.get(loc[:end])
            if where is not None:
                return PolicyIssue(self.source, *where, dotted(loc), message)
        return PolicyIssue(self.source, 1, 1, dotted(loc), message)


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types an annotation may hold (Optional and Annotated removed)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for arg in typing.get_args(annotation) for t in _unwrap(arg)]
    return [annotation]


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The policy model that owns the mapping at `loc`, for 'did you mean' suggestions."""
    current: Any = Policy
    for part in loc:
        candidates = _unwrap(current)
        current = None
        for candidate in candidates:
            origin = typing.get_origin(candidate)
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                field = candidate.model_fields.get(str(part))
                if field is not None:
                    current = field.annotation
                    break
            elif origin is dict and isinstance(part, str):
                current = typing.get_args(candidate)[1]
                break
            elif origin in (tuple, list) and isinstance(part, int):
                current = typing.get_args(candidate)[0]
                break
        if current is None:
            return None
    for candidate in _unwrap(current):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _data_loc(loc: tuple[Any, ...], data: Any) -> Loc:
    """Keep the parts of a pydantic location that are data keys; others name union members."""
    out: list[str | int] = []
    for i, part in enumerate(loc):
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        elif not (isinstance(data, dict) and i == len(loc) - 1):
            continue  # the last part of a dict location may be a missing key; keep that one
        out.append(part)
    return tuple(out)


def _message(error: Any, loc: Loc) -> tuple[str, bool]:
    """Plain-language text for one pydantic error, and whether it points at a key."""
    kind = error["type"]
    if kind == "extra_forbidden":
        name = str(loc[-1])
        model = _model_at(loc[:-1])
        known = list(model.model_fields) if model else []
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown key {shown(name)}{hint}", True
    if kind == "missing":
        return f"missing required key {str(loc[-1])!r}", True
    message = error["msg"]
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        message = "input should be a section of keys (a mapping)"  # not a Python class name
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    if kind.startswith(
        (
            "date",
            "int",
            "float",
            "bool",
            "string",
            "literal",
            "list",
            "tuple",
            "dict",
            "model",
            "url",
            "greater",
            "less",
            "too",
        )
    ):
        given = error.get("input")
        if not isinstance(given, dict | list) and given is not None:
            message = f"{message} (got {shown(given)})"
    if message[:1].isupper() and message[1:2].islower():
        message = message[0].lower() + message[1:]  # "Input should ..." reads on after a colon
    return message, False


def _resolve(policy: Policy, base: Path) -> Policy:
    """Make relative file paths in the policy relative to the policy file's folder."""

    def fix(path: Path | None) -> Path | None:
        return path if path is None or path.is_absolute() else base / path

    store = policy.audit.store
    if store.startswith("sqlite:///") and not store.startswith("sqlite:////"):
        relative = store.removeprefix("sqlite:///")
        if relative and relative != ":memory:":
            store = f"sqlite:///{base / relative}"
    witness = policy.audit.witness
    if witness and not witness.startswith(("http://", "https://")):
        # A trailing slash says "directory"; keep it through the join.
        witness = str(base / witness) + ("/" if witness.endswith("/") else "")
    return policy.model_copy(
        update={
            "geoip": policy.geoip.model_copy(
                update={
                    "database": fix(policy.geoip.database),
                    "anonymous_database": fix(policy.geoip.anonymous_database),
                }
            ),
            "templates": policy.templates.model_copy(
                update={"directory": fix(policy.templates.directory)}
            ),
            "audit": policy.audit.model_copy(
                update={
                    "store": store,
                    "signing_key": fix(policy.audit.signing_key),
                    "witness": witness,
                    "retired_keys": tuple(base / p for p in policy.audit.retired_keys),
                }
            ),
            "tcf": policy.tcf.model_copy(
                update={"gvl": policy.tcf.gvl.model_copy(update={"file": fix(policy.tcf.gvl.file)})}
            ),
        }
    )


def parse_policy(
    text: str,
    *,
    source: str = "<policy>",
    base_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    placeholders: set[str] | None = None,
    limits: Budgets = BUDGETS,
    libyaml: bool = LIBYAML,
) -> Policy:
    """Parse policy YAML text; raise PolicyError listing every problem.

    With a `placeholders` set, unset variables are not errors: each is replaced by a
    placeholder and its name added to the set (for checking where secrets are absent).
    """
    return _parse(
        text,
        source=source,
        base_dir=base_dir,
        env=env,
        placeholders=placeholders,
        limits=limits,
        libyaml=libyaml,
    ).policy


def _parse(
    text: str,
    *,
    source: str,
    base_dir: Path | None,
    env: Mapping[str, str] | None,
    placeholders: set[str] | None,
    limits: Budgets,
    libyaml: bool = LIBYAML,
) -> LoadedPolicy:
    if len(text) > limits.bytes:  # text handed over directly; files are cut while read
        raise PolicyError(
            [PolicyIssue(source, 1, 1, "", f"a policy may have at most {limits.bytes:,} bytes")]
        )
    node = compose(text, source, limits, libyaml=libyaml)
    builder = Builder(source, os.environ if env is None else env, placeholders, limits)
    if node is None or (node.tag.endswith(":null") and node.value in ("", "~", "null")):
        builder.issue(None, (), "the policy is empty")
        raise PolicyError(builder.issues)
    data = builder.build(node, ())
    if not isinstance(data, dict):
        if not builder.issues:
            builder.issue(
                node.start_mark, (), "the policy must be a mapping of sections (site:, ...)"
            )
        raise PolicyError(sorted_issues(builder.issues))

    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        parents = {done[:-1] for done in builder.reported}
        for error in exc.errors():
            loc = _data_loc(error["loc"], data)
            if _already_reported(loc, builder.reported, parents):
                continue
            message, at_key = _message(error, loc)
            builder.issue(builder.marks.nearest(loc, key=at_key), loc, message)
        raise PolicyError(sorted_issues(builder.issues)) from None
    if builder.issues:
        raise PolicyError(sorted_issues(builder.issues))
    positions = {
        loc: (mark.line + 1, mark.column + 1) for loc, mark in builder.marks.values.items()
    }
    return LoadedPolicy(
        _resolve(policy, base_dir or Path.cwd()),
        source,
        positions,
        frozenset(placeholders or ()),
    )


def _already_reported(loc: Loc, reported: set[Loc], parents: set[Loc]) -> bool:
    """A schema error at or below a value reported already, or about its enclosing
    mapping (which then lacks the key, or has it as None)."""
    return loc in parents or any(loc[:end] in reported for end in range(len(loc) + 1))


def read_policy(
    path: str | os.PathLike[str],
    *,
    env: Mapping[str, str] | None = None,
    placeholders: set[str] | None = None,
    limits: Budgets = BUDGETS,
) -> LoadedPolicy:
    """Load a policy file with its values' positions; raise PolicyError when unusable."""
    file = Path(path)
    return _parse(
        read_text(file, limits),
        source=str(file),
        base_dir=file.resolve().parent,
        env=env,
        placeholders=placeholders,
        limits=limits,
    )


def load_policy(
    path: str | os.PathLike[str],
    *,
    env: Mapping[str, str] | None = None,
    placeholders: set[str] | None = None,
) -> Policy:
    """Load a policy file; raise PolicyError (file:line:col: message) when it is unusable."""
    return read_policy(path, env=env, placeholders=placeholders).policy
