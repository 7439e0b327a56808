"""What this site's CMP discloses: the policy's `tcf:` section applied to one vendor list.

Built once per policy and GVL; the notices, the TC strings and `TcfConsent` all read it.
Ids the policy names that the vendor list does not have (a vendor deleted since the
policy was written, say) are left out and reported in `warnings` rather than failing:
a weekly vendor list update must not take a site down.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ..policy.sections.tcf import TcfSettings
from .consent import CONSENT, LEGITIMATE_INTEREST, legal_basis
from .gvl import GVL, Vendor
from .string import (
    NOT_ALLOWED,
    REQUIRE_CONSENT,
    REQUIRE_LEGITIMATE_INTEREST,
    IdRanges,
    PublisherRestriction,
)

__all__ = ["Disclosure", "build_disclosure"]

_TYPES = {
    "not_allowed": NOT_ALLOWED,
    "require_consent": REQUIRE_CONSENT,
    "require_legitimate_interest": REQUIRE_LEGITIMATE_INTEREST,
}


@dataclass(frozen=True, slots=True)
class Disclosure:
    cmp_id: int
    cmp_version: int
    publisher_cc: str
    gvl: GVL
    purposes: tuple[int, ...]
    """Purposes shown and asked for, in id order."""
    legitimate_interest: frozenset[int]
    """Purposes the site lets rest on legitimate interest (visitors may object)."""
    special_features: tuple[int, ...]
    vendors: Mapping[int, Vendor]
    """The vendors disclosed to every visitor, by id."""
    restrictions: tuple[PublisherRestriction, ...]
    publisher_purposes: frozenset[int]
    categories: Mapping[str, tuple[int, ...]]
    warnings: tuple[str, ...] = ()

    def restriction(self, vendor: int, purpose: int) -> int | None:
        for restriction in self.restrictions:
            if restriction.purpose == purpose and vendor in restriction.vendors:
                return restriction.type
        return None

    def consent_purposes(self, vendor: Vendor) -> frozenset[int]:
        """The site's purposes this vendor needs the visitor's consent for."""
        return frozenset(
            p
            for p in self.purposes
            if legal_basis(vendor, p, self.restriction(vendor.id, p)) == CONSENT
        )

    def interest_purposes(self, vendor: Vendor) -> frozenset[int]:
        """The site's legitimate-interest purposes this vendor may use on that basis."""
        return frozenset(
            p
            for p in self.legitimate_interest
            if legal_basis(vendor, p, self.restriction(vendor.id, p)) == LEGITIMATE_INTEREST
        )


def build_disclosure(tcf: TcfSettings, gvl: GVL) -> Disclosure:
    if tcf.cmp_id is None or tcf.publisher_country is None:
        raise ValueError("TCF is off: the policy has no tcf.cmp_id")
    texts = gvl.texts["en"]
    warnings: list[str] = []
    purposes = tuple(p for p in sorted(tcf.purposes) if p in texts.purposes)
    for purpose in sorted(set(tcf.purposes) - set(purposes)):
        warnings.append(f"tcf.purposes: {purpose} is not in vendor list {gvl.vendor_list_version}")
    special_features = tuple(f for f in sorted(tcf.special_features) if f in texts.special_features)
    for feature in sorted(set(tcf.special_features) - set(special_features)):
        warnings.append(
            f"tcf.special_features: {feature} is not in vendor list {gvl.vendor_list_version}"
        )
    active = {v.id: v for v in gvl.active_vendors()}
    if tcf.vendors == "all":
        vendors = active
    else:
        vendors = {i: active[i] for i in sorted(tcf.vendors) if i in active}
        for vendor in sorted(set(tcf.vendors) - set(vendors)):
            state = "deleted from" if vendor in gvl.vendors else "not in"
            warnings.append(
                f"tcf.vendors: {vendor} is {state} vendor list {gvl.vendor_list_version}"
            )
    restrictions = []
    for rule in tcf.restrictions:
        if rule.vendors == "all":
            # A range may span ids that are not selected ("EndVendorId": contiguous ranges
            # may cover gaps): restricting a vendor with no consent changes nothing.
            ids = IdRanges([(min(vendors), max(vendors))]) if vendors else IdRanges()
        else:
            ids = IdRanges.of(rule.vendors)
        if ids:
            restrictions.append(PublisherRestriction(rule.purpose, _TYPES[rule.type], ids))
    return Disclosure(
        cmp_id=tcf.cmp_id,
        cmp_version=tcf.cmp_version,
        publisher_cc=tcf.publisher_country,
        gvl=gvl,
        purposes=purposes,
        legitimate_interest=frozenset(tcf.legitimate_interest) & set(purposes),
        special_features=special_features,
        vendors=MappingProxyType(vendors),
        restrictions=tuple(restrictions),
        publisher_purposes=frozenset(tcf.publisher_purposes) & set(purposes),
        categories=MappingProxyType(dict(tcf.categories)),
        warnings=tuple(warnings),
    )
