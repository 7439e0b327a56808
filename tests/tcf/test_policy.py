"""The `tcf:` policy section: off by default, errors that point at file, line and column."""

from __future__ import annotations

import pytest

from gatekeeper.policy import PolicyError, parse_policy
from tests.conftest import BASE_POLICY

CATEGORIES = """consent:
  categories:
    necessary: {required: true, label: N}
    ads: {label: Ads}
"""


def issue(yaml: str) -> str:
    with pytest.raises(PolicyError) as info:
        parse_policy(BASE_POLICY + CATEGORIES + yaml, source="site.yaml")
    (first, *_) = info.value.issues
    return str(first)


def test_tcf_is_off_without_a_cmp_id():
    policy = parse_policy(BASE_POLICY)
    assert not policy.tcf.enabled
    assert policy.tcf.gvl.url == "https://vendor-list.consensu.org/v3/vendor-list.json"
    assert policy.tcf.purposes == tuple(range(1, 12))


def test_a_cmp_id_needs_the_publisher_country():
    assert issue("tcf:\n  cmp_id: 4095\n") == (
        "site.yaml:8:3: tcf.publisher_country: required with a cmp_id: the country whose "
        "law the site follows, such as DE"
    )


@pytest.mark.parametrize(
    "yaml, expected",
    [
        (
            "tcf:\n  cmp_id: 1\n  publisher_country: DE\n",
            "site.yaml:8:11: tcf.cmp_id: input should be greater than or equal to 2 (got 1)",
        ),
        (
            "tcf:\n  cmp_id: 300\n  publisher_country: ZZ\n",
            "site.yaml:9:22: tcf.publisher_country: 'ZZ' is not an ISO 3166-1 country code",
        ),
        (
            "tcf:\n  cmp_id: 300\n  publisher_country: DE\n  legitimate_interest: [2, 3]\n",
            "site.yaml:10:24: tcf.legitimate_interest: purpose 3 cannot rest on legitimate interest under TCF v2.2 (purposes 1 and 3 to 6 need consent)",
        ),
        (
            "tcf:\n  purposes: [1, 2]\n  categories: {ads: [1, 3]}\n",
            "site.yaml:9:15: tcf.categories: purpose 3 is not in tcf.purposes",
        ),
        (
            "tcf:\n  restrictions:\n    - {purpose: 4, type: require_legitimate_interest}\n",
            "site.yaml:9:26: tcf.restrictions[0].type: purpose 4 cannot rest on legitimate interest under TCF v2.2 (purposes 1 and 3 to 6 need consent)",
        ),
        (
            "tcf:\n  vendors: some\n",
            "site.yaml:8:12: tcf.vendors: input should be 'all' (got 'some')",
        ),
        (
            "tcf:\n  vendors: [755, 755]\n",
            "site.yaml:8:12: tcf.vendors: vendor 755 is listed more than once",
        ),
        (
            "tcf:\n  gpp: {sections: [tcfeuv2, uspv1]}\n",
            "site.yaml:8:29: tcf.gpp.sections[1]: input should be 'tcfeuv2' or 'usnat' (got 'uspv1')",
        ),
        (
            "tcf:\n  gpp: {usnat: {mspa_mode: service_provider}}\n",
            "site.yaml:8:16: tcf.gpp.usnat: mspa_mode needs mspa_covered_transaction: true",
        ),
        (
            "tcf:\n  categories: {adz: [1]}\n",
            "site.yaml:8:3: tcf: categories: 'adz' is not one of the consent categories (necessary, ads)",
        ),
        (
            "tcf:\n  gpp: {usnat: {sale: [necessary]}}\n",
            "site.yaml:8:3: tcf: gpp.usnat.sale: 'necessary' is required, so no choice can turn it off",
        ),
        (
            "tcf:\n  gvl: {url: ftp://x}\n",
            "site.yaml:8:14: tcf.gvl.url: string should match pattern '^https?://' (got 'ftp://x')",
        ),
    ],
)
def test_mistakes_are_named_where_they_are(yaml, expected):
    assert issue(yaml) == expected


def test_the_vendor_list_path_is_relative_to_the_policy_file(tmp_path):
    path = tmp_path / "site.yaml"
    path.write_text(BASE_POLICY + "tcf: {gvl: {file: data/gvl.json}}\n", encoding="utf-8")
    from gatekeeper.policy import load_policy

    assert load_policy(path).tcf.gvl.file == tmp_path / "data" / "gvl.json"
