"""The TC string: round trips, the encoding choices the specification prescribes, the
re-ask rules, and strings that are not TC strings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatekeeper.tcf.bits import BitReader
from gatekeeper.tcf.string import (
    NOT_ALLOWED,
    REQUIRE_CONSENT,
    IdRanges,
    PublisherRestriction,
    PublisherTC,
    TCString,
    TCStringError,
    day,
    decode,
    encode,
    reask_reason,
)

# The example in "Consent string and vendor list formats v2" (TC String Format).
SPEC_EXAMPLE = "CQSbk4AQSbk4ANwAAAENAwCgAAAAAAAAAAYgACPAAAAA.IDKQA4AAgAKAGQAygAAA.YAAAAAAAAAAA"
TODAY = date(2026, 12, 2)


def make(**fields) -> TCString:
    base = dict(
        created=day(TODAY),
        last_updated=day(TODAY),
        cmp_id=4095,
        cmp_version=7,
        consent_screen=1,
        consent_language="EN",
        vendor_list_version=142,
        policy_version=5,
        publisher_cc="DE",
    )
    return TCString(**{**base, **fields})


def vendor_encoding(text: str, *, disclosed: bool = False) -> tuple[int, bool]:
    """(MaxVendorId, IsRangeEncoding) of the vendor consents (or Disclosed Vendors)."""
    segments = text.split(".")
    if disclosed:
        reader = BitReader(segments[1])
        reader.number(3)
    else:
        reader = BitReader(segments[0])
        reader.number(6 + 36 + 36 + 12 + 12 + 6 + 12 + 12 + 6 + 1 + 1 + 12 + 24 + 24 + 1 + 12)
    return reader.number(16), reader.flag()


def test_the_specification_example_decodes_and_re_encodes_to_the_same_choices():
    tc = decode(SPEC_EXAMPLE)
    assert tc.version == 2 and tc.is_service_specific
    assert tc.disclosed_vendors is not None and tc.publisher_tc is not None
    assert decode(encode(tc)) == tc


def test_a_full_string_round_trips():
    tc = make(
        purpose_consents=frozenset({1, 3, 4}),
        purpose_legitimate_interests=frozenset({2, 7}),
        special_feature_optins=frozenset({1}),
        vendor_consents=IdRanges.of([2, 25, 755, 1126]),
        vendor_legitimate_interests=IdRanges.of([2, 8, 755]),
        restrictions=(PublisherRestriction(2, REQUIRE_CONSENT, IdRanges.of([2, 755])),),
        disclosed_vendors=IdRanges.of([1, 2, 8, 25, 300, 755, 1126]),
        publisher_tc=PublisherTC(frozenset({1}), frozenset({2}), (True, False), (False, True)),
        purpose_one_treatment=True,
    )
    text = encode(tc)
    assert text.count(".") == 2
    assert all(len(segment) % 4 == 0 for segment in text.split("."))  # 24-bit padding
    assert decode(text) == tc


def test_the_disclosed_vendors_segment_is_always_written():
    text = encode(make())
    assert text.count(".") == 1
    assert decode(text).disclosed_vendors == IdRanges()
    with pytest.raises(TCStringError, match="Disclosed Vendors"):
        encode(make(disclosed_vendors=None))


def test_a_few_spread_vendors_use_ranges_and_a_dense_set_a_bit_field():
    sparse = encode(make(vendor_consents=IdRanges.of([3, 1500, 2900])))
    assert vendor_encoding(sparse) == (2900, True)  # 12 + 3x17 bits against 2900
    dense = encode(make(vendor_consents=IdRanges.of(range(1, 60, 2))))
    assert vendor_encoding(dense) == (59, False)  # 30 singles would be 522 bits
    block = encode(make(disclosed_vendors=IdRanges([(1, 900)])))
    assert vendor_encoding(block, disclosed=True) == (900, True)  # one range: 12 + 33 bits


@pytest.mark.parametrize(
    "ids",
    [[], [1], [45], [1, 2, 3], list(range(1, 200)), [7, 8, 9, 300, 301, 65535]],
    ids=repr,
)
def test_whichever_encoding_is_chosen_it_is_the_shorter(ids):
    tc = make(vendor_consents=IdRanges.of(ids))
    chosen = len(encode(tc).split(".")[0])
    max_id = max(ids, default=0)
    ranges = IdRanges.of(ids).ranges()
    range_bits = 12 + sum(17 if s == e else 33 for s, e in ranges)
    bitfield_bits = max_id
    assert vendor_encoding(encode(tc))[1] == (range_bits < bitfield_bits)
    assert decode(encode(tc)).vendor_consents == IdRanges.of(ids)
    assert chosen > 0


def test_created_and_last_updated_carry_the_day_only():
    tc = make(created=day(TODAY), last_updated=day(TODAY))
    decoded = decode(encode(tc))
    assert decoded.created == decoded.last_updated == datetime(2026, 12, 2, tzinfo=UTC)


def test_restrictions_with_the_same_purpose_and_type_are_merged():
    tc = make(
        restrictions=(
            PublisherRestriction(3, NOT_ALLOWED, IdRanges.of([5])),
            PublisherRestriction(3, NOT_ALLOWED, IdRanges.of([6, 7])),
        )
    )
    (merged,) = decode(encode(tc)).restrictions
    assert merged.vendors == IdRanges([(5, 7)])
    assert decode(encode(tc)).restriction(6, 3) == NOT_ALLOWED


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ("not a tc string!", "base64url"),
        ("BOEFEAyOEFEAyAHABDENAI4AAAB9vABAASA", "version 1"),
        ("CQSbk4A", "too early"),
        ("A" * 20000, "too long"),
        (SPEC_EXAMPLE + ".IDKQA4AAgAKAGQAygAAA", "twice"),
    ],
)
def test_what_is_not_a_tc_string_is_refused_with_a_reason(text, message):
    with pytest.raises(TCStringError, match=message):
        decode(text)


def test_a_hostile_string_of_huge_ranges_stays_cheap():
    # 2400 entries each claiming 1-65535: kept as one merged range, not 157M set entries.
    from gatekeeper.tcf.bits import BitWriter

    out = BitWriter()
    out.number(2, 6)
    out.number(0, 36 * 2)
    out.number(5, 12 + 12)
    out.number(0, 6)
    out.letters("EN")
    out.number(1, 12)
    out.number(5, 6)
    out.bits([True, False] + [False] * (12 + 24 + 24 + 1))
    out.letters("DE")
    out.number(65535, 16)
    out.flag(True)
    out.number(2400, 12)
    for _ in range(2400):
        out.flag(True)
        out.number(1, 16)
        out.number(65535, 16)
    out.number(0, 16 + 1)  # LI: empty bit field
    out.number(0, 12)
    tc = decode(out.base64())
    assert tc.vendor_consents.ranges() == ((1, 65535),)
    assert 40000 in tc.vendor_consents


def test_ask_again_when_the_policy_version_changes():
    tc = make()
    assert reask_reason(tc, today=TODAY, policy_version=5) is None
    assert reask_reason(tc, today=TODAY, policy_version=6) == "policy"


def test_ask_again_after_thirteen_months_or_the_sites_shorter_lifetime():
    tc = make(created=day(date(2025, 11, 2)), last_updated=day(date(2025, 11, 2)))
    assert reask_reason(tc, today=date(2026, 12, 1), policy_version=5) is None
    assert reask_reason(tc, today=date(2026, 12, 2), policy_version=5) == "expired"
    assert reask_reason(tc, today=date(2026, 1, 2), policy_version=5, max_age_days=60) == "expired"
    leap = make(last_updated=day(date(2024, 1, 31)))
    assert reask_reason(leap, today=date(2025, 2, 27), policy_version=5) is None
    assert reask_reason(leap, today=date(2025, 2, 28), policy_version=5) == "expired"


def test_strings_tcf_v2_3_no_longer_accepts_are_asked_again():
    assert reask_reason(make(disclosed_vendors=None), today=TODAY, policy_version=5) == "invalid"
    assert reask_reason(make(is_service_specific=False), today=TODAY, policy_version=5) == "invalid"
    future = make(last_updated=day(TODAY + timedelta(days=3)))
    assert reask_reason(future, today=TODAY, policy_version=5) == "invalid"


# --- property: whatever the fields, decode(encode(x)) == x ---------------------------------

ids_24 = st.frozensets(st.integers(1, 24))
vendor_ids = st.builds(
    IdRanges.of,
    st.one_of(
        st.sets(st.integers(1, 65535), max_size=40),
        st.sets(st.integers(1, 120), max_size=120),
    ),
)
moments = st.integers(0, 2**36 - 1).map(
    lambda ds: datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=100 * ds)
)
letters = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2)
restrictions = st.lists(
    st.builds(PublisherRestriction, st.integers(1, 24), st.integers(0, 2), vendor_ids.filter(bool)),
    max_size=4,
).map(lambda rs: tuple(sorted(rs, key=lambda r: (r.purpose, r.type))))
publisher = st.one_of(
    st.none(),
    st.integers(0, 8).flatmap(
        lambda n: st.builds(
            PublisherTC,
            ids_24,
            ids_24,
            st.tuples(*[st.booleans()] * n),
            st.tuples(*[st.booleans()] * n),
        )
    ),
)
tc_strings = st.builds(
    TCString,
    created=moments,
    last_updated=moments,
    cmp_id=st.integers(2, 4095),
    cmp_version=st.integers(0, 4095),
    consent_screen=st.integers(0, 63),
    consent_language=letters,
    vendor_list_version=st.integers(0, 4095),
    policy_version=st.integers(0, 63),
    publisher_cc=letters,
    purpose_consents=ids_24,
    purpose_legitimate_interests=ids_24,
    special_feature_optins=st.frozensets(st.integers(1, 12)),
    vendor_consents=vendor_ids,
    vendor_legitimate_interests=vendor_ids,
    restrictions=restrictions,
    disclosed_vendors=vendor_ids,
    publisher_tc=publisher,
    is_service_specific=st.booleans(),
    use_non_standard_texts=st.booleans(),
    purpose_one_treatment=st.booleans(),
)


def _merge(tc: TCString) -> TCString:
    """Restrictions of one purpose and type are one entry once written."""
    from dataclasses import replace

    grouped: dict[tuple[int, int], list] = {}
    for r in tc.restrictions:
        grouped.setdefault((r.purpose, r.type), []).extend(r.vendors.ranges())
    merged = tuple(PublisherRestriction(p, t, IdRanges(v)) for (p, t), v in sorted(grouped.items()))
    return replace(tc, restrictions=merged)


@settings(max_examples=300, deadline=None)
@given(tc_strings)
def test_any_tc_string_round_trips(tc):
    assert decode(encode(tc)) == _merge(tc)
