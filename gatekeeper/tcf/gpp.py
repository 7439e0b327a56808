"""The IAB Global Privacy Platform string: the header, the `tcfeuv2` section (the TC
string itself) and the `usnat` section (US states' opt-outs), both ways.

IAB Tech Lab, "Global Privacy Platform String" v1 (Header Encoding: Type 3, Version 1,
the Section IDs as a Fibonacci range, in the order the sections follow) and "MSPA US
National Section" v2 (core segment of 2-bit fields, optional GPC sub-section). Sections
are joined by "~"; a section's own segments by ".".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..policy.sections.tcf import UsNatSettings
from .bits import BitReader, BitsError, BitWriter

__all__ = [
    "SECTIONS",
    "GppError",
    "GppString",
    "UsNat",
    "decode_gpp",
    "decode_usnat",
    "encode_gpp",
    "encode_usnat",
    "usnat_for",
]

SECTIONS = {"tcfeuv2": 2, "usnat": 7}
_NAMES = {number: name for name, number in SECTIONS.items()}
# usnat values: 0 not applicable, 1 yes / opted out, 2 no / did not opt out.
NOT_APPLICABLE, YES, NO = 0, 1, 2


class GppError(ValueError):
    """Not a GPP string (or section) this module can read."""


@dataclass(frozen=True, slots=True)
class GppString:
    section_ids: tuple[int, ...]
    sections: Mapping[int, str]
    """Section id -> its encoded text, for ids in `section_ids`."""

    def section(self, name: str) -> str | None:
        return self.sections.get(SECTIONS[name])


def _range(out: BitWriter, ids: list[int]) -> None:
    """Range (Fibonacci): groups of consecutive ids; each start is an offset from the last
    id written, a group's length an offset from its start ("Range (Fibonacci)")."""
    groups: list[list[int]] = []
    for value in ids:
        if groups and value == groups[-1][-1] + 1:
            groups[-1].append(value)
        else:
            groups.append([value])
    out.number(len(groups), 12)
    last = 0
    for group in groups:
        out.flag(len(group) > 1)
        out.fibonacci(group[0] - last)
        if len(group) > 1:
            out.fibonacci(group[-1] - group[0])
        last = group[-1]


def encode_gpp(sections: Mapping[str, str]) -> str:
    """`{"tcfeuv2": tc_string, "usnat": usnat}` -> the GPP string, sections by id."""
    for name, text in sections.items():
        if name not in SECTIONS:
            raise GppError(f"unknown GPP section {name!r}")
        if not text or "~" in text:
            raise GppError(f"section {name} must be a non-empty string without '~'")
    ordered = sorted(sections, key=SECTIONS.__getitem__)
    header = BitWriter()
    header.number(3, 6)
    header.number(1, 6)
    _range(header, [SECTIONS[name] for name in ordered])
    return "~".join([header.base64(gpp=True), *(sections[name] for name in ordered)])


def decode_gpp(text: str) -> GppString:
    parts = text.split("~")
    try:
        header = BitReader(parts[0])
        if header.number(6) != 3:
            raise GppError("the GPP header must start with type 3")
        version = header.number(6)
        if version != 1:
            raise GppError(f"GPP version {version} is not supported (1 is)")
        ids: list[int] = []
        last = 0
        for _ in range(header.number(12)):
            is_group = header.flag()
            start = last + header.fibonacci()
            end = start + header.fibonacci() if is_group else start
            ids.extend(range(start, end + 1))
            last = end
    except BitsError as exc:
        raise GppError(f"GPP header: {exc}") from None
    if len(ids) != len(parts) - 1:
        raise GppError(f"the header names {len(ids)} sections but {len(parts) - 1} follow")
    if len(set(ids)) != len(ids):
        raise GppError("a section id appears twice in the header")
    return GppString(tuple(ids), dict(zip(ids, parts[1:], strict=True)))


# --- usnat --------------------------------------------------------------------------------

_NOTICES = (
    "sharing_notice",
    "sale_opt_out_notice",
    "sharing_opt_out_notice",
    "targeted_advertising_opt_out_notice",
    "sensitive_data_processing_opt_out_notice",
    "sensitive_data_limit_use_notice",
    "sale_opt_out",
    "sharing_opt_out",
    "targeted_advertising_opt_out",
)


@dataclass(frozen=True, slots=True)
class UsNat:
    """The usnat core segment (version 2) and GPC sub-section, fields as the spec names
    them; 0 not applicable, 1 yes (or opted out), 2 no (or did not opt out)."""

    sharing_notice: int = NOT_APPLICABLE
    sale_opt_out_notice: int = NOT_APPLICABLE
    sharing_opt_out_notice: int = NOT_APPLICABLE
    targeted_advertising_opt_out_notice: int = NOT_APPLICABLE
    sensitive_data_processing_opt_out_notice: int = NOT_APPLICABLE
    sensitive_data_limit_use_notice: int = NOT_APPLICABLE
    sale_opt_out: int = NOT_APPLICABLE
    sharing_opt_out: int = NOT_APPLICABLE
    targeted_advertising_opt_out: int = NOT_APPLICABLE
    sensitive_data_processing: tuple[int, ...] = (0,) * 16
    known_child_sensitive_data_consents: tuple[int, ...] = (0,) * 3
    personal_data_consents: int = NOT_APPLICABLE
    mspa_covered_transaction: int = NO
    mspa_opt_out_option_mode: int = NOT_APPLICABLE
    mspa_service_provider_mode: int = NOT_APPLICABLE
    gpc: bool | None = None
    """The GPC sub-section's value; None leaves the sub-section out."""
    version: int = 2


def encode_usnat(section: UsNat) -> str:
    if section.version != 2:
        raise GppError("only usnat version 2 can be written")
    if len(section.sensitive_data_processing) != 16:
        raise GppError("usnat v2 has 16 SensitiveDataProcessing entries")
    if len(section.known_child_sensitive_data_consents) != 3:
        raise GppError("usnat v2 has 3 KnownChildSensitiveDataConsents entries")
    if section.mspa_covered_transaction not in (YES, NO):
        raise GppError("MspaCoveredTransaction is 1 (yes) or 2 (no)")
    values = [getattr(section, name) for name in _NOTICES]
    values += [*section.sensitive_data_processing, *section.known_child_sensitive_data_consents]
    values += [
        section.personal_data_consents,
        section.mspa_covered_transaction,
        section.mspa_opt_out_option_mode,
        section.mspa_service_provider_mode,
    ]
    if any(v not in (0, 1, 2) for v in values):
        raise GppError("usnat fields take 0, 1 or 2")
    core = BitWriter()
    core.number(2, 6)
    for value in values:
        core.number(value, 2)
    segments = [core.base64(gpp=True)]
    if section.gpc is not None:
        gpc = BitWriter()
        gpc.number(1, 2)  # SubsectionType: GPC
        gpc.flag(section.gpc)
        segments.append(gpc.base64(gpp=True))
    return ".".join(segments)


def decode_usnat(text: str) -> UsNat:
    parts = text.split(".")
    try:
        core = BitReader(parts[0])
        version = core.number(6)
        if version not in (1, 2):
            raise GppError(f"usnat version {version} is not supported (1 and 2 are)")
        notices = {name: core.number(2) for name in _NOTICES}
        sensitive = tuple(core.number(2) for _ in range(12 if version == 1 else 16))
        child = tuple(core.number(2) for _ in range(2 if version == 1 else 3))
        rest = [core.number(2) for _ in range(4)]
        gpc = None
        for segment in parts[1:]:
            sub = BitReader(segment)
            if sub.number(2) != 1:
                raise GppError("unknown usnat sub-section")
            gpc = sub.flag()
    except BitsError as exc:
        raise GppError(f"usnat: {exc}") from None
    return UsNat(
        **notices,
        sensitive_data_processing=sensitive,
        known_child_sensitive_data_consents=child,
        personal_data_consents=rest[0],
        mspa_covered_transaction=rest[1],
        mspa_opt_out_option_mode=rest[2],
        mspa_service_provider_mode=rest[3],
        gpc=gpc,
        version=version,
    )


def usnat_for(
    settings: UsNatSettings, refused: Iterable[str], *, gpc: bool, honour_gpc: bool
) -> UsNat:
    """The usnat section for a visitor who refused the consent categories `refused`.

    An opt-out is applicable when the policy names categories for it; the visitor opted
    out when one of those is refused, or when they send GPC and the site honours it (a
    binding opt-out of sale and sharing in California and Colorado). The GPC sub-section
    always carries the browser's signal.
    """
    refused = set(refused)
    fields: dict[str, Any] = {}
    for kind in ("sale", "sharing", "targeted_advertising"):
        categories = getattr(settings, kind)
        if not categories:
            continue
        fields[f"{kind}_opt_out_notice"] = YES
        opted_out = (gpc and honour_gpc) or bool(refused & set(categories))
        fields[f"{kind}_opt_out"] = YES if opted_out else NO
    if fields:
        fields["sharing_notice"] = YES
    covered = settings.mspa_covered_transaction
    return UsNat(
        **fields,
        mspa_covered_transaction=YES if covered else NO,
        mspa_opt_out_option_mode=(YES if settings.mspa_mode == "opt_out_option" else NO)
        if covered
        else NOT_APPLICABLE,
        mspa_service_provider_mode=(YES if settings.mspa_mode == "service_provider" else NO)
        if covered
        else NOT_APPLICABLE,
        gpc=gpc,
    )


def section_name(section_id: int) -> str | None:
    return _NAMES.get(section_id)
