"""gatekeeper's TC and GPP strings against the IAB's own libraries (node, no browser).

@iabtechlabtcf/core must decode every TC string gatekeeper makes to exactly the choices
made; gatekeeper must decode what that library encodes, including many random strings;
@iabgpp/cmpapi checks the GPP strings both ways.
"""

from __future__ import annotations

import copy
import json
from datetime import date

import pytest

from gatekeeper.policy import parse_policy
from gatekeeper.policy.sections.tcf import UsNatSettings
from gatekeeper.tcf.choices import Choices, accept_all, choices_from_form, reject_all, tc_string
from gatekeeper.tcf.disclosure import build_disclosure
from gatekeeper.tcf.gpp import decode_gpp, decode_usnat, encode_gpp, encode_usnat, usnat_for
from gatekeeper.tcf.gvl import parse_gvl
from gatekeeper.tcf.string import decode, encode
from tests.browser.tcf_oracle import fields, oracle
from tests.conftest import BASE_POLICY
from tests.tcf.conftest import GVL_FILE, TCF_SECTION
from tests.tcf.test_string import SPEC_EXAMPLE, vendor_encoding

TODAY = date(2026, 12, 2)


@pytest.fixture(scope="module")
def site():
    policy = parse_policy(BASE_POLICY + TCF_SECTION)
    from gatekeeper.tcf.gvl import load_gvl

    return build_disclosure(policy.tcf, load_gvl(GVL_FILE))


def dense_site(count: int = 80):
    """The fixture's texts with `count` vendors 1..count, all consent on purposes 1-4."""
    data = json.loads(GVL_FILE.read_text(encoding="utf-8"))
    template = data["vendors"]["1126"]
    data["vendors"] = {}
    for vendor_id in range(1, count + 1):
        vendor = copy.deepcopy(template)
        vendor.update(id=vendor_id, name=f"Vendor {vendor_id}")
        data["vendors"][str(vendor_id)] = vendor
    policy = parse_policy(BASE_POLICY + TCF_SECTION)
    return build_disclosure(policy.tcf, parse_gvl(data))


def made(choices: Choices, disclosure, language: str = "en") -> str:
    return encode(tc_string(choices, disclosure, today=TODAY, language=language))


def decoded_by_iab(*strings: str) -> list[dict]:
    answers = oracle({"op": "decode", "strings": list(strings)})
    for answer in answers:
        assert "error" not in answer, answer
    return answers


def test_accept_all_reads_as_every_purpose_vendor_and_feature(site):
    (iab,) = decoded_by_iab(made(accept_all(site), site))
    assert iab["cmpId"] == 4095 and iab["cmpVersion"] == 7
    assert iab["publisherCC"] == "DE" and iab["consentLanguage"] == "EN"
    assert iab["vendorListVersion"] == 142 and iab["policyVersion"] == 5
    assert iab["isServiceSpecific"] is True
    assert iab["created"] == iab["lastUpdated"] == 1796169600000  # 2026-12-02, midnight UTC
    assert iab["purposeConsents"] == [1, 2, 3, 4, 7, 8, 9, 10]
    assert iab["purposeLegitimateInterests"] == [2, 7, 8, 9, 10]
    assert iab["specialFeatureOptins"] == [1]
    # 8 declares special purposes only: no consent bit, but its LI bit (it was disclosed).
    assert iab["vendorConsents"] == [1, 2, 25, 300, 755, 1126]
    assert iab["vendorLegitimateInterests"] == [2, 8, 25, 300, 755, 1126]
    assert iab["vendorsDisclosed"] == [1, 2, 8, 25, 300, 755, 1126]  # 32 is deleted
    assert iab["restrictions"] == [[2, 1, [755]], [10, 0, list(range(1, 1127))]]


def test_reject_all_reads_as_nothing_but_disclosure(site):
    (iab,) = decoded_by_iab(made(reject_all(site), site))
    assert iab["purposeConsents"] == [] and iab["specialFeatureOptins"] == []
    assert iab["purposeLegitimateInterests"] == []
    assert iab["vendorConsents"] == []
    # Special purposes cannot be objected to: vendors with them keep the LI bit only when
    # they have no legitimate-interest purpose to object to.
    assert iab["vendorLegitimateInterests"] == [8, 25, 1126]
    assert iab["vendorsDisclosed"] == [1, 2, 8, 25, 300, 755, 1126]


@pytest.mark.parametrize("purpose", [1, 2, 3, 4, 7, 8, 9, 10])
def test_each_purpose_alone(site, purpose):
    form = {
        "action": ["save"],
        "layer": ["preferences"],
        "purpose": [str(purpose)],
        "vendor": ["all"],
    }
    form["legitimate_interest"] = [str(p) for p in (2, 7, 8, 9, 10)]
    choices = choices_from_form(form, site)
    (iab,) = decoded_by_iab(made(choices, site))
    assert iab["purposeConsents"] == [purpose]
    assert iab["consentScreen"] == 2
    assert iab["purposeLegitimateInterests"] == [2, 7, 8, 9, 10]


def test_legitimate_interest_objections(site):
    form = {
        "action": ["save"],
        "layer": ["preferences"],
        "purpose": ["1", "3"],
        "legitimate_interest": ["7", "9"],  # 2, 8 and 10 objected to
        "vendor": ["2", "755"],
        "vendor_legitimate_interest": ["755"],  # 2 and 300 objected to
    }
    (iab,) = decoded_by_iab(made(choices_from_form(form, site), site))
    assert iab["purposeConsents"] == [1, 3]
    assert iab["purposeLegitimateInterests"] == [7, 9]
    assert iab["vendorConsents"] == [2, 755]
    assert 2 not in iab["vendorLegitimateInterests"] and 300 not in iab["vendorLegitimateInterests"]
    assert 755 in iab["vendorLegitimateInterests"]


def test_vendors_by_range_and_by_bit_field():
    dense = dense_site(80)
    every = made(accept_all(dense), dense)
    assert vendor_encoding(every) == (80, True)  # one range 1-80: 45 bits against 80
    odd = Choices(purpose_consents=frozenset({1, 2}), vendor_consents=frozenset(range(1, 81, 2)))
    alternate = made(odd, dense)
    assert vendor_encoding(alternate) == (79, False)  # 40 singles: 692 bits against 79
    a, b = decoded_by_iab(every, alternate)
    assert a["vendorConsents"] == list(range(1, 81))
    assert b["vendorConsents"] == list(range(1, 81, 2))
    assert a["vendorsDisclosed"] == b["vendorsDisclosed"] == list(range(1, 81))


def test_publisher_restrictions_and_the_publisher_segment(site):
    policy = parse_policy(
        BASE_POLICY
        + TCF_SECTION.replace(
            "  special_features: [1]\n", "  special_features: [1]\n  publisher_purposes: [1, 7]\n"
        )
    )
    from gatekeeper.tcf.gvl import load_gvl

    with_publisher = build_disclosure(policy.tcf, load_gvl(GVL_FILE))
    (iab,) = decoded_by_iab(made(accept_all(with_publisher), with_publisher, "de"))
    assert iab["restrictions"][0] == [2, 1, [755]]
    assert iab["publisherConsents"] == [1, 7]
    assert iab["publisherLegitimateInterests"] == [7]
    assert iab["consentLanguage"] == "DE"


def test_the_specification_example_decodes_the_same_on_both_sides():
    (iab,) = decoded_by_iab(SPEC_EXAMPLE)
    assert fields(decode(SPEC_EXAMPLE)) == iab


def test_gatekeeper_decodes_what_the_iab_library_encodes():
    models = [
        {
            "cmpId": 10,
            "cmpVersion": 2,
            "purposeConsents": [1, 2, 3],
            "vendorConsents": [2, 755],
            "vendorLegitimateInterests": [2, 755],
            "vendorsDisclosed": [1, 2, 8, 755],
            "restrictions": [[2, 1, [755]], [3, 0, [2, 25]]],
            "publisherConsents": [1],
        },
        {"cmpId": 300, "cmpVersion": 1},
    ]
    strings = oracle({"op": "encode", "gvl": str(GVL_FILE), "models": models})
    for text, iab in zip(strings, decoded_by_iab(*strings), strict=True):
        assert fields(decode(text)) == iab


def test_gatekeeper_decodes_random_strings_the_iab_library_encodes():
    strings = [item["string"] for item in oracle({"op": "random", "count": 300, "seed": 18})]
    iab = decoded_by_iab(*strings)
    ranged = 0
    for text, expected in zip(strings, iab, strict=True):
        assert fields(decode(text)) == expected, text
        ranged += vendor_encoding(text)[1]
        # and gatekeeper's own encoding of those choices reads the same to the library
    again = decoded_by_iab(*(encode(decode(text)) for text in strings))
    assert again == iab
    assert 0 < ranged < len(strings)  # both encodings were exercised


# --- GPP --------------------------------------------------------------------------------


def test_gatekeeper_gpp_strings_read_the_same_to_the_iab_gpp_library(site):
    settings = UsNatSettings(
        sale=("ads",),
        sharing=("ads",),
        targeted_advertising=("ads",),
        mspa_covered_transaction=True,
        mspa_mode="opt_out_option",
    )
    cases = [
        (set(), False, True),  # accepted everything, no GPC
        ({"ads"}, False, True),  # refused ads
        (set(), True, True),  # GPC honoured
        (set(), True, False),  # GPC sent, not honoured
    ]
    tc = made(accept_all(site), site)
    strings = []
    for refused, gpc, honour in cases:
        usnat = usnat_for(settings, refused, gpc=gpc, honour_gpc=honour)
        strings.append(encode_gpp({"tcfeuv2": tc, "usnat": encode_usnat(usnat)}))
    strings.append(encode_gpp({"tcfeuv2": tc}))
    answers = oracle({"op": "gpp_decode", "strings": strings})
    expected_opt_out = [2, 1, 1, 2]
    for answer, opt_out, (_, gpc, _) in zip(answers, expected_opt_out, cases, strict=False):
        assert answer["sectionIds"] == [2, 7]
        assert answer["tcfeuv2"] == tc
        usnat = answer["usnat"]
        assert (
            usnat["SaleOptOut"]
            == usnat["SharingOptOut"]
            == usnat["TargetedAdvertisingOptOut"]
            == opt_out
        )
        assert usnat["SaleOptOutNotice"] == usnat["SharingNotice"] == 1
        assert usnat["MspaCoveredTransaction"] == 1 and usnat["MspaOptOutOptionMode"] == 1
        assert usnat["Gpc"] is gpc
    assert answers[-1]["sectionIds"] == [2] and "usnat" not in answers[-1]


def _usnat_fields(text: str) -> dict:
    u = decode_usnat(text)
    names = {
        "Version": u.version,
        "SharingNotice": u.sharing_notice,
        "SaleOptOutNotice": u.sale_opt_out_notice,
        "SharingOptOutNotice": u.sharing_opt_out_notice,
        "TargetedAdvertisingOptOutNotice": u.targeted_advertising_opt_out_notice,
        "SensitiveDataProcessingOptOutNotice": u.sensitive_data_processing_opt_out_notice,
        "SensitiveDataLimitUseNotice": u.sensitive_data_limit_use_notice,
        "SaleOptOut": u.sale_opt_out,
        "SharingOptOut": u.sharing_opt_out,
        "TargetedAdvertisingOptOut": u.targeted_advertising_opt_out,
        "SensitiveDataProcessing": list(u.sensitive_data_processing),
        "KnownChildSensitiveDataConsents": list(u.known_child_sensitive_data_consents),
        "PersonalDataConsents": u.personal_data_consents,
        "MspaCoveredTransaction": u.mspa_covered_transaction,
        "MspaOptOutOptionMode": u.mspa_opt_out_option_mode,
        "MspaServiceProviderMode": u.mspa_service_provider_mode,
    }
    return names


def test_gatekeeper_decodes_random_gpp_strings_the_iab_library_encodes(site):
    tc_strings = [made(accept_all(site), site), made(reject_all(site), site)]
    strings = [
        i["string"]
        for i in oracle({"op": "gpp_random", "count": 150, "seed": 7, "tcStrings": tc_strings})
    ]
    answers = oracle({"op": "gpp_decode", "strings": strings})
    for text, answer in zip(strings, answers, strict=True):
        gpp = decode_gpp(text)
        assert list(gpp.section_ids) == answer["sectionIds"]
        if "usnat" in answer:
            mine = _usnat_fields(gpp.section("usnat"))
            theirs = {k: v for k, v in answer["usnat"].items() if k in mine}
            assert mine == theirs, text
            gpc = decode_usnat(gpp.section("usnat")).gpc
            assert (gpc is not None) == (len(gpp.section("usnat").split(".")) == 2)
            if gpc is not None:
                assert gpc is answer["usnat"]["Gpc"]
            # gatekeeper writes the same section back, bit for bit
            assert encode_usnat(decode_usnat(gpp.section("usnat"))) == gpp.section("usnat")
        if "tcfeuv2" in answer:
            assert gpp.section("tcfeuv2") == answer["tcfeuv2"]
        assert (
            encode_gpp(
                {name: gpp.section(name) for name in ("tcfeuv2", "usnat") if gpp.section(name)}
            )
            == text
        )
