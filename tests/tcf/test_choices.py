"""From posted form fields to choices, TC strings and consent categories."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from gatekeeper.tcf.choices import (
    ChoiceError,
    Choices,
    accept_all,
    choices_from_form,
    choices_from_string,
    reject_all,
    tc_string,
)

TODAY = date(2026, 12, 2)


def save(**fields) -> dict[str, list[str]]:
    form = {"action": ["save"], "layer": ["preferences"]}
    form.update({k: [str(v) for v in vs] for k, vs in fields.items()})
    return form


def test_the_disclosure_follows_the_policy_and_the_vendor_list(disclosure, policy):
    assert disclosure.purposes == (1, 2, 3, 4, 7, 8, 9, 10)
    assert list(disclosure.vendors) == [1, 2, 8, 25, 300, 755, 1126]
    assert disclosure.warnings == ()
    assert str(policy.tcf.gvl.file) == "/srv/site/gvl.json"  # relative to the policy file
    # Harbor Ads: 2 and 7 are flexible LI; 755 must use consent for 2 (restriction).
    assert disclosure.interest_purposes(disclosure.vendors[2]) == {2, 7, 9}  # 10 not allowed
    assert disclosure.consent_purposes(disclosure.vendors[755]) == {1, 2, 3, 4, 9}
    assert disclosure.interest_purposes(disclosure.vendors[755]) == {7, 8}


def test_accept_all_and_reject_all_from_the_first_layer(disclosure):
    accepted = choices_from_form({"action": ["accept_all"]}, disclosure)
    assert accepted == accept_all(disclosure, 1)
    assert accepted.purpose_consents == set(disclosure.purposes) and accepted.screen == 1
    rejected = choices_from_form({"action": ["reject_all"], "layer": ["notice"]}, disclosure)
    assert rejected.purpose_consents == set() and rejected.vendor_consents == set()
    assert rejected.purpose_objections == {2, 7, 8, 9, 10}
    assert rejected.vendor_objections == {2, 300, 755}


def test_save_reads_consents_and_derives_objections_from_unposted_boxes(disclosure):
    choices = choices_from_form(
        save(
            purpose=[1, 3, 99],
            legitimate_interest=[7],
            vendor=[2, 32, 755],
            vendor_legitimate_interest=[755],
        ),
        disclosure,
    )
    assert choices.purpose_consents == {1, 3}  # 99 is not disclosed: dropped
    assert choices.purpose_objections == {2, 8, 9, 10}
    assert choices.vendor_consents == {2, 755}  # 32 is deleted: dropped
    assert choices.vendor_objections == {2, 300}
    assert choices.screen == 2


def test_all_vendors_in_one_box(disclosure):
    choices = choices_from_form(save(vendor=["all"]), disclosure)
    assert choices.vendor_consents == set(disclosure.vendors)


@pytest.mark.parametrize(
    "form, message",
    [
        ({}, "action"),
        ({"action": ["accept_all", "reject_all"]}, "action"),
        ({"action": ["maybe"]}, "action"),
        ({"action": ["save"], "layer": ["popup"]}, "layer"),
        ({"action": ["save"], "purpose": ["1; drop"]}, "not an id"),
        ({"action": ["save"], "vendor": ["9999999"]}, "not an id"),
    ],
)
def test_a_form_no_page_would_post_is_refused(disclosure, form, message):
    with pytest.raises(ChoiceError, match=message):
        choices_from_form(form, disclosure)


def test_consent_categories_follow_the_purposes(disclosure):
    assert accept_all(disclosure).categories(disclosure) == {"ads", "analytics"}
    assert reject_all(disclosure).categories(disclosure) == set()
    # analytics maps to 1, 8, 9: purpose 1 consented and 8, 9 on legitimate interest kept.
    only_storage = choices_from_form(
        save(purpose=[1], legitimate_interest=[2, 7, 8, 9, 10]), disclosure
    )
    assert only_storage.categories(disclosure) == {"analytics"}
    objecting = choices_from_form(save(purpose=[1], legitimate_interest=[2, 7]), disclosure)
    assert objecting.categories(disclosure) == set()


def test_the_tc_string_records_exactly_the_choice(disclosure):
    choices = choices_from_form(
        save(purpose=[1, 3, 4], special_feature=[1], legitimate_interest=[2, 7], vendor=[1, 2, 8]),
        disclosure,
    )
    tc = tc_string(choices, disclosure, today=TODAY, language="de-AT")
    assert tc.consent_language == "DE" and tc.consent_screen == 2
    assert tc.purpose_consents == {1, 3, 4}
    assert tc.purpose_legitimate_interests == {2, 7}
    assert tc.special_feature_optins == {1}
    assert list(tc.vendor_consents) == [1, 2]  # 8 declares no consent purpose
    assert list(tc.disclosed_vendors) == [1, 2, 8, 25, 300, 755, 1126]
    assert tc.publisher_tc is None  # the policy declares no publisher purposes
    # No vendor legitimate-interest box was posted: every one is objected to.
    assert choices.vendor_objections == {2, 300, 755}
    assert 2 not in tc.vendor_legitimate_interests and 8 in tc.vendor_legitimate_interests
    # What the string can record: vendor 8 has nothing to consent to.
    assert choices_from_string(tc, disclosure) == replace(
        choices, vendor_consents=frozenset({1, 2})
    )


def test_the_transparency_string_before_a_decision_has_no_consent(disclosure):
    tc = tc_string(Choices(), disclosure, today=TODAY, language="en")
    assert tc.purpose_consents == set() and not tc.vendor_consents
    assert tc.purpose_legitimate_interests == {2, 7, 8, 9, 10}
    assert 2 in tc.vendor_legitimate_interests
