"""`visitor.tcf.allows(vendor, purposes)`: the rules a vendor applies to a TC string."""

from __future__ import annotations

from datetime import date

from gatekeeper.tcf.choices import accept_all, choices_from_form, reject_all, tc_string
from gatekeeper.tcf.consent import CONSENT, LEGITIMATE_INTEREST, TcfConsent, legal_basis
from gatekeeper.tcf.string import (
    NOT_ALLOWED,
    REQUIRE_CONSENT,
    REQUIRE_LEGITIMATE_INTEREST,
    decode,
    encode,
)

TODAY = date(2026, 12, 2)


def consent_for(choices, disclosure, gvl) -> TcfConsent:
    text = encode(tc_string(choices, disclosure, today=TODAY, language="en"))
    return TcfConsent.from_string(decode(text), gvl)


def test_legal_basis_follows_declarations_and_restrictions(gvl):
    harbor = gvl.vendors[2]  # consent 1 3 4; LI 2 7 9 10; flexible 2 7
    assert legal_basis(harbor, 1, None) == CONSENT
    assert legal_basis(harbor, 2, None) == LEGITIMATE_INTEREST
    assert legal_basis(harbor, 2, REQUIRE_CONSENT) == CONSENT  # flexible
    assert legal_basis(harbor, 9, REQUIRE_CONSENT) is None  # not flexible
    assert legal_basis(harbor, 3, REQUIRE_LEGITIMATE_INTEREST) is None
    assert legal_basis(harbor, 1, REQUIRE_CONSENT) == CONSENT  # already consent
    assert legal_basis(harbor, 1, NOT_ALLOWED) is None
    assert legal_basis(harbor, 5, None) is None  # not declared


def test_accept_all_allows_what_vendors_declared(disclosure, gvl):
    tcf = consent_for(accept_all(disclosure), disclosure, gvl)
    assert tcf.allows(755, (1, 3, 4))
    assert tcf.allows(2, (1, 2, 7))  # 2 and 7 on legitimate interest
    assert not tcf.allows(2, (10,))  # the publisher does not allow purpose 10
    assert not tcf.allows(755, (5,))  # not declared
    assert not tcf.allows(32, (1,))  # deleted vendor
    assert not tcf.allows(4242, (1,))  # not in the vendor list
    assert tcf.allows(8, ())  # special purposes only, disclosed


def test_reject_all_allows_nothing_that_needs_a_choice(disclosure, gvl):
    tcf = consent_for(reject_all(disclosure), disclosure, gvl)
    assert not tcf.allows(755, (1,))
    assert not tcf.allows(2, (2,))  # objected to
    assert tcf.allows(8, ())


def test_a_restriction_requiring_consent_switches_a_flexible_purpose(disclosure, gvl):
    # 755 declares 2 on legitimate interest, flexible; the policy requires consent for it.
    form = {
        "action": ["save"],
        "layer": ["preferences"],
        "purpose": ["1", "3", "4"],
        "vendor": ["755"],
        "legitimate_interest": ["2", "7", "8", "9", "10"],
        "vendor_legitimate_interest": ["755"],
    }
    tcf = consent_for(choices_from_form(form, disclosure), disclosure, gvl)
    assert tcf.allows(755, (1, 3, 4, 7))
    assert not tcf.allows(755, (2,))  # consent needed; purpose 2 not consented
    form["purpose"].append("2")
    tcf = consent_for(choices_from_form(form, disclosure), disclosure, gvl)
    assert tcf.allows(755, (2,))


def test_vendor_consent_and_purpose_consent_are_both_needed(disclosure, gvl):
    form = {"action": ["save"], "purpose": ["1", "3", "4"], "vendor": ["1126"]}
    tcf = consent_for(choices_from_form(form, disclosure), disclosure, gvl)
    assert tcf.allows(1126, (1, 3, 4))
    assert not tcf.allows(755, (1,))  # purpose yes, vendor no
    assert not tcf.allows(1126, (2,))  # vendor yes, purpose no


def test_outside_gdpr_nothing_is_restricted_and_before_a_choice_nothing_is_allowed(gvl):
    assert TcfConsent.not_applicable().allows(755, (1, 3, 4))
    assert not TcfConsent.undecided(gvl).allows(755, (1,))
    assert not TcfConsent.undecided(gvl).allows(8, ())
