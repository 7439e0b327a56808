"""The TC string of IAB Europe's Transparency and Consent Framework v2.3, both ways.

Follows IAB Tech Lab, "Transparency and Consent String with Global Vendor & CMP List
Formats" (TCF v2.3): a core segment, the Disclosed Vendors segment (mandatory since v2.3)
and, when the publisher declares purposes of its own, the Publisher TC segment, joined by
dots. Pure functions on frozen values; no I/O and no clock (callers pass `today`).

Vendor sets decoded from range entries stay as ranges (`IdRanges`), so a hostile string
of thousands of 1-65535 ranges costs its length to read, not millions of set entries.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from .bits import BitReader, BitsError, BitWriter

__all__ = [
    "NOT_ALLOWED",
    "REQUIRE_CONSENT",
    "REQUIRE_LEGITIMATE_INTEREST",
    "IdRanges",
    "PublisherRestriction",
    "PublisherTC",
    "TCString",
    "TCStringError",
    "decode",
    "encode",
    "reask_reason",
]

# RestrictionType ("Publisher Restrictions Section").
NOT_ALLOWED, REQUIRE_CONSENT, REQUIRE_LEGITIMATE_INTEREST = 0, 1, 2

_CORE, _DISCLOSED, _ALLOWED, _PUBLISHER = 0, 1, 2, 3
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_LENGTH = 16_384  # far above any cookie; a longer string is refused unread


class TCStringError(ValueError):
    """Not a TC string this module can read; treat it as no TC string at all."""


class IdRanges:
    """An immutable set of positive ids kept as sorted, disjoint, inclusive ranges."""

    __slots__ = ("_ends", "_starts")

    def __init__(self, ranges: Iterable[tuple[int, int]] = ()) -> None:
        merged: list[list[int]] = []
        for start, end in sorted(ranges):
            if merged and start <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        self._starts = tuple(start for start, _ in merged)
        self._ends = tuple(end for _, end in merged)

    @classmethod
    def of(cls, ids: Iterable[int]) -> IdRanges:
        return cls((i, i) for i in ids)

    def ranges(self) -> tuple[tuple[int, int], ...]:
        return tuple(zip(self._starts, self._ends, strict=True))

    @property
    def max_id(self) -> int:
        return self._ends[-1] if self._ends else 0

    def __contains__(self, item: object) -> bool:
        if not isinstance(item, int):
            return False
        index = bisect.bisect_right(self._starts, item) - 1
        return index >= 0 and item <= self._ends[index]

    def __iter__(self) -> Iterator[int]:
        for start, end in zip(self._starts, self._ends, strict=True):
            yield from range(start, end + 1)

    def __len__(self) -> int:
        return sum(end - start + 1 for start, end in zip(self._starts, self._ends, strict=True))

    def __bool__(self) -> bool:
        return bool(self._starts)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, IdRanges):
            return self._starts == other._starts and self._ends == other._ends
        if isinstance(other, set | frozenset):
            return len(self) == len(other) and all(i in self for i in other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self._starts, self._ends))

    def __repr__(self) -> str:
        parts = [str(s) if s == e else f"{s}-{e}" for s, e in self.ranges()]
        return f"IdRanges({', '.join(parts)})"


@dataclass(frozen=True, slots=True)
class PublisherRestriction:
    purpose: int
    type: int
    """NOT_ALLOWED, REQUIRE_CONSENT or REQUIRE_LEGITIMATE_INTEREST."""
    vendors: IdRanges


@dataclass(frozen=True, slots=True)
class PublisherTC:
    """The publisher's own purposes ("Publisher Purposes Transparency and Consent")."""

    consents: frozenset[int] = frozenset()
    legitimate_interests: frozenset[int] = frozenset()
    custom_consents: tuple[bool, ...] = ()
    custom_legitimate_interests: tuple[bool, ...] = ()

    def __post_init__(self) -> None:
        if len(self.custom_consents) != len(self.custom_legitimate_interests):
            raise TCStringError("custom purposes need one consent and one LI bit each")


@dataclass(frozen=True, slots=True)
class TCString:
    """Every field of a v2 TC string, as the specification names them."""

    created: datetime
    last_updated: datetime
    cmp_id: int
    cmp_version: int
    consent_screen: int
    consent_language: str
    vendor_list_version: int
    policy_version: int
    publisher_cc: str
    purpose_consents: frozenset[int] = frozenset()
    purpose_legitimate_interests: frozenset[int] = frozenset()
    special_feature_optins: frozenset[int] = frozenset()
    vendor_consents: IdRanges = field(default_factory=IdRanges)
    vendor_legitimate_interests: IdRanges = field(default_factory=IdRanges)
    restrictions: tuple[PublisherRestriction, ...] = ()
    disclosed_vendors: IdRanges | None = field(default_factory=IdRanges)
    """None when the string has no Disclosed Vendors segment (made before TCF v2.3)."""
    publisher_tc: PublisherTC | None = None
    is_service_specific: bool = True
    use_non_standard_texts: bool = False
    purpose_one_treatment: bool = False
    version: int = 2

    def restriction(self, vendor: int, purpose: int) -> int | None:
        """The publisher's restriction type on this vendor and purpose, if any."""
        for restriction in self.restrictions:
            if restriction.purpose == purpose and vendor in restriction.vendors:
                return restriction.type
        return None


def day(value: date) -> datetime:
    """Midnight UTC: Created and LastUpdated carry the day only ("What happened to Created
    and LastUpdated?")."""
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


# --- encoding ----------------------------------------------------------------------------


def _deciseconds(moment: datetime) -> int:
    return round((moment - _EPOCH) / timedelta(milliseconds=100))


def _vendor_vector(out: BitWriter, ids: IdRanges) -> None:
    """MaxVendorId, IsRangeEncoding and whichever of bit field or ranges is shorter (both
    are allowed; "Encoding logic should choose the encoding scheme that results in the
    smaller output size")."""
    max_id = ids.max_id
    ranges = ids.ranges()
    range_bits = 12 + sum(17 if start == end else 33 for start, end in ranges)
    out.number(max_id, 16)
    if range_bits < max_id:
        out.flag(True)
        _range_entries(out, ranges)
    else:
        out.flag(False)
        out.bits(i in ids for i in range(1, max_id + 1))


def _range_entries(out: BitWriter, ranges: tuple[tuple[int, int], ...]) -> None:
    if len(ranges) >= 1 << 12:
        raise TCStringError(f"{len(ranges)} ranges do not fit in NumEntries (12 bits)")
    out.number(len(ranges), 12)
    for start, end in ranges:
        out.flag(start != end)
        out.number(start, 16)
        if start != end:
            out.number(end, 16)


def _fixed(out: BitWriter, ids: frozenset[int], width: int, what: str) -> None:
    if any(i < 1 or i > width for i in ids):
        raise TCStringError(f"{what} ids must be 1 to {width}")
    out.bits(i in ids for i in range(1, width + 1))


def encode(tc: TCString) -> str:
    """The TC string: core, Disclosed Vendors and (if set) Publisher TC segments."""
    if tc.version != 2:
        raise TCStringError("only version 2 TC strings can be written")
    if tc.disclosed_vendors is None:
        raise TCStringError("TCF v2.3 requires the Disclosed Vendors segment")
    if not 2 <= tc.cmp_id < 1 << 12:
        raise TCStringError(f"CMP id {tc.cmp_id} is not a registered CMP id (2-4095)")
    try:
        core = BitWriter()
        core.number(2, 6)
        core.number(_deciseconds(tc.created), 36)
        core.number(_deciseconds(tc.last_updated), 36)
        core.number(tc.cmp_id, 12)
        core.number(tc.cmp_version, 12)
        core.number(tc.consent_screen, 6)
        core.letters(tc.consent_language)
        core.number(tc.vendor_list_version, 12)
        core.number(tc.policy_version, 6)
        core.flag(tc.is_service_specific)
        core.flag(tc.use_non_standard_texts)
        _fixed(core, tc.special_feature_optins, 12, "special feature")
        _fixed(core, tc.purpose_consents, 24, "purpose")
        _fixed(core, tc.purpose_legitimate_interests, 24, "purpose")
        core.flag(tc.purpose_one_treatment)
        core.letters(tc.publisher_cc)
        _vendor_vector(core, tc.vendor_consents)
        _vendor_vector(core, tc.vendor_legitimate_interests)
        restrictions = _merged_restrictions(tc.restrictions)
        core.number(len(restrictions), 12)
        for (purpose, kind), vendors in restrictions.items():
            core.number(purpose, 6)
            core.number(kind, 2)
            _range_entries(core, vendors.ranges())
        disclosed = BitWriter()
        disclosed.number(_DISCLOSED, 3)
        _vendor_vector(disclosed, tc.disclosed_vendors)
        segments = [core.base64(), disclosed.base64()]
        if tc.publisher_tc is not None:
            segments.append(_publisher_segment(tc.publisher_tc).base64())
    except BitsError as exc:
        raise TCStringError(str(exc)) from None
    return ".".join(segments)


def _merged_restrictions(
    restrictions: tuple[PublisherRestriction, ...],
) -> dict[tuple[int, int], IdRanges]:
    grouped: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for r in restrictions:
        if r.type not in (NOT_ALLOWED, REQUIRE_CONSENT, REQUIRE_LEGITIMATE_INTEREST):
            raise TCStringError(f"restriction type {r.type} is undefined")
        grouped.setdefault((r.purpose, r.type), []).extend(r.vendors.ranges())
    return {key: IdRanges(grouped[key]) for key in sorted(grouped) if grouped[key]}


def _publisher_segment(pub: PublisherTC) -> BitWriter:
    out = BitWriter()
    out.number(_PUBLISHER, 3)
    _fixed(out, pub.consents, 24, "publisher purpose")
    _fixed(out, pub.legitimate_interests, 24, "publisher purpose")
    out.number(len(pub.custom_consents), 6)
    out.bits(pub.custom_consents)
    out.bits(pub.custom_legitimate_interests)
    return out


# --- decoding ----------------------------------------------------------------------------


def _ids(flags: tuple[bool, ...]) -> frozenset[int]:
    return frozenset(i for i, flag in enumerate(flags, 1) if flag)


def _read_ranges(bits: BitReader) -> list[tuple[int, int]]:
    ranges = []
    for _ in range(bits.number(12)):
        is_range = bits.flag()
        start = bits.number(16)
        end = bits.number(16) if is_range else start
        if start < 1 or end < start:
            raise TCStringError(f"range entry {start}-{end} is not an ascending id range")
        ranges.append((start, end))
    return ranges


def _read_vendor_vector(bits: BitReader) -> IdRanges:
    max_id = bits.number(16)
    if bits.flag():
        ids = IdRanges(_read_ranges(bits))
        if ids.max_id > max_id:
            raise TCStringError(f"vendor {ids.max_id} is above MaxVendorId {max_id}")
        return ids
    return IdRanges.of(_ids(bits.bits(max_id)))


def _moment(deciseconds: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=100 * deciseconds)


def decode(text: str) -> TCString:
    """Read a TC string; raise TCStringError for anything that is not a v2 TC string."""
    if not text or len(text) > MAX_LENGTH:
        raise TCStringError("not a TC string (empty or too long)")
    try:
        return _decode(text.split("."))
    except BitsError as exc:
        raise TCStringError(str(exc)) from None


def _decode(segments: list[str]) -> TCString:
    bits = BitReader(segments[0])
    version = bits.number(6)
    if version != 2:
        raise TCStringError(f"TC string version {version} is not supported (2 is)")
    fields: dict = {
        "version": version,
        "created": _moment(bits.number(36)),
        "last_updated": _moment(bits.number(36)),
        "cmp_id": bits.number(12),
        "cmp_version": bits.number(12),
        "consent_screen": bits.number(6),
        "consent_language": bits.letters(2),
        "vendor_list_version": bits.number(12),
        "policy_version": bits.number(6),
        "is_service_specific": bits.flag(),
        "use_non_standard_texts": bits.flag(),
        "special_feature_optins": _ids(bits.bits(12)),
        "purpose_consents": _ids(bits.bits(24)),
        "purpose_legitimate_interests": _ids(bits.bits(24)),
        "purpose_one_treatment": bits.flag(),
        "publisher_cc": bits.letters(2),
        "vendor_consents": _read_vendor_vector(bits),
        "vendor_legitimate_interests": _read_vendor_vector(bits),
        "disclosed_vendors": None,
    }
    restrictions: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for _ in range(bits.number(12)):
        key = (bits.number(6), bits.number(2))
        restrictions.setdefault(key, []).extend(_read_ranges(bits))
    fields["restrictions"] = tuple(
        PublisherRestriction(purpose, kind, IdRanges(ranges))
        for (purpose, kind), ranges in sorted(restrictions.items())
    )
    seen = {_CORE}
    for segment in segments[1:]:
        bits = BitReader(segment)
        kind = bits.number(3)
        if kind in seen:
            raise TCStringError(f"segment type {kind} appears twice")
        seen.add(kind)
        if kind == _DISCLOSED:
            fields["disclosed_vendors"] = _read_vendor_vector(bits)
        elif kind == _PUBLISHER:
            consents, interests = _ids(bits.bits(24)), _ids(bits.bits(24))
            count = bits.number(6)
            fields["publisher_tc"] = PublisherTC(
                consents, interests, bits.bits(count), bits.bits(count)
            )
        elif kind != _ALLOWED:  # AllowedVendors belonged to the retired global scope
            raise TCStringError(f"unknown segment type {kind}")
    return TCString(**fields)


# --- when to ask again ---------------------------------------------------------------------


def _months_later(moment: date, months: int) -> date:
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    for last_day in (31, 30, 29, 28):
        try:
            return date(year, month, min(moment.day, last_day))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def reask_reason(
    tc: TCString,
    *,
    today: date,
    policy_version: int,
    max_age_days: int | None = None,
) -> str | None:
    """Why the visitor must be asked again, or None while the string stands.

    - `policy`: the GVL's tcfPolicyVersion differs from the string's ("Global Vendor List
      and TCF Policy Updates": discard the string, ask again, migrate nothing);
    - `expired`: 13 months since LastUpdated (the TCF policies' "at least every 13 months"),
      or the site's own shorter consent lifetime;
    - `invalid`: not service-specific, no Disclosed Vendors segment (mandatory since v2.3),
      or dated in the future.
    """
    if tc.policy_version != policy_version:
        return "policy"
    if not tc.is_service_specific or tc.disclosed_vendors is None:
        return "invalid"
    updated = tc.last_updated.date()
    if updated > today:
        return "invalid"
    deadline = _months_later(updated, 13)
    if max_age_days is not None:
        deadline = min(deadline, updated + timedelta(days=max_age_days))
    if today >= deadline:
        return "expired"
    return None
