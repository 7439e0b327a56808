"""Reading policy YAML: good files, defaults, and every class of error at its exact place.

Errors are asserted as the full `FILE:LINE:COL: key.path: message` line an operator sees,
so a change to a line, a column, a key path or a wording is caught here.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from gatekeeper.policy import (
    Policy,
    PolicyError,
    PolicyIssue,
    interpolate,
    load_policy,
    parse_policy,
    path_matches,
)
from gatekeeper.policy.codes import COUNTRIES, EU, GROUPS, check_place, expand

SECRET = "s" * 40
ENV = {"GATEKEEPER_SECRET": SECRET}
# Lines 1 and 2 of most test policies; the lines under test start at 3.
HEAD = 'site: {name: Example News, revision: "r1"}\nsecret_keys: ["${GATEKEEPER_SECRET}"]\n'


def parse(text: str, env: dict[str, str] | None = None, **kwargs: object) -> Policy:
    return parse_policy(text, source="p.yaml", env=ENV if env is None else env, **kwargs)


def errors(text: str, env: dict[str, str] | None = None) -> list[str]:
    """The issues the text raises, each as the line an operator reads."""
    with pytest.raises(PolicyError) as info:
        parse(text, env)
    assert str(info.value) == "\n".join(str(i) for i in info.value.issues)
    return [str(issue) for issue in info.value.issues]


# --- good files -------------------------------------------------------------------------

GOOD = """\
site:
  name: Example News
  revision: "2026-11-27"
  contact_url: /contact
secret_keys: ["${GATEKEEPER_SECRET}", "${GATEKEEPER_SECRET_PREVIOUS}"]
trusted_proxies: [127.0.0.1, 10.1.2.3/8, "2001:db8::/32"]
languages: {default: en, available: [en, de]}
consent:
  max_age_days: 90
  modes:
    opt_in: [eu, gb, ch]
    opt_out: [us-ca]
    default: notice
  categories:
    necessary: {required: true, label: Strictly necessary}
    analytics:
      label: {en: Analytics, de: Statistik}
      cookies: [_ga, _ga_*]
      consent_mode: [analytics_storage]
adblock: {mode: notice, exempt_paths: [/privacy]}
geoblock:
  deny: [KP]
  rules: [{paths: ["/video/*"], allow: [US, CA]}]
  status: 403
  exempt: {networks: [192.0.2.7/24]}
notifications:
  - id: winter-sale
    text: {en: Winter sale}
    links: [{label: {en: Buy Now!}, href: /shop}]
    starts: 2026-12-01
    ends: 2026-12-31
offline_notice: {enabled: true}
audit: {store: "postgresql://gk@db/gk", ip: hash}
"""


def test_a_good_policy_loads_with_every_value_in_its_final_form():
    env = {**ENV, "GATEKEEPER_SECRET_PREVIOUS": "p" * 32}
    policy = parse(GOOD, env)
    assert policy.site.name == "Example News"
    assert policy.site.revision == "2026-11-27"
    assert policy.site.contact_url == "/contact"
    assert policy.secret_keys == (SECRET, "p" * 32)
    # Networks are normalised; a bare address is a /32.
    assert policy.trusted_proxies == ("127.0.0.1/32", "10.0.0.0/8", "2001:db8::/32")
    assert policy.languages.available == ("en", "de")
    # Place codes are upper-cased; groups stay groups until expanded.
    assert policy.consent.modes.opt_in == ("EU", "GB", "CH")
    assert policy.consent.modes.opt_out == ("US-CA",)
    assert policy.consent.modes.default == "notice"
    assert policy.consent.max_age_days == 90
    # Categories keep their order; a plain string is the same text in every language.
    assert list(policy.consent.categories) == ["necessary", "analytics"]
    assert policy.consent.categories["necessary"].label == {"*": "Strictly necessary"}
    assert policy.consent.categories["analytics"].label == {"en": "Analytics", "de": "Statistik"}
    assert policy.consent.categories["analytics"].cookies == ("_ga", "_ga_*")
    assert policy.adblock.mode == "notice"
    assert policy.geoblock.rules[0].allow == ("US", "CA")
    assert policy.geoblock.rules[0].deny is None
    assert policy.geoblock.status == 403
    assert policy.geoblock.exempt.networks == ("192.0.2.0/24",)
    (notification,) = policy.notifications
    assert notification.starts == date(2026, 12, 1)
    assert notification.ends == date(2026, 12, 31)
    assert notification.links[0].label == {"en": "Buy Now!"}
    assert policy.offline_notice.enabled is True
    # Only sqlite paths are files; other stores are left alone.
    assert policy.audit.store == "postgresql://gk@db/gk"
    assert policy.audit.ip == "hash"


def test_defaults_fill_everything_left_out(tmp_path):
    policy = parse(HEAD, base_dir=tmp_path)
    assert policy.prefix == "/_gatekeeper"
    assert policy.debug is False
    assert policy.reload_interval == 2.0
    assert policy.trusted_proxies == ()
    assert policy.proxy_headers == ("x-forwarded-for",)
    assert policy.geoip.database is None
    assert policy.geoip.on_missing == "error"
    assert policy.languages.default == "en"
    assert policy.languages.available == ("en",)
    assert policy.templates.directory is None
    consent = policy.consent
    assert consent.enabled is True
    assert consent.cookie.name == "gk_consent"
    assert (consent.cookie.secure, consent.cookie.same_site) == ("auto", "lax")
    assert consent.max_age_days == 180
    assert (consent.modes.default, consent.modes.unknown) == ("opt_in", "opt_in")
    assert consent.gpc == "honor"
    assert consent.gpc_places == ()
    assert consent.unlisted_cookies == "necessary"
    assert list(consent.categories) == ["necessary"]
    assert consent.categories["necessary"].required is True
    assert consent.banner.privacy_url == "/privacy"
    assert policy.adblock.mode == "off"
    assert policy.adblock.paths == ("/*",)
    assert policy.geoblock.allow is None
    assert policy.geoblock.deny == ()
    assert (policy.geoblock.unknown, policy.geoblock.status) == ("allow", 451)
    assert policy.notifications == ()
    assert policy.offline_notice.enabled is False
    assert policy.audit.store == f"sqlite:///{tmp_path / 'gatekeeper-consent.db'}"
    assert (policy.audit.ip, policy.audit.retention_days) == ("truncate", 395)
    assert policy.audit.sink is None
    assert policy.audit.view.enabled is False


def test_a_policy_is_frozen():
    policy = parse(HEAD)
    with pytest.raises(ValidationError):
        policy.debug = True  # type: ignore[misc]
    with pytest.raises(ValidationError):
        policy.consent.cookie.name = "other"  # type: ignore[misc]


def test_revision_written_as_an_unquoted_date_is_the_string():
    policy = parse('site: {name: N, revision: 2026-11-27}\nsecret_keys: ["${GATEKEEPER_SECRET}"]\n')
    assert policy.site.revision == "2026-11-27"
    assert isinstance(policy.site.revision, str)


def test_load_policy_reads_a_file(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(HEAD + "debug: true\n", encoding="utf-8")
    policy = load_policy(path, env=ENV)
    assert policy.debug is True
    assert policy.secret_keys == (SECRET,)
    assert load_policy(str(path), env=ENV) == policy


def test_load_policy_names_the_file_in_its_errors(tmp_path):
    path = tmp_path / "site.yaml"
    path.write_text(HEAD + "debug: maybe\n", encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy(path, env=ENV)
    assert str(info.value) == (
        f"{path}:3:8: debug: input should be a valid boolean, unable to interpret input "
        "(got 'maybe')"
    )


def test_issues_carry_their_parts():
    with pytest.raises(PolicyError) as info:
        parse(HEAD + "geoip:\n  databse: x.mmdb\n")
    (issue,) = info.value.issues
    assert issue == PolicyIssue(
        "p.yaml", 4, 3, "geoip.databse", "unknown key 'databse'; did you mean 'database'?"
    )


# --- environment variables --------------------------------------------------------------


def test_interpolate_replaces_variables_and_reports_the_unset_ones():
    env = {"A": "1", "EMPTY": ""}
    assert interpolate("x${A}y", env) == ("x1y", [])
    assert interpolate("${UNSET:-fallback}", env) == ("fallback", [])
    assert interpolate("${A:-fallback}", env) == ("1", [])
    # An empty value takes the default, as in the shell's ${VAR:-default} ...
    assert interpolate("${EMPTY:-fallback}", env) == ("fallback", [])
    # ... and without a default it is simply empty, not missing.
    assert interpolate("${EMPTY}", env) == ("", [])
    assert interpolate("${UNSET:-}", env) == ("", [])
    assert interpolate("${UNSET} and ${ALSO_UNSET}", env) == (" and ", ["UNSET", "ALSO_UNSET"])
    assert interpolate("no ${ variables } here, $A", env) == ("no ${ variables } here, $A", [])


def test_variable_defaults_in_a_policy():
    text = HEAD + (
        "prefix: ${GK_PREFIX:-/_gk}\n"
        'offline_notice: {text: "Offline at ${SITE:-Example News} - ${SITE_EMPTY:-sorry}"}\n'
        "consent:\n  max_age_days: ${GK_DAYS:-90}\n"
    )
    policy = parse(text, {**ENV, "SITE_EMPTY": ""})
    assert policy.prefix == "/_gk"
    assert policy.offline_notice.text == {"*": "Offline at Example News - sorry"}
    assert policy.consent.max_age_days == 90
    policy = parse(text, {**ENV, "GK_PREFIX": "/consent", "GK_DAYS": "30", "SITE": "Daily"})
    assert policy.prefix == "/consent"
    assert policy.consent.max_age_days == 30
    assert policy.offline_notice.text == {"*": "Offline at Daily - sorry"}


def test_variables_come_from_the_process_environment_by_default(monkeypatch):
    monkeypatch.setenv("GATEKEEPER_SECRET", "e" * 33)
    policy = parse_policy(HEAD)
    assert policy.secret_keys == ("e" * 33,)


def test_variables_are_not_expanded_in_comments():
    assert parse("# ${NOT_SET_ANYWHERE}\n" + HEAD).site.name == "Example News"


# --- the secret -------------------------------------------------------------------------


def test_unset_secret_is_reported_at_the_line_of_its_value():
    text = 'site: {name: N, revision: "1"}\nsecret_keys:\n  - "${GATEKEEPER_SECRET}"\n'
    # Only the cause is reported, not also the empty key it left behind.
    assert errors(text, env={}) == [
        "p.yaml:3:5: secret_keys[0]: environment variable GATEKEEPER_SECRET is not set"
    ]


def test_unset_secret_in_a_flow_list_points_at_the_item():
    assert errors(HEAD, env={}) == [
        "p.yaml:2:15: secret_keys[0]: environment variable GATEKEEPER_SECRET is not set"
    ]


def test_missing_secret_keys():
    assert errors('site: {name: N, revision: "1"}\n') == [
        "p.yaml:1:1: secret_keys: missing required key 'secret_keys'"
    ]


def test_empty_secret_keys():
    assert errors('site: {name: N, revision: "1"}\nsecret_keys: []\n') == [
        "p.yaml:2:14: secret_keys: tuple should have at least 1 item after validation, not 0"
    ]


def test_short_secret():
    text = 'site: {name: N, revision: "1"}\nsecret_keys: ["${GATEKEEPER_SECRET}", "short"]\n'
    assert errors(text) == [
        "p.yaml:2:14: secret_keys: secret key #2 is 5 characters; use 32 or more "
        "(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
    ]


def test_an_empty_fallback_makes_an_empty_key_which_is_refused():
    text = (
        'site: {name: N, revision: "1"}\n'
        'secret_keys: ["${GATEKEEPER_SECRET}", "${GATEKEEPER_SECRET_PREVIOUS:-}"]\n'
    )
    (error,) = errors(text)
    assert error.startswith("p.yaml:2:14: secret_keys: secret key #2 is 0 characters")


# --- unknown keys -----------------------------------------------------------------------


def test_unknown_top_level_key_suggests_the_right_one():
    assert errors(HEAD + "adblok:\n  mode: notice\n") == [
        "p.yaml:3:1: adblok: unknown key 'adblok'; did you mean 'adblock'?"
    ]


def test_unknown_nested_key_suggests_the_right_one():
    assert errors(HEAD + "geoip:\n  on_missing: allow\n  databse: x.mmdb\n") == [
        "p.yaml:5:3: geoip.databse: unknown key 'databse'; did you mean 'database'?"
    ]


def test_unknown_key_inside_a_category_a_rule_and_a_link():
    # The misspelt allow leaves the rule with neither list, but a model with an unknown key
    # is not checked further, so that follow-on error is not reported.
    text = HEAD + (
        "consent:\n"
        "  categories:\n"
        "    necessary: {required: true, label: N, cookie: [sid]}\n"  # line 5
        "geoblock:\n"
        "  rules:\n"
        "    - paths: [/a]\n"
        "      alow: [US]\n"  # line 9
        "notifications:\n"
        "  - id: a\n"
        "    text: x\n"
        "    links:\n"
        "      - label: L\n"
        "        href: /x\n"
        "        targte: _blank\n"  # line 16
    )
    assert errors(text) == [
        "p.yaml:5:43: consent.categories.necessary.cookie: unknown key 'cookie'; "
        "did you mean 'cookies'?",
        "p.yaml:9:7: geoblock.rules[0].alow: unknown key 'alow'; did you mean 'allow'?",
        "p.yaml:16:9: notifications[0].links[0].targte: unknown key 'targte'",
    ]


def test_unknown_key_with_nothing_close_has_no_suggestion():
    assert errors(HEAD + "colour: blue\n") == ["p.yaml:3:1: colour: unknown key 'colour'"]


# --- wrong values -----------------------------------------------------------------------


def test_wrong_types():
    text = HEAD + (
        "debug: maybe\n"
        "geoip: data/GeoLite2-Country.mmdb\n"
        "trusted_proxies: 10.0.0.0/8\n"
        "consent:\n"
        "  max_age_days: lots\n"
    )
    assert errors(text) == [
        "p.yaml:3:8: debug: input should be a valid boolean, unable to interpret input "
        "(got 'maybe')",
        "p.yaml:4:8: geoip: input should be a section of keys (a mapping) "
        "(got 'data/GeoLite2-Country.mmdb')",
        "p.yaml:5:18: trusted_proxies: input should be a valid tuple (got '10.0.0.0/8')",
        "p.yaml:7:17: consent.max_age_days: input should be a valid integer, unable to parse "
        "string as an integer (got 'lots')",
    ]


def test_value_out_of_range_and_not_one_of_the_choices():
    text = HEAD + "consent:\n  max_age_days: 500\ngeoip:\n  on_missing: maybe\n"
    assert errors(text) == [
        "p.yaml:4:17: consent.max_age_days: input should be less than or equal to 400 (got 500)",
        "p.yaml:6:15: geoip.on_missing: input should be 'error', 'allow' or 'block' (got 'maybe')",
    ]


def test_bad_country_code():
    assert errors(HEAD + "geoblock:\n  deny: [GB, ZZ]\n") == [
        "p.yaml:4:14: geoblock.deny[1]: 'ZZ' is not an ISO 3166-1 country code"
    ]


def test_bad_subdivision_code():
    text = HEAD + "consent:\n  modes:\n    opt_out:\n      - US-CA\n      - QQ-CA\n"
    text += "      - US-CALIF\n"
    assert errors(text) == [
        "p.yaml:7:9: consent.modes.opt_out[1]: 'QQ-CA': 'QQ' is not an ISO 3166-1 country code",
        "p.yaml:8:9: consent.modes.opt_out[2]: 'US-CALIF' is not a place code: use a country "
        "(GB), a subdivision (US-CA) or a group (EEA, EU)",
    ]


def test_bad_group():
    assert errors(HEAD + "geoblock:\n  allow: [EUROPE]\n") == [
        "p.yaml:4:11: geoblock.allow[0]: 'EUROPE' is not a place code: use a country (GB), "
        "a subdivision (US-CA) or a group (EEA, EU)"
    ]


def test_bad_country_inside_a_rule():
    text = HEAD + "geoblock:\n  rules:\n    - paths: [/a]\n      deny: [XY]\n"
    assert errors(text) == [
        "p.yaml:6:14: geoblock.rules[0].deny[0]: 'XY' is not an ISO 3166-1 country code"
    ]


def test_bad_cidr():
    text = HEAD + "trusted_proxies:\n  - 10.0.0.0/8\n  - 10.0.0.300/8\n  - 10.0.0.0/33\n"
    assert errors(text) == [
        "p.yaml:5:5: trusted_proxies[1]: '10.0.0.300/8' is not an IP network such as "
        "10.0.0.0/8 or 2001:db8::/32",
        "p.yaml:6:5: trusted_proxies[2]: '10.0.0.0/33' is not an IP network such as "
        "10.0.0.0/8 or 2001:db8::/32",
    ]


def test_bad_date():
    text = HEAD + "notifications:\n  - id: a\n    text: x\n    starts: 2026-13-01\n"
    assert errors(text) == [
        "p.yaml:6:13: notifications[0].starts: input should be a valid date or datetime, "
        "month value is outside expected range of 1-12 (got '2026-13-01')"
    ]


def test_notification_that_ends_before_it_starts():
    text = HEAD + (
        "notifications:\n  - id: sale\n    text: x\n    starts: 2026-12-10\n    ends: 2026-12-01\n"
    )
    assert errors(text) == [
        "p.yaml:4:5: notifications[0]: ends (2026-12-01) is before starts (2026-12-10)"
    ]


def test_duplicate_notification_ids():
    text = HEAD + "notifications:\n  - {id: a, text: x}\n  - {id: a, text: y}\n"
    assert errors(text) == ["p.yaml:1:1: notification ids must be unique: a"]


def test_bad_paths_links_and_languages():
    text = HEAD + (
        "adblock:\n  paths: [video]\n"  # line 4
        "notifications:\n  - id: a\n    text: {english: hi}\n"  # line 7
        "    links: [{label: L, href: contact}]\n"  # line 8
        "languages:\n  default: es\n  available: [en, de]\n"  # line 10
    )
    assert errors(text) == [
        "p.yaml:4:11: adblock.paths[0]: 'video' must start with '/' (a path or a glob such "
        "as /video/*)",
        "p.yaml:7:11: notifications[0].text: 'english' is not a language tag such as 'en' "
        "or 'pt-BR'",
        "p.yaml:8:30: notifications[0].links[0].href: 'contact' must be a site path "
        "(/contact) or an absolute http(s) URL",
        "p.yaml:10:3: languages: default language 'es' is not in available",
    ]


def test_missing_required_key():
    text = 'site:\n  name: Example News\nsecret_keys: ["${GATEKEEPER_SECRET}"]\n'
    assert errors(text) == ["p.yaml:1:1: site.revision: missing required key 'revision'"]


def test_missing_required_key_in_a_list_item():
    text = HEAD + "notifications:\n  - id: a\n    links: []\n"
    assert errors(text) == ["p.yaml:4:5: notifications[0].text: missing required key 'text'"]


def test_missing_site():
    assert errors('secret_keys: ["${GATEKEEPER_SECRET}"]\n') == [
        "p.yaml:1:1: site: missing required key 'site'"
    ]


# --- consent rules that span keys -------------------------------------------------------


def test_unlisted_cookies_names_a_category_that_does_not_exist():
    text = HEAD + (
        "consent:\n"
        "  unlisted_cookies: tracking\n"  # line 4
        "  categories:\n"
        "    necessary: {required: true, label: N}\n"
        "    analytics: {label: A}\n"
    )
    assert errors(text) == [
        "p.yaml:4:3: consent: unlisted_cookies: 'tracking' is not one of the categories "
        "(necessary, analytics)"
    ]


def test_a_required_category_is_needed():
    text = HEAD + "consent:\n  categories:\n    analytics: {label: A}\n"
    assert errors(text) == [
        "p.yaml:4:3: consent: one category must be required: true (strictly necessary)"
    ]


def test_overlapping_consent_modes():
    text = HEAD + "consent:\n  modes:\n    opt_in: [EU]\n    opt_out: [FR]\n"
    (error,) = errors(text)
    # The place's own spelling is checked by test_messages_keep_their_capitals below.
    assert error.startswith("p.yaml:5:5: consent.modes: ")
    assert error.lower().endswith("fr is listed under both opt_in and opt_out")


def test_a_subdivision_may_differ_from_its_country():
    policy = parse(HEAD + "consent:\n  modes: {notice: [US], opt_out: [US-CA]}\n")
    assert policy.consent.modes.notice == ("US",)
    assert policy.consent.modes.opt_out == ("US-CA",)


# --- the file itself --------------------------------------------------------------------


def test_duplicate_keys():
    text = HEAD + (
        "geoip:\n"
        "  on_missing: allow\n"
        "  on_missing: block\n"  # line 5
        "site: {name: Other, revision: '2'}\n"  # line 6
    )
    assert errors(text) == [
        "p.yaml:5:3: geoip.on_missing: duplicate key 'on_missing'",
        "p.yaml:6:1: site: duplicate key 'site'",
    ]


# libyaml (used when PyYAML has it) and PyYAML's own parser word syntax errors apart.
@pytest.mark.parametrize(
    ("libyaml", "here", "unclosed"),
    [
        (True, "in this context", "did not find expected ',' or ']'"),
        (False, "here", "expected ',' or ']', but got '<stream end>'"),
    ],
    ids=["libyaml", "pyyaml"],
)
def test_invalid_yaml_reports_the_line_of_the_syntax_error(libyaml, here, unclosed):
    def one(text: str) -> str:
        with pytest.raises(PolicyError) as info:
            parse(text, libyaml=libyaml)
        (issue,) = info.value.issues
        return str(issue)

    assert one(HEAD + "geoip:\n  database: x: y\n") == (
        f"p.yaml:4:14: not valid YAML: mapping values are not allowed {here}"
    )
    assert one(HEAD + "consent:\n  max_age_days: 1\n   gpc: honor\n") == (
        f"p.yaml:5:7: not valid YAML: mapping values are not allowed {here}"
    )
    # An unclosed list is reported where YAML notices it: the end of the file.
    assert one(HEAD + "trusted_proxies: [10.0.0.0/8\n") == f"p.yaml:4:1: not valid YAML: {unclosed}"


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_policy(text):
    assert errors(text) == ["p.yaml:1:1: the policy is empty"]


@pytest.mark.parametrize("text", ["- site\n- secret_keys\n", "just words\n", "42\n"])
def test_policy_that_is_not_a_mapping(text):
    assert errors(text) == ["p.yaml:1:1: the policy must be a mapping of sections (site:, ...)"]


def test_unreadable_files(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(PolicyError) as info:
        load_policy(missing, env=ENV)
    assert str(info.value) == f"{missing}:1:1: cannot read: No such file or directory"

    with pytest.raises(PolicyError) as info:
        load_policy(tmp_path, env=ENV)
    assert str(info.value) == f"{tmp_path}:1:1: cannot read: Is a directory"

    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"site: {name: \xc3\xa9t\xc3\xa9\xff\xfe}\n")
    with pytest.raises(PolicyError) as info:
        load_policy(binary, env=ENV)
    # The column counts characters: "site: {name: été" is 16 of them.
    assert str(info.value) == f"{binary}:1:17: not UTF-8 text: invalid start byte (byte 0xff)"


def test_every_error_in_a_file_comes_back_at_once(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(
        "# Example News\n"
        'site: {name: Example News, revision: "r1"}\n'
        'secret_keys: ["${GATEKEEPER_SECRET}"]\n'
        "trusted_proxies:\n"
        "  - 10.0.0.0/8\n"
        "  - 10.0.0.0/33\n"  # line 6: bad CIDR
        "geoblock:\n"
        "  deny: [KP, XY]\n"  # line 8: bad country code
        "  stauts: 451\n",  # line 9: unknown key
        encoding="utf-8",
    )
    with pytest.raises(PolicyError) as info:
        load_policy(path, env=ENV)
    issues = info.value.issues
    assert [(i.line, i.column, i.path) for i in issues] == [
        (6, 5, "trusted_proxies[1]"),
        (8, 14, "geoblock.deny[1]"),
        (9, 3, "geoblock.stauts"),
    ]
    assert all(i.file == str(path) for i in issues)
    assert "'10.0.0.0/33' is not an IP network" in issues[0].message
    assert issues[1].message == "'XY' is not an ISO 3166-1 country code"
    assert issues[2].message == "unknown key 'stauts'; did you mean 'status'?"


def test_an_unset_variable_and_other_errors_are_all_reported():
    text = HEAD + (
        "audit:\n  view: {token: '${GK_AUDIT_TOKEN}'}\n"  # line 4
        "geoblock:\n  deny: [XY]\n"  # line 6
    )
    assert errors(text) == [
        "p.yaml:4:17: audit.view.token: environment variable GK_AUDIT_TOKEN is not set",
        "p.yaml:6:10: geoblock.deny[0]: 'XY' is not an ISO 3166-1 country code",
    ]


# --- relative paths ---------------------------------------------------------------------


def test_relative_paths_are_resolved_against_the_policy_folder(tmp_path):
    folder = tmp_path.resolve() / "conf"
    folder.mkdir()
    path = folder / "policy.yaml"
    path.write_text(
        HEAD
        + "geoip:\n"
        + "  database: ../data/GeoIP2-City.mmdb\n"
        + "  anonymous_database: GeoIP2-Anonymous-IP.mmdb\n"
        + "templates: {directory: templates}\n"
        + "audit:\n"
        + "  store: sqlite:///db/consent.db\n"
        + "  signing_key: keys/audit.pem\n",
        encoding="utf-8",
    )
    policy = load_policy(path, env=ENV)
    assert policy.geoip.database == folder / "../data/GeoIP2-City.mmdb"
    assert policy.geoip.database.resolve() == tmp_path.resolve() / "data" / "GeoIP2-City.mmdb"
    assert policy.geoip.anonymous_database == folder / "GeoIP2-Anonymous-IP.mmdb"
    assert policy.templates.directory == folder / "templates"
    assert policy.audit.store == f"sqlite:///{folder}/db/consent.db"
    assert policy.audit.signing_key == folder / "keys" / "audit.pem"


def test_relative_paths_from_a_relative_policy_path(tmp_path, monkeypatch):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "policy.yaml").write_text(
        HEAD + "geoip: {database: city.mmdb}\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    policy = load_policy("conf/policy.yaml", env=ENV)
    assert policy.geoip.database == tmp_path.resolve() / "conf" / "city.mmdb"
    assert policy.geoip.database.is_absolute()


def test_absolute_paths_and_special_stores_are_kept(tmp_path):
    text = HEAD + (
        "geoip: {database: /var/lib/geoip/city.mmdb}\n"
        "audit: {store: 'sqlite:////var/lib/gk/consent.db', signing_key: /etc/gk/key.pem}\n"
    )
    policy = parse(text, base_dir=tmp_path)
    assert policy.geoip.database == Path("/var/lib/geoip/city.mmdb")
    assert policy.audit.store == "sqlite:////var/lib/gk/consent.db"
    assert policy.audit.signing_key == Path("/etc/gk/key.pem")
    memory = parse(HEAD + "audit: {store: 'sqlite:///:memory:'}\n", base_dir=tmp_path)
    assert memory.audit.store == "sqlite:///:memory:"


def test_parse_policy_resolves_against_base_dir_or_the_working_folder(tmp_path, monkeypatch):
    text = HEAD + "geoip: {database: city.mmdb}\n"
    assert parse(text, base_dir=Path("/srv/site")).geoip.database == Path("/srv/site/city.mmdb")
    monkeypatch.chdir(tmp_path)
    assert parse(text).geoip.database == Path.cwd() / "city.mmdb"


# --- path_matches -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "patterns", "expected"),
    [
        ("/video/clip", ("/video/*",), True),
        ("/video/2026/clip", ("/video/*",), True),  # * spans segments
        ("/video", ("/video/*",), True),  # the folder itself
        ("/video/", ("/video/*",), True),
        ("/videos", ("/video/*",), False),
        ("/Video/clip", ("/video/*",), False),  # case matters
        ("/health", ("/health",), True),
        ("/health/deep", ("/health",), False),
        ("/", ("/*",), True),
        ("/anything/at/all", ("/*",), True),
        ("/api/v1/articles", ("/privacy", "/api/*"), True),
        ("/news/today.html", ("/news/*.html",), True),
        ("/news/today.json", ("/news/*.html",), False),
        ("/privacy", (), False),
    ],
)
def test_path_matches(path, patterns, expected):
    assert path_matches(path, patterns) is expected


# --- country codes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "canonical"),
    [
        ("GB", "GB"),
        ("gb", "GB"),
        (" de ", "DE"),
        ("XK", "XK"),
        ("us-ca", "US-CA"),
        ("FR-75C", "FR-75C"),
        ("eu", "EU"),
        ("EEA", "EEA"),
    ],
)
def test_check_place_accepts_and_canonicalises(code, canonical):
    assert check_place(code) == canonical


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("ZZ", "'ZZ' is not an ISO 3166-1 country code"),
        ("uk", "'uk' is not an ISO 3166-1 country code"),
        ("QQ-CA", "'QQ-CA': 'QQ' is not an ISO 3166-1 country code"),
        ("US-CALIF", "'US-CALIF' is not a place code"),
        ("EUROPE", "'EUROPE' is not a place code"),
        ("U1", "'U1' is not a place code"),
        ("", "'' is not a place code"),
    ],
)
def test_check_place_refuses(code, message):
    with pytest.raises(ValueError) as info:
        check_place(code)
    assert str(info.value).startswith(message)


def test_expand_replaces_groups_with_their_countries():
    assert expand(["EU"]) == EU
    assert len(EU) == 27
    assert expand(["EEA"]) == EU | {"IS", "LI", "NO"}
    assert expand(["EU", "FR", "GB", "US-CA"]) == EU | {"GB", "US-CA"}
    assert expand(("CH",)) == frozenset({"CH"})
    assert expand([]) == frozenset()


def test_groups_contain_only_real_countries():
    for members in GROUPS.values():
        assert members <= COUNTRIES


# --- regressions: problems found in review, fixed ---------------------------------------


def test_norway_is_a_country_code_not_false():
    policy = parse(HEAD + "consent:\n  modes:\n    opt_in: [SE, NO, DK]\n")
    assert policy.consent.modes.opt_in == ("SE", "NO", "DK")


def test_adblock_mode_off_unquoted():
    assert parse(HEAD + "adblock:\n  mode: off\n").adblock.mode == "off"


def test_messages_keep_their_capitals():
    text = HEAD + "consent:\n  modes:\n    opt_in: [GB]\n    opt_out: [GB]\n"
    assert errors(text) == ["p.yaml:5:5: consent.modes: GB is listed under both opt_in and opt_out"]


def test_whole_policy_errors_survive_an_unset_variable():
    text = HEAD + (
        "notifications:\n  - {id: a, text: x}\n  - {id: a, text: y}\n"
        "audit:\n  view: {token: '${GK_AUDIT_TOKEN}'}\n"  # line 7
    )
    assert errors(text) == [
        "p.yaml:1:1: notification ids must be unique: a",
        "p.yaml:7:17: audit.view.token: environment variable GK_AUDIT_TOKEN is not set",
    ]


def test_env_value_keeps_its_yaml_type_when_unquoted():
    text = HEAD + "geoblock:\n  status: ${GK_STATUS:-403}\n"
    assert parse(text).geoblock.status == 403


def test_numeric_revision_is_a_label():
    text = 'site: {name: N, revision: 3}\nsecret_keys: ["%s"]\n' % ("k" * 40)
    assert parse(text).site.revision == "3"
