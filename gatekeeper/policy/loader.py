"""Reading policy YAML into a `Policy`, with errors that point at file, line and column.

PyYAML's composed node tree keeps every node's position; we build the plain data from it
ourselves so each key path keeps its mark, then map pydantic's error locations back onto
those marks. Every problem in a file is reported, not only the first.
"""

from __future__ import annotations

import difflib
import os
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from .schema import Policy

Loc = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader reading only true/false as booleans.

    YAML 1.1 also reads yes/no/on/off as booleans, which turns Norway (NO) into False and
    `mode: off` into a boolean: policies are full of such words.
    """


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True, slots=True)
class PolicyIssue:
    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}:{self.line}:{self.column}: {where}{self.message}"


class PolicyError(Exception):
    """A policy that cannot be used; `issues` lists every problem found."""

    def __init__(self, issues: list[PolicyIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(issue) for issue in issues))


def interpolate(text: str, env: Mapping[str, str]) -> tuple[str, list[str]]:
    """Replace ${VAR} and ${VAR:-default}; return the text and the names that were unset."""
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = env.get(name)
        if value is None or (value == "" and default is not None):
            if default is not None:
                return default
            missing.append(name)
            return ""
        return value

    return _ENV.sub(replace, text), missing


class _Marks:
    """Where each key path starts in the file: the key itself and its value."""

    def __init__(self) -> None:
        self.keys: dict[Loc, yaml.Mark] = {}
        self.values: dict[Loc, yaml.Mark] = {}

    def nearest(self, loc: Loc, *, key: bool) -> yaml.Mark | None:
        table = self.keys if key else self.values
        for end in range(len(loc), -1, -1):
            mark = table.get(loc[:end]) or self.values.get(loc[:end])
            if mark is not None:
                return mark
        return None


PLACEHOLDER = "unset-{}-placeholder-0123456789abcdef0123456789"


class _Builder:
    def __init__(self, source: str, env: Mapping[str, str], placeholders: set[str] | None) -> None:
        self.source = source
        self.env = env
        self.placeholders = placeholders
        self.marks = _Marks()
        self.issues: list[PolicyIssue] = []
        self.unset: set[Loc] = set()
        self.constructor = _Loader("")

    def issue(self, mark: yaml.Mark | None, loc: Loc, message: str) -> None:
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        self.issues.append(PolicyIssue(self.source, line, column, _dotted(loc), message))

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        self.marks.values[loc] = node.start_mark
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.constructor.construct_object(key_node)
                if not isinstance(key, str | int):
                    key = str(key)
                if key in out:
                    self.issue(key_node.start_mark, (*loc, key), f"duplicate key {key!r}")
                    continue
                self.marks.keys[(*loc, key)] = key_node.start_mark
                out[key] = self.build(value_node, (*loc, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*loc, i)) for i, item in enumerate(node.value)]
        if node.tag == "tag:yaml.org,2002:str" and "${" in node.value:
            text, missing = interpolate(node.value, self.env)
            if missing and self.placeholders is not None:
                self.placeholders.update(missing)
                env = {**self.env, **{name: PLACEHOLDER.format(name) for name in missing}}
                text, missing = interpolate(node.value, env)
            for name in missing:
                self.issue(node.start_mark, loc, f"environment variable {name} is not set")
                self.unset.add(loc)
            if node.style is None:
                # Unquoted: `status: ${STATUS:-403}` reads as the number it would have been.
                tag = self.constructor.resolve(yaml.ScalarNode, text, (True, False))
                node = yaml.ScalarNode(tag, text, node.start_mark, node.end_mark)
            else:
                return text
        try:
            return self.constructor.construct_object(node)
        except (ValueError, yaml.constructor.ConstructorError):
            # An impossible date such as 2026-13-01: let the schema say what is wrong with it.
            return node.value


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


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
        return f"unknown key {name!r}{hint}", True
    if kind == "missing":
        return f"missing required key {str(loc[-1])!r}", True
    message = error["msg"]
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
            message = f"{message} (got {given!r})"
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
                update={"store": store, "signing_key": fix(policy.audit.signing_key)}
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
) -> Policy:
    """Parse policy YAML text; raise PolicyError listing every problem.

    With a `placeholders` set, unset variables are not errors: each is replaced by a
    placeholder and its name added to the set (for checking where secrets are absent).
    """
    builder = _Builder(source, os.environ if env is None else env, placeholders)
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        builder.issue(mark, (), f"not valid YAML: {exc.problem or exc.context}")
        raise PolicyError(builder.issues) from None
    if node is None or (isinstance(node, yaml.ScalarNode) and node.value == ""):
        builder.issue(None, (), "the policy is empty")
        raise PolicyError(builder.issues)
    data = builder.build(node, ())
    if not isinstance(data, dict):
        builder.issue(node.start_mark, (), "the policy must be a mapping of sections (site:, ...)")
        raise PolicyError(builder.issues)

    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = _data_loc(error["loc"], data)
            if loc in builder.unset or any(loc == unset[:-1] for unset in builder.unset):
                continue  # already reported as the unset variable that caused it
            message, at_key = _message(error, loc)
            builder.issue(builder.marks.nearest(loc, key=at_key), loc, message)
        raise PolicyError(_sorted(builder.issues)) from None
    if builder.issues:
        raise PolicyError(_sorted(builder.issues))
    return _resolve(policy, base_dir or Path.cwd())


def _sorted(issues: list[PolicyIssue]) -> list[PolicyIssue]:
    unique = dict.fromkeys(issues)
    return sorted(unique, key=lambda i: (i.line, i.column))


def load_policy(
    path: str | os.PathLike[str],
    *,
    env: Mapping[str, str] | None = None,
    placeholders: set[str] | None = None,
) -> Policy:
    """Load a policy file; raise PolicyError (file:line:col: message) when it is unusable."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(
            [PolicyIssue(str(file), 1, 1, "", f"cannot read: {exc.strerror}")]
        ) from None
    except UnicodeDecodeError as exc:
        raise PolicyError(
            [PolicyIssue(str(file), 1, 1, "", f"not UTF-8 text: {exc.reason}")]
        ) from None
    return parse_policy(
        text,
        source=str(file),
        base_dir=file.resolve().parent,
        env=env,
        placeholders=placeholders,
    )
