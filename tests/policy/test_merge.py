"""Merge keys (`<<: *name`): a setting written once, errors at the merged line."""

from __future__ import annotations

import pytest

from gatekeeper.policy import PolicyError, parse_policy

SECRET = "s" * 40
HEAD = f'site: {{name: Example News, revision: "r1"}}\nsecret_keys: ["{SECRET}"]\n'


def parse(text: str, **kwargs: object):
    return parse_policy(text, source="p.yaml", env={}, **kwargs)


def errors(text: str, **kwargs: object) -> list[str]:
    with pytest.raises(PolicyError) as info:
        parse(text, **kwargs)
    return [str(issue) for issue in info.value.issues]


CATEGORIES = (
    HEAD
    + """\
consent:
  categories:
    necessary: {required: true, label: Necessary}
    analytics: &tracking
      label: Analytics
      cookies: [_ga, _ga_*]
      sale_or_sharing: true
    ads:
      <<: *tracking
      label: Advertising
      cookies: [IDE]
"""
)


@pytest.mark.parametrize("libyaml", [True, False], ids=["libyaml", "pyyaml"])
def test_a_merged_mapping_supplies_the_keys_not_written(libyaml):
    categories = parse(CATEGORIES, libyaml=libyaml).consent.categories
    assert list(categories) == ["necessary", "analytics", "ads"]
    assert categories["ads"].label == {"*": "Advertising"}  # written wins over merged
    assert categories["ads"].cookies == ("IDE",)
    assert categories["ads"].sale_or_sharing is True  # merged
    assert categories["analytics"].label == {"*": "Analytics"}  # the source is unchanged


def test_a_list_of_merges_earlier_wins():
    text = HEAD + (
        "geoblock:\n"
        "  rules:\n"
        "    - &video {paths: [/video/*], allow: [US]}\n"
        "    - &live {paths: [/live/*], allow: [GB]}\n"
        "    - {<<: [*live, *video]}\n"
    )
    rule = parse(text).geoblock.rules[2]
    assert (rule.paths, rule.allow) == (("/live/*",), ("GB",))


def test_merges_nest():
    text = HEAD + (
        "notifications:\n"
        "  - &base {id: a, text: Hello, priority: 1}\n"
        "  - &more {<<: *base, id: b, dismissible: false}\n"
        "  - {<<: *more, id: c}\n"
    )
    third = parse(text).notifications[2]
    assert (third.id, third.text, third.priority, third.dismissible) == (
        "c",
        {"*": "Hello"},
        1,
        False,
    )


def test_an_error_in_merged_keys_points_where_the_value_is_written():
    text = HEAD + (
        "notifications:\n"
        "  - &base {id: a, text: Hello, priority: high}\n"  # line 4, column 42
        "  - {<<: *base, id: b}\n"
    )
    assert errors(text) == [
        "p.yaml:4:42: notifications[0].priority: input should be a valid integer, unable to "
        "parse string as an integer (got 'high')",
        "p.yaml:4:42: notifications[1].priority: input should be a valid integer, unable to "
        "parse string as an integer (got 'high')",
    ]


def test_an_unknown_key_arriving_by_merge_is_reported_at_its_line():
    text = HEAD + (
        "consent:\n"
        "  categories:\n"
        "    necessary: &n {required: true, label: N, cokies: [a]}\n"  # line 5, column 46
        "    other: {<<: *n, required: false}\n"
    )
    found = errors(text)
    assert found[0] == (
        "p.yaml:5:46: consent.categories.necessary.cokies: unknown key 'cokies'; "
        "did you mean 'cookies'?"
    )
    assert found[1].startswith("p.yaml:5:46: consent.categories.other.cokies: unknown key")


def test_duplicate_written_keys_are_still_errors_next_to_a_merge():
    text = (
        HEAD + "geoip: &g {on_missing: allow}\ngeoblock: {<<: *g, unknown: allow, unknown: block}\n"
    )
    found = errors(text)
    assert "p.yaml:4:" in found[-1] and "duplicate key 'unknown'" in found[-1]


@pytest.mark.parametrize(("value", "column"), [("words", 16), ("[*a, words]", 16), ("[[1]]", 16)])
def test_merging_something_other_than_mappings(value, column):
    text = HEAD + f"geoip: &a {{on_missing: allow}}\ngeoblock: {{<<: {value}}}\n"
    assert errors(text) == [
        f"p.yaml:4:{column}: geoblock: << merges a mapping (<<: *name) or a list of them"
    ]


def test_a_quoted_merge_key_is_an_ordinary_key():
    text = HEAD + "geoip: &a {on_missing: allow}\ngeoblock: {'<<': *a}\n"
    assert errors(text) == ["p.yaml:4:12: geoblock.'<<': unknown key '<<'"]
