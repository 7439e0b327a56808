"""Hostile policy files: what an attacker, a broken editor or a bad deploy could put at
the policy's path. Each is a good policy's first lines plus the hostile part, so that
the hostile part is what gets reported, with the line and column it starts on."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import BASE_POLICY

HEAD = BASE_POLICY.encode()  # two lines: site and secret_keys
LINE = HEAD.count(b"\n") + 1  # the first line of the hostile part


def billion_laughs() -> bytes:
    # 1.9 KB; expanded, 10^9 texts.
    lines = ['lol0: &lol0 "lol"']
    for level in range(1, 10):
        refs = ", ".join(f"*lol{level - 1}" for _ in range(10))
        lines.append(f"lol{level}: &lol{level} [{refs}]")
    return HEAD + ("notifications:\n  - " + "\n  - ".join(lines) + "\n").encode()


def merge_bomb() -> bytes:
    # The same growth through merge keys: each level merges the one below ten times.
    lines = ["m0: &m0 {a: 1}"]
    for level in range(1, 9):
        refs = ", ".join(f"{{<<: *m{level - 1}, k{i}: 1}}" for i in range(10))
        lines.append(f"m{level}: &m{level} [{refs}]")
    return HEAD + ("notifications:\n  - " + "\n  - ".join(lines) + "\n").encode()


def alias_depth() -> bytes:
    # Each anchor nests the previous one a level deeper; 40 short lines, 40 levels.
    lines = ["d0: &d0 x"] + [f"d{i}: &d{i} [*d{i - 1}]" for i in range(1, 41)]
    return HEAD + ("notifications:\n  - " + "\n  - ".join(lines) + "\n").encode()


@dataclass(frozen=True)
class Hostile:
    name: str
    make: Callable[[], bytes]
    line: int  # where the one issue is reported
    says: str  # a regular expression its message matches

    def write(self, path: Path) -> None:
        """Put it at `path` the way a deploy would: a new file moved over the old one."""
        staging = path.with_name(path.name + ".new")
        if self.name == "fifo":
            os.mkfifo(staging)
        elif self.name == "device":
            staging.symlink_to("/dev/zero")
        else:
            staging.write_bytes(self.make())
        os.replace(staging, path)


def _text(body: str) -> Callable[[], bytes]:
    return lambda: HEAD + body.encode()


def _raw(body: bytes) -> Callable[[], bytes]:
    return lambda: HEAD + body


HOSTILE = [
    Hostile("billion-laughs", billion_laughs, LINE + 5, "aliases expanded: is it an alias bomb"),
    Hostile("merge-bomb", merge_bomb, LINE + 5, "aliases expanded: is it an alias bomb"),
    Hostile("recursive-alias-list", _text("geoblock: &g [*g]\n"), LINE, "recursive"),
    Hostile("recursive-alias-map", _text("geoblock: &g {rules: *g}\n"), LINE, "recursive"),
    Hostile(
        "deep-flow",
        _text("notifications: " + "[" * 100_000 + "]" * 100_000 + "\n"),
        LINE,
        # libyaml's own nesting limit (1,000) can come first: it scans ahead of us.
        "nested deeper than 32|exceeded maximum nesting depth",
    ),
    Hostile(
        "deep-block",
        _text("".join("  " * i + f"k{i}:\n" for i in range(200))),
        LINE + 32,  # the 33rd mapping
        "nested deeper than 32",
    ),
    Hostile("alias-depth", alias_depth, LINE + 31, r"alias \*d29 nests values deeper than 32"),
    Hostile(
        "many-values",
        _text("trusted_proxies: [" + "1," * 12_000 + "]\n"),
        LINE,
        "more than 10,000 values$",
    ),
    Hostile(
        "huge-file",
        _text("notifications: []\n" + "# padding\n" * 6_000_000),
        1,
        "a policy may have at most 1,048,576",
    ),
    Hostile("long-text", _text("site_note: '" + "a" * 100_000 + "'\n"), LINE, "at most 16,384"),
    Hostile("nul-byte", _raw(b"geoblock: {deny: [K\x00P]}\n"), LINE, "NUL"),
    Hostile(
        "control-character",
        _raw(b"geoblock: {deny: [\x1b[31mKP]}\n"),
        LINE,
        r"control character U\+001B",
    ),
    Hostile(
        "delete-character",
        _raw(b"geoblock: {deny: [KP\x7f]}\n"),
        LINE,
        r"control character U\+007F",
    ),
    Hostile("bom-inside", _raw(b"\xef\xbb\xbfgeoblock: {deny: [KP]}\n"), LINE, "byte order mark"),
    Hostile(
        "utf-16",
        lambda: "\ufeff".encode("utf-16-le") + BASE_POLICY.encode("utf-16-le"),
        1,
        "UTF-16",
    ),
    Hostile("not-utf-8", _raw(b"site_note: caf\xe9\n"), LINE, "not UTF-8"),
    Hostile(
        "lone-surrogate",
        _text('consent: {banner: {title: "\\ud800"}}\n'),
        LINE,
        # libyaml refuses the escape itself; with PyYAML's parser, we refuse the text.
        "invalid Unicode character escape|lone surrogate",
    ),
    Hostile("nul-escape", _text('consent: {banner: {title: "a\\0b"}}\n'), LINE, "NUL"),
    Hostile(
        "bell-escape",
        _text('consent: {cookie: {domain: "a\\x07b"}}\n'),
        LINE,
        r"control character U\+0007",
    ),
    Hostile(
        "python-tag",
        _text("geoblock: !!python/object/apply:os.system [id]\n"),
        LINE,
        "not supported",
    ),
    Hostile("binary-tag", _text("debug: !!binary aGVsbG8=\n"), LINE, "not supported"),
    Hostile("undefined-alias", _text("geoblock: *nowhere\n"), LINE, "names no anchor"),
    Hostile("duplicate-anchor", _text("a: &x 1\nb: &x 2\n"), LINE + 1, "already on line"),
    Hostile("merge-a-text", _text("geoblock: {<<: words}\n"), LINE, "<< merges a mapping"),
    Hostile("two-documents", _text("---\nsite: {name: X}\n"), LINE, "one YAML document"),
    Hostile("list-as-key", _text("? [a, b]\n: 1\n"), LINE, "a key must be a name"),
    Hostile("fifo", lambda: b"", 1, "not a regular file"),
    Hostile("device", lambda: b"", 1, "not a regular file"),
]
