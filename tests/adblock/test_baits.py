"""The bait defaults against the real filter lists (Brave's engine, no browser), and the
bait settings' validation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gatekeeper.adblock.baits import COSMETIC, IMAGE, SCRIPT, check_classes, check_path
from gatekeeper.policy.sections.adblock import BaitSettings
from tests.browser.adblock_engine import LISTS, BlockingEngine

PAGE = "http://www.example-news.com/articles/lock"
BASE = "http://www.example-news.com/_gatekeeper"
TOKEN = "?t=k3Jx0aQeLrT-8yWd.awoxbw.LT9I17uFnnUhs4y5VpXQlIZJvqk&r=1795830208090"


@pytest.fixture(scope="module")
def engine(filterlists_dir: Path) -> BlockingEngine:
    return BlockingEngine.from_lists(filterlists_dir)


@pytest.fixture(scope="module")
def rules(filterlists_dir: Path) -> list[str]:
    """The lists' generic network rules (not host-anchored, not for named sites)."""
    found = []
    for name in LISTS:
        for line in (filterlists_dir / name).read_text(encoding="utf-8").splitlines():
            if not line or line.startswith(("!", "[", "@@", "||", "|http")) or "#" in line:
                continue
            if re.search(r"domain=[^~]", line) or "third-party" in line:
                continue
            found.append(line)
    return found


def matching_rules(rules: list[str], url: str, request_type: str) -> list[str]:
    """Every rule that blocks this request on its own, not just the engine's first."""
    import adblock

    matched = []
    for rule in rules:
        literal = [p for p in re.split(r"[*^|]", rule.split("$")[0]) if p]
        if not all(part.lower() in url.lower() for part in literal):
            continue
        filters = adblock.FilterSet()
        filters.add_filter_list(rule)
        if (
            adblock.Engine(filters, optimize=False)
            .check_network_urls(url, PAGE, request_type)
            .matched
        ):
            matched.append(rule)
    return matched


def test_the_script_bait_is_blocked_by_two_rules(engine, rules) -> None:
    url = BASE + SCRIPT + TOKEN
    assert engine.rule_for(url, PAGE, "script") is not None
    assert sorted(matching_rules(rules, url, "script")) == ["/gpt.js$script", "/prebid/*$script"]


def test_the_image_bait_is_blocked_by_two_rules(engine, rules) -> None:
    url = BASE + IMAGE + TOKEN
    assert engine.rule_for(url, PAGE, "image") is not None
    assert sorted(matching_rules(rules, url, "image")) == ["-728x90.", "/adbanners/*$image"]


def test_each_cosmetic_class_is_hidden_on_its_own(engine) -> None:
    for name in COSMETIC.split():
        assert engine.hide_selectors(PAGE, [name], [], specific=False) == [f".{name}"]


def test_local_addresses_are_exempt_from_generic_hiding(engine) -> None:
    # Why the browser tests use a public host name.
    assert engine.hide_selectors("http://127.0.0.1:8000/", COSMETIC.split(), []) == []


def test_the_old_guesses_did_not_work(engine) -> None:
    assert engine.rule_for(BASE + "/pagead/show_ads_impl.js", PAGE, "script") is None
    for name in ("adsbox", "adsbygoogle"):
        assert engine.hide_selectors(PAGE, [name], [], specific=False) == []


@pytest.mark.parametrize(
    ("path", "request_type"),
    [
        ("/beacon", "xmlhttprequest"),
        ("/beacon", "ping"),
        ("/adblock/dismiss", "xmlhttprequest"),
        ("/static/gatekeeper.0123456789ab.js", "script"),
        ("/static/gatekeeper.0123456789ab.css", "stylesheet"),
    ],
)
def test_gatekeepers_own_requests_pass(engine, path: str, request_type: str) -> None:
    assert engine.rule_for(BASE + path, PAGE, request_type) is None


def test_gatekeepers_own_markup_is_not_hidden(engine) -> None:
    classes = ["gk-adblock", "gk-wall", "gk-actions", "gk-btn", "gk-bait", "gk-walled"]
    ids = ["gk-adblock-title", "gk-adblock-text"]
    assert engine.hide_selectors(PAGE, classes, ids, specific=False) == []
    specific = engine.hide_selectors(PAGE, [], [])
    assert not [s for s in specific if "gk-" in s or "data-gk" in s or "dialog" in s]


def test_the_schema_defaults_are_the_tested_baits() -> None:
    defaults = BaitSettings()
    found = (defaults.script, defaults.image, defaults.cosmetic_class)
    assert found == (SCRIPT, IMAGE, COSMETIC)


@pytest.mark.parametrize(
    "path",
    [
        "prebid.js",
        "/a//b",
        "/a/../b",
        "/a b",
        "/a?x=1",
        "/",
        "/static/x.js",
        "/beacon",
        "/audit/x.js",
        "/preferences.gif",
        "/consent/x.js",
    ],
)
def test_bad_bait_paths(path: str) -> None:
    with pytest.raises(ValueError):
        check_path(path, "script")


def test_class_lists() -> None:
    assert check_classes("  ad-slot   ad-unit ") == "ad-slot ad-unit"
    for bad in ("", "1ad", 'a" onclick="x', "ad.slot", "a<b"):
        with pytest.raises(ValueError):
            check_classes(bad)
