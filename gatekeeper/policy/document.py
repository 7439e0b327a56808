"""A policy file read as text and composed into YAML nodes, within budgets.

A policy is a few kilobytes written by a person, but the loader also runs on whatever
lands at the policy's path while the site is live. Every budget below is far above any
real policy (the full tour in policies/site.yaml is 18 KB with 541 values) and far below
what would hurt, and each refusal is one issue at the file, line and column it concerns:

- the file's size, read with a bounded read (a 60 MB file is refused, not parsed);
- nesting depth and the number of values *after expanding aliases*, counted while the
  file is composed, before anything is built from it: an alias bomb ("billion laughs",
  1.9 KB that expands to 10^9 values) stops at the alias that crosses the budget;
- the length of one text;
- aliases inside the node they name (recursive), which would never finish expanding.

Events come from libyaml when PyYAML has it (fast, and it refuses invalid escapes such
as a lone surrogate), else from PyYAML's own parser; the composing here is ours either
way, so the budgets and positions do not depend on which parser ran.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import yaml

from .issues import PolicyError, PolicyIssue


def _libyaml_parser() -> Any:
    try:
        from yaml._yaml import CParser
    except ImportError:  # PyYAML built without libyaml
        return None
    return CParser


CParser = _libyaml_parser()
# A position in the file: PyYAML's yaml.Mark, or libyaml's, which has the same fields
# but no common base class.
Mark = Any


@dataclass(frozen=True, slots=True)
class Budgets:
    """Budgets for one policy file (see the module docstring and docs/operators.md)."""

    bytes: int = 1024 * 1024
    depth: int = 32  # mappings and lists inside each other, after aliases
    nodes: int = 10_000  # keys, values and items, after aliases
    string: int = 16_384  # characters in one key or value (also after ${VARIABLES})


BUDGETS = Budgets()
LIBYAML = CParser is not None


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


def yaml_tools() -> _Loader:
    """A resolver and scalar constructor with the policy's rules (no stream attached)."""
    return _Loader("")


# --- reading the file -----------------------------------------------------------------

# What YAML accepts as text; everything else is refused before parsing, with its place.
_NOT_PRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")
_FOREIGN_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def _fail(source: str, line: int, column: int, message: str) -> NoReturn:
    raise PolicyError([PolicyIssue(source, line, column, "", message)])


def read_text(path: Path, limits: Budgets = BUDGETS) -> str:
    """The file's text; PolicyError when it cannot be a policy (size, encoding, bytes)."""
    source = str(path)
    try:
        # O_NONBLOCK: opening a FIFO put at the policy's path must not wait for a writer.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        _fail(source, 1, 1, f"cannot read: {exc.strerror}")
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            _fail(source, 1, 1, "cannot read: Is a directory")
        if not stat.S_ISREG(info.st_mode):
            _fail(source, 1, 1, "cannot read: not a regular file")
        if info.st_size > limits.bytes:
            _fail(source, 1, 1, _too_big(info.st_size, limits))
        chunks: list[bytes] = []
        size = 0
        while size <= limits.bytes:  # the file may grow while it is read
            chunk = os.read(fd, limits.bytes + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        _fail(source, 1, 1, f"cannot read: {exc.strerror}")
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limits.bytes:
        _fail(source, 1, 1, _too_big(len(data), limits))
    return decode(data, source)


def _too_big(size: int, limits: Budgets) -> str:
    return f"the file is {size:,} bytes; a policy may have at most {limits.bytes:,}"


def decode(data: bytes, source: str) -> str:
    """UTF-8 text (a leading byte order mark is dropped) with only characters YAML allows."""
    for bom, name in _FOREIGN_BOMS:
        if data.startswith(bom):
            _fail(source, 1, 1, f"the file is {name} text; save the policy as UTF-8")
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start].decode("utf-8", "replace")
        line, column = position(before, len(before))
        _fail(source, line, column, f"not UTF-8 text: {exc.reason} (byte 0x{data[exc.start]:02x})")
    check_characters(text, source)
    return text


def check_characters(text: str, source: str) -> None:
    """Refuse what YAML refuses (NUL, control characters) and a byte order mark that is
    not at the start, each at its own line and column."""
    bad = _NOT_PRINTABLE.search(text)
    bom = text.find("\ufeff", 1 if text.startswith("\ufeff") else 0)
    if bad is None and bom < 0:
        return
    index = bad.start() if bad and (bom < 0 or bad.start() < bom) else bom
    line, column = position(text, index)
    char = text[index]
    if char == "\x00":
        message = "a NUL byte: a policy is text"
    elif char == "\ufeff":
        message = "a byte order mark (U+FEFF) inside the file; were two files joined?"
    elif "\ud800" <= char <= "\udfff":
        message = f"a lone surrogate (U+{ord(char):04X}) is not text"
    else:
        message = f"control character U+{ord(char):04X} is not allowed in a policy"
    _fail(source, line, column, message)


def position(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of `text[index]`, counting line breaks as YAML does."""
    line, start = 1, 0
    for match in _LINE_BREAK.finditer(text, 0, index):
        line += 1
        start = match.end()
    return line, index - start + 1


# --- composing --------------------------------------------------------------------------


@dataclass(slots=True)
class _Open:
    """A mapping or list whose end has not been read yet."""

    node: yaml.CollectionNode
    first: int  # the value count before it started
    depth: int = 0  # of its deepest child
    key: yaml.Node | None = None  # a mapping's key waiting for its value


class _Composer:
    def __init__(self, parser: Any, source: str, limits: Budgets) -> None:
        self.parser = parser
        self.source = source
        self.limits = limits
        self.tools = yaml_tools()
        self.anchors: dict[str, yaml.Node] = {}
        # (values, depth) of every finished node, after expanding the aliases inside it.
        self.size: dict[int, tuple[int, int]] = {}
        self.count = 0
        self.aliases = 0

    def fail(self, mark: Mark | None, message: str) -> NoReturn:
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        _fail(self.source, line, column, message)

    def document(self) -> yaml.Node | None:
        parser = self.parser
        parser.get_event()  # stream start
        if parser.check_event(yaml.StreamEndEvent):
            return None
        parser.get_event()  # document start
        root = self.node()
        parser.get_event()  # document end
        if not parser.check_event(yaml.StreamEndEvent):
            self.fail(parser.peek_event().start_mark, "a policy is one YAML document, not several")
        return root

    def node(self) -> yaml.Node:
        """One whole node, read without recursion (depth is a budget, not the stack's)."""
        stack: list[_Open] = []
        while True:
            event = self.parser.get_event()
            if isinstance(event, yaml.AliasEvent):
                node = self.alias(event, len(stack))
            elif isinstance(event, yaml.ScalarEvent):
                node = self.scalar(event)
            elif isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
                stack.append(self.start(event, len(stack) + 1))
                continue
            else:  # the end of the innermost open collection
                done = stack.pop()
                done.node.end_mark = event.end_mark
                self.size[id(done.node)] = (self.count - done.first, done.depth + 1)
                node = done.node
            if not stack:
                return node
            self.attach(stack[-1], node)

    def attach(self, parent: _Open, node: yaml.Node) -> None:
        parent.depth = max(parent.depth, self.size[id(node)][1])
        if isinstance(parent.node, yaml.SequenceNode):
            parent.node.value.append(node)
        elif parent.key is None:
            parent.key = node
        else:
            parent.node.value.append((parent.key, node))
            parent.key = None

    def counted(self, added: int, mark: Mark) -> None:
        self.count += added
        if self.count > self.limits.nodes:
            message = f"more than {self.limits.nodes:,} values"
            if self.aliases:
                message += " with its aliases expanded: is it an alias bomb?"
            self.fail(mark, message)

    def anchor(self, event: Any, node: yaml.Node) -> None:
        if event.anchor is None:
            return
        if event.anchor in self.anchors:
            first = self.anchors[event.anchor].start_mark.line + 1
            self.fail(event.start_mark, f"anchor &{event.anchor} is already on line {first}")
        self.anchors[event.anchor] = node

    def scalar(self, event: yaml.ScalarEvent) -> yaml.ScalarNode:
        if len(event.value) > self.limits.string:
            self.fail(
                event.start_mark,
                f"a text of {len(event.value):,} characters; at most {self.limits.string:,}",
            )
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.tools.resolve(yaml.ScalarNode, event.value, event.implicit)
        # libyaml marks a plain scalar's style as "", PyYAML's parser as None.
        style = event.style or None
        start: Mark = event.start_mark
        end: Mark = event.end_mark
        node = yaml.ScalarNode(tag, event.value, start, end, style)
        self.counted(1, event.start_mark)
        self.anchor(event, node)
        self.size[id(node)] = (1, 0)
        return node

    def start(self, event: Any, level: int) -> _Open:
        if level > self.limits.depth:
            self.fail(event.start_mark, f"nested deeper than {self.limits.depth} levels")
        kind = yaml.SequenceNode if isinstance(event, yaml.SequenceStartEvent) else yaml.MappingNode
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.tools.resolve(kind, None, event.implicit)
        node = kind(tag, [], event.start_mark, None, flow_style=event.flow_style)
        first = self.count
        self.counted(1, event.start_mark)
        self.anchor(event, node)  # before its children: an alias inside it is recursive
        return _Open(node, first)

    def alias(self, event: yaml.AliasEvent, level: int) -> yaml.Node:
        name = event.anchor
        target = self.anchors.get(name) if name is not None else None
        if target is None:
            self.fail(event.start_mark, f"alias *{name} names no anchor &{name} before it")
        if id(target) not in self.size:
            self.fail(event.start_mark, f"alias *{name} is inside the node it names (recursive)")
        self.aliases += 1
        values, depth = self.size[id(target)]
        if level + depth > self.limits.depth:
            self.fail(
                event.start_mark,
                f"alias *{name} nests values deeper than {self.limits.depth} levels",
            )
        self.counted(values, event.start_mark)
        return target


def compose(
    text: str, source: str, limits: Budgets = BUDGETS, *, libyaml: bool = LIBYAML
) -> yaml.Node | None:
    """The document's root node (None for an empty file); PolicyError past a budget or
    on a YAML error, at its line and column."""
    check_characters(text, source)
    parser = CParser(text) if libyaml and CParser is not None else yaml.SafeLoader(text)
    try:
        return _Composer(parser, source, limits).document()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        _fail(source, line, column, f"not valid YAML: {exc.problem or exc.context}")
    except yaml.YAMLError as exc:  # a reader error the character check did not foresee
        _fail(source, 1, 1, f"not valid YAML: {' '.join(str(exc).split())}")
    finally:
        parser.dispose()
