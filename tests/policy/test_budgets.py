"""The loader's budgets at their edges, and what a real file looks like near them."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from gatekeeper.policy import BUDGETS, Budgets, PolicyError, load_policy, parse_policy
from tests.conftest import BASE_POLICY


def issues(text: str, env: dict[str, str] | None = None, **kwargs: object) -> list[str]:
    with pytest.raises(PolicyError) as info:
        parse_policy(text, source="p.yaml", env=env or {}, **kwargs)
    return [str(issue) for issue in info.value.issues]


def test_a_file_of_exactly_the_size_limit_loads_and_one_byte_more_does_not(tmp_path: Path):
    path = tmp_path / "policy.yaml"
    padding = BUDGETS.bytes - len(BASE_POLICY.encode())
    path.write_text(BASE_POLICY + "#" * (padding - 1) + "\n", encoding="utf-8")
    assert path.stat().st_size == BUDGETS.bytes
    assert load_policy(path).site.revision == "r1"
    path.write_text(BASE_POLICY + "#" * padding + "\n", encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert str(info.value) == (
        f"{path}:1:1: the file is 1,048,577 bytes; a policy may have at most 1,048,576"
    )


def test_a_text_of_exactly_the_length_limit_loads():
    text = BASE_POLICY + "consent: {banner: {title: '%s'}}\n"
    policy = parse_policy(text % ("a" * BUDGETS.string), env={})
    assert len(policy.consent.banner.title["*"]) == BUDGETS.string
    assert issues(text % ("a" * (BUDGETS.string + 1))) == [
        "p.yaml:3:27: a text of 16,385 characters; at most 16,384"
    ]


def test_nesting_of_exactly_the_depth_limit_is_only_a_schema_matter():
    # The document's mapping is level 1: 31 more lists make 32.
    deep = BASE_POLICY + "x: " + "[" * 31 + "]" * 31 + "\n"
    assert issues(deep) == ["p.yaml:3:1: x: unknown key 'x'"]
    deeper = BASE_POLICY + "x: " + "[" * 32 + "]" * 32 + "\n"
    assert issues(deeper) == ["p.yaml:3:35: nested deeper than 32 levels"]


def test_aliases_count_as_what_they_expand_to():
    limits = Budgets(nodes=200)
    plain = BASE_POLICY + "trusted_proxies: [" + ", ".join(["10.0.0.0/8"] * 150) + "]\n"
    assert len(parse_policy(plain, env={}, limits=limits).trusted_proxies) == 150
    # Under 50 values as written; more than 200 once the aliases are expanded.
    aliased = BASE_POLICY + (
        "trusted_proxies: [&n 10.0.0.0/8" + ", *n" * 14 + "]\n"
        "x: &ten [*n, *n, *n, *n, *n, *n, *n, *n, *n, *n]\n"
        "y: [" + ", ".join(["*ten"] * 15) + "]\n"
    )
    (issue,) = issues(aliased, limits=limits)
    assert issue.startswith("p.yaml:5:") and "more than 200 values with its aliases" in issue


def test_a_big_legitimate_policy_loads():
    networks = ", ".join(f"10.{i // 256}.{i % 256}.0/24" for i in range(9_000))
    policy = parse_policy(BASE_POLICY + f"trusted_proxies: [{networks}]\n", env={})
    assert len(policy.trusted_proxies) == 9_000


def test_a_value_from_the_environment_has_the_same_budget_and_characters():
    text = BASE_POLICY + "consent: {banner: {title: '${TITLE}'}}\n"
    assert issues(text, env={"TITLE": "a" * (BUDGETS.string + 1)}) == [
        "p.yaml:3:27: consent.banner.title: after ${VARIABLES}: a text of 16,385 characters; "
        "at most 16,384"
    ]
    assert issues(text, env={"TITLE": "bell\x07"}) == [
        "p.yaml:3:27: consent.banner.title: after ${VARIABLES}: control character U+0007 is "
        "not allowed in a text"
    ]


def test_a_leading_byte_order_mark_is_dropped_and_lines_stay_right(tmp_path: Path):
    path = tmp_path / "policy.yaml"
    path.write_bytes(codecs.BOM_UTF8 + (BASE_POLICY + "debug: maybe\n").encode())
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert str(info.value).startswith(f"{path}:3:8: debug: input should be a valid boolean")


def test_windows_line_endings(tmp_path: Path):
    path = tmp_path / "policy.yaml"
    path.write_bytes((BASE_POLICY + "debug: maybe\n").replace("\n", "\r\n").encode())
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert str(info.value).startswith(f"{path}:3:8: debug:")


@pytest.mark.parametrize("libyaml", [True, False], ids=["libyaml", "pyyaml"])
@pytest.mark.parametrize(
    ("escape", "says"),
    [
        ("\\0", "a NUL character"),
        ("\\e", "control character U+001B"),
        ("\\x9b", "control character U+009B"),
        ("\\ufeff", "a byte order mark"),
        ("\\r", "control character U+000D"),
    ],
)
def test_escapes_cannot_write_what_the_file_may_not_hold(libyaml, escape, says):
    text = BASE_POLICY + f'consent: {{cookie: {{domain: "a{escape}b"}}}}\n'
    (issue,) = issues(text, libyaml=libyaml)
    assert issue.startswith("p.yaml:3:28: consent.cookie.domain: " + says)


def test_texts_keep_tabs_newlines_and_any_language():
    text = BASE_POLICY + 'consent: {banner: {text: "Zeile eins\\n\\tZeile zwei — 日本語 🍪"}}\n'
    banner = parse_policy(text, env={}).consent.banner
    assert banner.text == {"*": "Zeile eins\n\tZeile zwei — 日本語 🍪"}


def test_many_problems_are_cut_to_the_first_fifty_and_a_count():
    text = BASE_POLICY + "".join(f"k{i}: 1\n" for i in range(120))
    found = issues(text)
    assert len(found) == 51
    assert found[0] == "p.yaml:3:1: k0: unknown key 'k0'"
    assert found[-1] == "p.yaml:53:1: and 70 more problems"


def test_keys_from_the_file_are_quoted_in_messages():
    found = issues(BASE_POLICY + '"evil\\nkey": 1\n')
    assert found == ["p.yaml:3:1: 'evil\\nkey': unknown key 'evil\\nkey'"]
    assert "\n" not in found[0]
