"""Composed YAML nodes into plain data, remembering where each key path was written.

We build the data ourselves rather than letting PyYAML construct it so that every key
path keeps its position, so that merge keys (`<<: *defaults`) point at the line where a
merged value is written, and so that nothing PyYAML could construct beyond plain data
(tags such as !!python/object or !!binary) is accepted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

from .document import BUDGETS, Budgets, yaml_tools
from .issues import PolicyIssue, dotted

Loc = tuple[str | int, ...]

_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_VALUE = "tag:yaml.org,2002:value"  # a bare `=`: YAML 1.1's default-value key; just text
_SCALARS = {
    _STR,
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}

# Characters a text may not hold even when an escape ("\0", "\x07", "\ud800") wrote them:
# they end up in headers, cookies, HTML and logs, and a lone surrogate cannot be encoded.
_BAD_IN_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufeff\ufffe\uffff]")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
PLACEHOLDER = "unset-{}-placeholder-0123456789abcdef0123456789"
_MESSAGE_LENGTH = 300


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


def bad_character(text: str) -> str | None:
    """Why `text` cannot be a policy text, or None."""
    found = _BAD_IN_TEXT.search(text)
    if found is None:
        return None
    char = found.group()
    code = f"U+{ord(char):04X}"
    if "\ud800" <= char <= "\udfff":
        return f"a lone surrogate ({code}, an escape such as \\ud800) is not text"
    if char == "\x00":
        return "a NUL character (an escape such as \\0) is not allowed in a text"
    if char == "\ufeff":
        return "a byte order mark (U+FEFF) is not allowed in a text"
    return f"control character {code} is not allowed in a text"


class Marks:
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


class Builder:
    """Plain data from a node tree; problems are collected in `issues`, not raised, so a
    file's every problem is reported at once."""

    def __init__(
        self,
        source: str,
        env: Mapping[str, str],
        placeholders: set[str] | None,
        limits: Budgets = BUDGETS,
    ) -> None:
        self.source = source
        self.env = env
        self.placeholders = placeholders
        self.limits = limits
        self.marks = Marks()
        self.issues: list[PolicyIssue] = []
        # Key paths already reported here; the schema's complaints about them would only
        # repeat the problem.
        self.reported: set[Loc] = set()
        self.tools = yaml_tools()

    def issue(self, mark: yaml.Mark | None, loc: Loc, message: str) -> None:
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        if len(message) > _MESSAGE_LENGTH:
            message = message[: _MESSAGE_LENGTH - 3] + "..."
        self.issues.append(PolicyIssue(self.source, line, column, dotted(loc), message))

    def unsupported(self, node: yaml.Node, loc: Loc) -> None:
        tag = node.tag.replace("tag:yaml.org,2002:", "!!")
        self.refuse(node, loc, f"the tag {tag} is not supported in a policy")

    def refuse(self, node: yaml.Node, loc: Loc, message: str) -> None:
        self.issue(node.start_mark, loc, message)
        self.reported.add(loc)

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        self.marks.values[loc] = node.start_mark
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP:
                return self.unsupported(node, loc)
            out: dict[Any, Any] = {}
            for key, (key_node, value_node) in self.pairs(node, loc).items():
                self.marks.keys[(*loc, key)] = key_node.start_mark
                out[key] = self.build(value_node, (*loc, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ:
                return self.unsupported(node, loc)
            return [self.build(item, (*loc, i)) for i, item in enumerate(node.value)]
        if not isinstance(node, yaml.ScalarNode):
            return self.unsupported(node, loc)
        return self.scalar(node, loc)

    def pairs(self, node: yaml.MappingNode, loc: Loc) -> dict[Any, tuple[yaml.Node, yaml.Node]]:
        """The mapping's keys in file order, with `<<` merges applied as YAML defines them:
        a key written in the mapping wins over a merged one, an earlier merged mapping over
        a later one, and merged values keep the position where they are written."""
        out: dict[Any, tuple[yaml.Node, yaml.Node]] = {}
        written: set[Any] = set()
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                for source in self.merged(value_node, loc):
                    for key, pair in self.pairs(source, loc).items():
                        if key not in out:
                            out[key] = pair
                continue
            key = self.key(key_node, loc)
            if key is None:
                continue
            if key in written:
                self.issue(key_node.start_mark, (*loc, key), f"duplicate key {key!r}")
                continue
            written.add(key)
            out[key] = (key_node, value_node)
        return out

    def merged(self, node: yaml.Node, loc: Loc) -> list[yaml.MappingNode]:
        if isinstance(node, yaml.MappingNode):
            return [node]
        if isinstance(node, yaml.SequenceNode) and all(
            isinstance(item, yaml.MappingNode) for item in node.value
        ):
            return list(node.value)
        self.refuse(node, loc, "<< merges a mapping (<<: *name) or a list of them")
        return []

    def key(self, node: yaml.Node, loc: Loc) -> str | int | None:
        if not isinstance(node, yaml.ScalarNode):
            self.issue(node.start_mark, loc, "a key must be a name, not a list or a mapping")
            return None
        key = self.scalar(node, loc)
        if isinstance(key, bool) or not isinstance(key, str | int):
            key = str(key)
        return key

    def scalar(self, node: yaml.ScalarNode, loc: Loc) -> Any:
        text = node.value
        problem = bad_character(text)
        if problem is not None:
            return self.refuse(node, loc, problem)
        if node.tag not in _SCALARS and node.tag != _VALUE:
            return self.unsupported(node, loc)
        if node.tag == _STR and "${" in text:
            return self.interpolated(node, loc)
        return self.construct(node)

    def interpolated(self, node: yaml.ScalarNode, loc: Loc) -> Any:
        text, missing = interpolate(node.value, self.env)
        if missing and self.placeholders is not None:
            self.placeholders.update(missing)
            env = {**self.env, **{name: PLACEHOLDER.format(name) for name in missing}}
            text, missing = interpolate(node.value, env)
        for name in missing:
            self.issue(node.start_mark, loc, f"environment variable {name} is not set")
            self.reported.add(loc)
        problem = bad_character(text)
        if problem is None and len(text) > self.limits.string:
            problem = f"a text of {len(text):,} characters; at most {self.limits.string:,}"
        if problem is not None:
            return self.refuse(node, loc, f"after ${{VARIABLES}}: {problem}")
        if node.style is not None:
            return text
        # Unquoted: `status: ${STATUS:-403}` reads as the number it would have been.
        tag = self.tools.resolve(yaml.ScalarNode, text, (True, False))
        return self.construct(yaml.ScalarNode(tag, text, node.start_mark, node.end_mark))

    def construct(self, node: yaml.ScalarNode) -> Any:
        if node.tag in (_STR, _VALUE):
            return node.value
        try:
            return self.tools.construct_object(node)
        except (ValueError, OverflowError, yaml.constructor.ConstructorError):
            # An impossible date such as 2026-13-01: let the schema say what is wrong with it.
            return node.value
