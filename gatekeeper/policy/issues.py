"""What is wrong with a policy, each problem at its file, line and column."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Issues after this many are summed up in one line: a mangled file can have thousands,
# and the first ones are what an operator fixes first.
MAX_SHOWN = 50

_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_*][A-Za-z0-9_\-*./]*$")


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


def sorted_issues(issues: list[PolicyIssue]) -> list[PolicyIssue]:
    """In file order, without repeats, at most MAX_SHOWN and a line saying how many more."""
    unique = sorted(dict.fromkeys(issues), key=lambda i: (i.file, i.line, i.column))
    if len(unique) <= MAX_SHOWN + 1:
        return unique
    rest = unique[MAX_SHOWN]
    more = PolicyIssue(
        rest.file, rest.line, rest.column, "", f"and {len(unique) - MAX_SHOWN} more problems"
    )
    return [*unique[:MAX_SHOWN], more]


def shown(value: object, limit: int = 60) -> str:
    """`repr(value)` cut to `limit` characters: messages quote what the file says, and a
    hostile file may say a lot. repr() also escapes control characters, so nothing read
    from the file reaches a terminal or a log line raw."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def dotted(loc: tuple[str | int, ...]) -> str:
    """A key path as operators write it: consent.categories.ads.cookies[0]."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        name = part if _PLAIN_KEY.match(part) else shown(part, 40)
        out += f".{name}" if out else name
    return out
