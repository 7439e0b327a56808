"""The GPP string: the specification's header examples, usnat, and round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatekeeper.policy.sections.tcf import UsNatSettings
from gatekeeper.tcf.gpp import (
    GppError,
    UsNat,
    decode_gpp,
    decode_usnat,
    encode_gpp,
    encode_usnat,
    usnat_for,
)

TC = "CQSbk4AQSbk4ANwAAAENAwCgAAAAAAAAAAYgACPAAAAA.IDKQA4AAgAKAGQAygAAA"


@pytest.mark.parametrize(
    "header, ids",
    [("DBABM", (2,)), ("DBACNY", (2, 6)), ("DBABjw", (5, 6)), ("DBACMMA", (2, 7))],
)
def test_the_specifications_header_examples_decode(header, ids):
    # "GPP Consent String Specification", Header Examples 1-3 (5 characters, padded to 6
    # bits), and the IAB encoder's own output for tcfeuv2 + usnat (padded to bytes).
    text = "~".join([header, *["x"] * len(ids)])
    assert decode_gpp(text).section_ids == ids


def test_sections_are_written_in_id_order_with_a_byte_padded_header():
    text = encode_gpp({"usnat": "BVVqAAEABCA", "tcfeuv2": TC})
    assert text == f"DBACMMA~{TC}~BVVqAAEABCA"
    gpp = decode_gpp(text)
    assert gpp.section("tcfeuv2") == TC and gpp.section("usnat") == "BVVqAAEABCA"


@pytest.mark.parametrize(
    "text, message",
    [
        ("DBABM", "names 1 sections but 0"),
        ("CBABM~x", "type 3"),
        ("DBABM~a~b", "but 2 follow"),
        ("D!~x", "base64url"),
    ],
)
def test_what_is_not_a_gpp_string_is_refused(text, message):
    with pytest.raises(GppError, match=message):
        decode_gpp(text)


def test_usnat_opt_outs_follow_refused_categories_and_gpc():
    settings = UsNatSettings(sale=("ads",), sharing=("ads",), targeted_advertising=("ads", "video"))
    accepted = usnat_for(settings, set(), gpc=False, honour_gpc=True)
    assert (
        accepted.sale_opt_out,
        accepted.sharing_opt_out,
        accepted.targeted_advertising_opt_out,
    ) == (2, 2, 2)
    assert accepted.sale_opt_out_notice == accepted.sharing_notice == 1
    video = usnat_for(settings, {"video"}, gpc=False, honour_gpc=True)
    assert (video.sale_opt_out, video.targeted_advertising_opt_out) == (2, 1)
    gpc = usnat_for(settings, set(), gpc=True, honour_gpc=True)
    assert (gpc.sale_opt_out, gpc.sharing_opt_out, gpc.targeted_advertising_opt_out) == (1, 1, 1)
    assert gpc.gpc is True
    ignored = usnat_for(settings, set(), gpc=True, honour_gpc=False)
    assert ignored.sale_opt_out == 2 and ignored.gpc is True
    nothing = usnat_for(UsNatSettings(), set(), gpc=False, honour_gpc=True)
    assert nothing.sale_opt_out == nothing.sale_opt_out_notice == nothing.sharing_notice == 0
    assert nothing.mspa_covered_transaction == 2 and nothing.mspa_opt_out_option_mode == 0


def test_mspa_modes():
    covered = UsNatSettings(mspa_covered_transaction=True, mspa_mode="service_provider")
    section = usnat_for(covered, set(), gpc=False, honour_gpc=True)
    assert (
        section.mspa_covered_transaction,
        section.mspa_opt_out_option_mode,
        section.mspa_service_provider_mode,
    ) == (1, 2, 1)


def test_usnat_version_1_strings_still_read():
    v1 = decode_usnat("BVVqAAEABA")  # 60 bits: 12 sensitive categories, 2 child ones
    assert v1.version == 1
    assert (
        len(v1.sensitive_data_processing) == 12 and len(v1.known_child_sensitive_data_consents) == 2
    )


two_bits = st.integers(0, 2)
usnat = st.builds(
    UsNat,
    sharing_notice=two_bits,
    sale_opt_out_notice=two_bits,
    sharing_opt_out_notice=two_bits,
    targeted_advertising_opt_out_notice=two_bits,
    sensitive_data_processing_opt_out_notice=two_bits,
    sensitive_data_limit_use_notice=two_bits,
    sale_opt_out=two_bits,
    sharing_opt_out=two_bits,
    targeted_advertising_opt_out=two_bits,
    sensitive_data_processing=st.tuples(*[two_bits] * 16),
    known_child_sensitive_data_consents=st.tuples(*[two_bits] * 3),
    personal_data_consents=two_bits,
    mspa_covered_transaction=st.integers(1, 2),
    mspa_opt_out_option_mode=two_bits,
    mspa_service_provider_mode=two_bits,
    gpc=st.one_of(st.none(), st.booleans()),
)


@given(usnat)
def test_any_usnat_section_round_trips(section):
    text = encode_usnat(section)
    assert decode_usnat(text) == section
    gpp = encode_gpp({"usnat": text, "tcfeuv2": TC})
    assert decode_gpp(gpp).section("usnat") == text
