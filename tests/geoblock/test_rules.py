"""CountryRules.decide on visitors built by hand: the order in which the policy decides."""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path

import pytest

from gatekeeper.geo import GeoReader
from gatekeeper.geoblock import CountryRules, Decision, compile_globs, policy_findings
from gatekeeper.policy import load_policy, path_matches
from gatekeeper.visitor import Visitor
from tests.conftest import SECRET

from .conftest import CITY, COUNTRY


def visitor(place: str | None = None, ip: str | None = "203.0.113.9") -> Visitor:
    country, _, region = (place or "").partition("-")
    return Visitor(
        ip=ip_address(ip) if ip else None,
        country=country or None,
        subdivision=place if region else None,
        language="en",
        gpc=False,
        dnt=False,
        bot=False,
        located=True,
    )


@pytest.fixture
def rules(policy_file):
    def make(sections: str, **options) -> CountryRules:
        return CountryRules(load_policy(policy_file(sections)), **options)

    return make


class Anonymous:
    def __init__(self, *addresses: str) -> None:
        self.addresses = {ip_address(a) for a in addresses}
        self.asked = 0

    def is_anonymous(self, ip) -> bool:
        self.asked += 1
        return ip in self.addresses


def test_no_rules_lets_everyone_in(rules):
    decide = rules("").decide
    assert decide(visitor("GB"), "/") == Decision(False, "allowed")
    assert decide(visitor(None), "/") == Decision(False, "geoblock.unknown")


def test_global_deny_blocks_countries_and_subdivisions(rules):
    decide = rules("geoblock: {deny: [GB, US-CA]}").decide
    assert decide(visitor("GB"), "/") == Decision(True, "geoblock.deny")
    assert decide(visitor("US-CA"), "/any/path") == Decision(True, "geoblock.deny")
    assert decide(visitor("US-WA"), "/") == Decision(False, "allowed")
    assert decide(visitor("US"), "/") == Decision(False, "allowed")  # subdivision not known


def test_global_allow_lets_only_listed_places_in(rules):
    decide = rules("geoblock: {allow: [SE, US-WA]}").decide
    assert decide(visitor("SE"), "/") == Decision(False, "geoblock.allow")
    assert decide(visitor("US-WA"), "/") == Decision(False, "geoblock.allow")
    assert decide(visitor("US-CA"), "/") == Decision(True, "geoblock.allow")
    assert decide(visitor("GB"), "/") == Decision(True, "geoblock.allow")


def test_groups_are_expanded(rules):
    decide = rules("geoblock: {deny: [EU]}").decide
    assert decide(visitor("SE"), "/").blocked
    assert not decide(visitor("GB"), "/").blocked
    allow_eea = rules("geoblock: {allow: [EEA]}").decide
    assert not allow_eea(visitor("NO"), "/").blocked
    assert allow_eea(visitor("CH"), "/").blocked


def test_first_matching_path_rule_decides(rules):
    decide = rules(
        """
geoblock:
  rules:
    - {paths: ["/video/*"], allow: [US, SE]}
    - {paths: ["/video/*", "/news/*"], deny: [SE]}
"""
    ).decide
    assert decide(visitor("SE"), "/video/clip") == Decision(False, "geoblock.rules[0]")
    assert decide(visitor("GB"), "/video/clip") == Decision(True, "geoblock.rules[0]")
    assert decide(visitor("GB"), "/video") == Decision(True, "geoblock.rules[0]")
    assert decide(visitor("SE"), "/news/today") == Decision(True, "geoblock.rules[1]")
    assert decide(visitor("GB"), "/news/today") == Decision(False, "geoblock.rules[1]")
    assert decide(visitor("SE"), "/about") == Decision(False, "allowed")


def test_site_wide_lists_hold_whatever_a_path_rule_says(rules):
    decide = rules(
        """
geoblock:
  deny: [KP]
  rules: [{paths: ["/open/*"], deny: []}]
"""
    ).decide
    assert decide(visitor("KP"), "/open/x") == Decision(True, "geoblock.deny")
    assert decide(visitor("GB"), "/open/x") == Decision(False, "geoblock.rules[0]")


def test_exempt_paths_networks_and_static_assets(rules):
    decide = rules(
        """
prefix: /_gk
geoblock:
  deny: [GB]
  exempt: {paths: [/health, "/legal/*"], networks: [192.0.2.0/24, "2001:db8::/32"]}
"""
    ).decide
    assert decide(visitor("GB"), "/health") == Decision(False, "exempt path")
    assert decide(visitor("GB"), "/legal/privacy") == Decision(False, "exempt path")
    assert decide(visitor("GB"), "/_gk/static/gatekeeper.0123.css") == Decision(
        False, "exempt path"
    )
    assert decide(visitor("GB"), "/_gk/consent") == Decision(True, "geoblock.deny")
    assert decide(visitor("GB"), "/healthz") == Decision(True, "geoblock.deny")
    assert decide(visitor("GB", "192.0.2.77"), "/") == Decision(False, "exempt network")
    assert decide(visitor("GB", "2001:db8:1::5"), "/") == Decision(False, "exempt network")
    assert decide(visitor("GB", "192.0.3.1"), "/") == Decision(True, "geoblock.deny")
    assert decide(visitor("GB", None), "/") == Decision(True, "geoblock.deny")


@pytest.mark.parametrize(
    ("unknown", "geo_available", "on_missing", "blocked"),
    [
        ("allow", True, "error", False),
        ("block", True, "error", True),
        # The configured database could not be opened: geoip.on_missing decides.
        ("allow", False, "block", True),
        ("block", False, "allow", False),
        ("allow", False, "allow", False),
    ],
)
def test_unknown_locations(rules, unknown, geo_available, on_missing, blocked):
    decide = rules(
        f"""
geoip: {{database: /nowhere/GeoLite2-Country.mmdb, on_missing: {on_missing}}}
geoblock: {{deny: [GB], unknown: {unknown}}}
""",
        geo_available=geo_available,
    ).decide
    assert decide(visitor(None), "/") == Decision(blocked, "geoblock.unknown")
    assert decide(visitor(None, ip=None), "/") == Decision(blocked, "geoblock.unknown")
    # A location from elsewhere (a trusted CDN's country header) still follows the rules.
    assert decide(visitor("GB"), "/") == Decision(True, "geoblock.deny")
    assert decide(visitor("SE"), "/") == Decision(False, "allowed")


def test_unknown_block_without_any_database(rules):
    decide = rules("geoblock: {unknown: block}", geo_available=False).decide
    assert decide(visitor(None), "/") == Decision(True, "geoblock.unknown")


def test_anonymous_addresses(rules):
    anonymous = Anonymous("198.51.100.7")
    decide = rules(
        "geoblock: {anonymous: block, exempt: {paths: [/health]}}", anonymous=anonymous
    ).decide
    assert decide(visitor("SE", "198.51.100.7"), "/") == Decision(True, "geoblock.anonymous")
    assert decide(visitor(None, "198.51.100.7"), "/") == Decision(True, "geoblock.anonymous")
    assert decide(visitor("SE", "198.51.100.8"), "/") == Decision(False, "allowed")
    assert decide(visitor("SE", "198.51.100.7"), "/health") == Decision(False, "exempt path")


def test_anonymous_database_not_consulted_unless_blocking(rules):
    anonymous = Anonymous("198.51.100.7")
    decide = rules("geoblock: {anonymous: allow}", anonymous=anonymous).decide
    assert decide(visitor("SE", "198.51.100.7"), "/") == Decision(False, "allowed")
    assert anonymous.asked == 0


@pytest.mark.parametrize(
    "path",
    ["/", "/video", "/video/", "/video/a/b", "/videos", "/a.json", "/A.JSON", "/x/health", "/[x]"],
)
def test_compiled_globs_match_like_path_matches(path):
    patterns = ("/video/*", "*.json", "/health", "/[a-c]*", "/x/?ealth")
    assert compile_globs(patterns)(path) == path_matches(path, patterns)
    assert compile_globs(())(path) is False


# --- findings for `gatekeeper check` -------------------------------------------------------


def test_subdivisions_with_a_country_database(policy_file, geoip_dir: Path):
    def policy(database: str):
        return load_policy(
            policy_file(
                f"""
geoip: {{database: {geoip_dir / database}}}
geoblock:
  deny: [US-CA, KP]
  rules: [{{paths: ["/video/*"], allow: [US-WA]}}]
"""
            )
        )

    with GeoReader(geoip_dir / COUNTRY) as geo:
        assert policy_findings(policy(COUNTRY), geo) == [
            "geoblock.deny names US-CA, a subdivision, but geoip.database is a Country "
            "database (GeoIP2-Country): subdivisions are never known",
            "geoblock.rules[0].allow names US-WA, a subdivision, but geoip.database is a "
            "Country database (GeoIP2-Country): subdivisions are never known",
        ]
    with GeoReader(geoip_dir / CITY) as geo:
        assert policy_findings(policy(CITY), geo) == []


def test_findings_without_databases(policy_file):
    policy = load_policy(policy_file("geoblock: {deny: [GB], unknown: block, anonymous: block}"))
    findings = policy_findings(policy, None)
    assert any("geoip.database is not set" in f and "geoblock.unknown" in f for f in findings)
    assert "every visitor is blocked" in " ".join(findings)
    assert "geoip.anonymous_database is not set" in " ".join(findings)


def test_contact_page_must_be_reachable_from_the_block_page(tmp_path):
    def findings(geoblock: str) -> list[str]:
        path = tmp_path / "policy.yaml"
        path.write_text(
            'site: {name: N, revision: "1", contact_url: /contact}\n'
            f'secret_keys: ["{SECRET}"]\n'
            f"geoblock: {geoblock}\n"
        )
        return policy_findings(load_policy(path), None)

    assert findings("{unknown: block}") == [
        "geoblock.unknown is block but geoip.database is not set: every visitor is blocked",
        "site.contact_url /contact is linked from the block page but not in "
        "geoblock.exempt.paths: blocked visitors cannot reach it",
    ]
    assert findings("{unknown: block, exempt: {paths: [/contact]}}") == [
        "geoblock.unknown is block but geoip.database is not set: every visitor is blocked"
    ]
    assert findings("{}") == []
