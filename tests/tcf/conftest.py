"""Shared TCF fixtures: the small vendor list in tests/data/tcf and a policy that uses it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatekeeper.policy import parse_policy
from gatekeeper.policy.schema import Policy
from gatekeeper.tcf.disclosure import Disclosure, build_disclosure
from gatekeeper.tcf.gvl import GVL, load_gvl
from tests.conftest import BASE_POLICY, REPO

DATA = REPO / "tests" / "data" / "tcf"
GVL_FILE = DATA / "vendor-list.json"

# Vendors in the fixture (ids and what they declare matter to the tests):
#   1 Lumen Metrics       consent 1 7 8 9 10
#   2 Harbor Ads          consent 1 3 4, LI 2 7 9 10 (2, 7 flexible), special purposes 1 2
#   8 Quay Fraud Shield   special purposes only
#   25 Northwind Exchange consent 1 2 3 4 7 9 10 (2 7 9 10 flexible)
#   32 Retired Media      deleted
#   300 Atlas Profiles    consent 1 3 4 5 6, LI 2 8 11
#   755 Tidewater         consent 1 3 4 9 10, LI 2 7 8 (2 7 8 9 10 flexible)
#   1126 Cobalt Video     consent 1 2 3 4 7
TCF_SECTION = """
consent:
  categories:
    necessary: {required: true, label: Necessary}
    analytics: {label: Analytics}
    ads: {label: Advertising, sale_or_sharing: true}
tcf:
  cmp_id: 4095
  cmp_version: 7
  publisher_country: de
  purposes: [1, 2, 3, 4, 7, 8, 9, 10]
  legitimate_interest: [2, 7, 8, 9, 10]
  special_features: [1]
  categories:
    ads: [1, 2, 3, 4, 7]
    analytics: [1, 8, 9]
  restrictions:
    - {purpose: 2, type: require_consent, vendors: [755]}
    - {purpose: 10, type: not_allowed}
  gvl: {file: gvl.json}
  gpp:
    sections: [tcfeuv2, usnat]
    usnat: {sale: [ads], sharing: [ads], targeted_advertising: [ads]}
"""


@pytest.fixture(scope="session")
def gvl() -> GVL:
    return load_gvl(GVL_FILE)


@pytest.fixture
def policy() -> Policy:
    return parse_policy(BASE_POLICY + TCF_SECTION, base_dir=Path("/srv/site"))


@pytest.fixture
def disclosure(policy: Policy, gvl: GVL) -> Disclosure:
    return build_disclosure(policy.tcf, gvl)
