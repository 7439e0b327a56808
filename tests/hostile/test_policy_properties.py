"""Mutated policy files: never a traceback, always `file:line:col` problems or success.

Real policies (the shipped ones and one using anchors, merges and variables) are mutated
byte-wise the way editors, bad merges and attackers do: tokens YAML treats specially,
escapes, control bytes, broken UTF-8, cut and duplicated ranges. Loading and the whole
`gatekeeper check` (start-up checks and building the middleware) must then either
accept the file or list problems, each at a file, line and column.
"""

from __future__ import annotations

import contextlib
import io
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gatekeeper.cli import main
from gatekeeper.policy import LoadedPolicy, PolicyError, parse_policy, read_policy
from tests.conftest import REPO, SECRET

ANCHORS = f"""\
site: {{name: Example News, revision: "${{REVISION:-r1}}"}}
secret_keys: ["{SECRET}"]
languages: {{default: en, available: [en, de]}}
consent:
  categories:
    necessary: {{required: true, label: {{en: Necessary, de: Notwendig}}}}
    analytics: &tracking
      label: Analytics
      cookies: [_ga, "_ga_*"]
      consent_mode: [analytics_storage]
    ads:
      <<: *tracking
      label: {{en: Ads, de: Werbung}}
      sale_or_sharing: true
geoblock:
  deny: [KP]
  rules:
    - &video {{paths: [/video/*], allow: [US, CA]}}
    - {{<<: *video, paths: [/live/*]}}
notifications:
  - &note {{id: sale, text: "Winter sale — 20 %", priority: 2, countries: [GB, IE]}}
  - {{<<: *note, id: other, starts: 2026-12-01, ends: 2026-12-31}}
"""

SEEDS = [
    ANCHORS.encode(),
    *((REPO / "policies" / name).read_bytes() for name in ("minimal.yaml", "eu-strict.yaml")),
]

TOKENS = [
    b"&a ", b"*a", b"*tracking", b"<<: ", b"<<: *a", b"<<: [*video, 1]", b"[", b"]", b"{",
    b"}", b": ", b"- ", b"? ", b"\n", b"\r\n", b"  ", b"\t", b"'", b'"', b",", b"#", b"|",
    b">-", b"---\n", b"...\n", b"%YAML 1.1\n", b"!!python/object/apply:os.system [id] ",
    b"!!binary ", b"!!set ", b"!custom ", b'"\\ud800"', b'"\\0"', b'"\\x1b[2J"', b'"\\uFEFF"',
    b"\x00", b"\x01", b"\x1b", b"\x7f", b"\xef\xbb\xbf", b"\xff", b"\xc3", b"\xed\xa0\x80",
    b"\xe2\x80\xa8", b"${", b"${X}", b"${REVISION:-", b"~", b"null", b"true", b"NO", b"1e999",
    b"0x1F", b"2026-13-45", b"99999999999999999999", "é日本🍪".encode(),
]  # fmt: skip

ISSUE = re.compile(r"^.+:\d+:\d+: ")


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["insert", "random", "delete", "copy", "byte"]))
        if kind == "insert":
            data[at:at] = draw(st.sampled_from(TOKENS))
        elif kind == "random":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        elif kind == "copy":
            start = draw(st.integers(0, len(data)))
            data[at:at] = data[start : start + draw(st.integers(1, 200))]
        elif data:
            data[min(at, len(data) - 1)] = draw(st.integers(0, 255))
    return bytes(data)


def assert_located(issues: list, source: str) -> None:
    assert issues
    for issue in issues:
        assert issue.file == source or issue.file.endswith(".html")
        assert issue.line >= 1 and issue.column >= 1
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", str(issue)), repr(str(issue))


@settings(max_examples=400, deadline=None, database=None)
@given(mutated())
def test_loading_a_mutated_policy_succeeds_or_says_where(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "policy.yaml"
        path.write_bytes(data)
        try:
            loaded = read_policy(path, env={}, placeholders=set())
        except PolicyError as exc:
            event(f"{len(exc.issues)} issue(s)" if len(exc.issues) < 3 else "3+ issues")
            assert_located(exc.issues, str(path))
        else:
            event("loaded")
            assert isinstance(loaded, LoadedPolicy)


@settings(max_examples=200, deadline=None, database=None)
@given(mutated())
def test_pyyaml_parser_on_a_mutated_policy_succeeds_or_says_where(data: bytes) -> None:
    # The fallback where PyYAML has no libyaml: the same composer and budgets.
    text = data.decode("utf-8", "replace")
    try:
        parse_policy(text, source="p.yaml", env={}, placeholders=set(), libyaml=False)
    except PolicyError as exc:
        assert_located(exc.issues, "p.yaml")


@settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(mutated())
def test_check_on_a_mutated_policy_prints_only_located_lines(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "policy.yaml"
        path.write_bytes(data)
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            status = main(["check", str(path)])
        lines = out.getvalue().splitlines()
        event(f"check exit {status}")
        assert status in (0, 1)
        assert lines
        if status == 0:
            assert lines[-1].startswith(f"{path}: ok")
        for line in lines:
            assert ISSUE.match(line) or line.startswith(f"{path}: "), line
