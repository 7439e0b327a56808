"""What a visitor's TC string allows, asked the way a vendor asks it: `visitor.tcf`.

`TcfConsent.allows(755, (1, 3, 4))` answers whether vendor 755 may process for purposes
1, 3 and 4, following the rules a vendor applies to a TC string ("What are publisher
restrictions?" and RestrictionType in the core string):

- per purpose, the legal basis is the one the vendor declared in the GVL, unless the
  purpose is flexible and a publisher restriction requires the other basis;
- a `not allowed` restriction forbids the purpose whatever the vendor declared, and a
  restriction that requires a basis the vendor cannot use forbids it too;
- on consent, both the purpose's consent bit and the vendor's consent bit must be set; on
  legitimate interest, both the purpose's and the vendor's LI bits (an objection clears
  them);
- a vendor the GVL does not list, or lists as deleted, is allowed nothing.

Declarations come from the vendor list in force, which is normally the one the string
names (gatekeeper asks again when the vendor list's policy version changes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .gvl import GVL, Vendor
from .string import (
    NOT_ALLOWED,
    REQUIRE_CONSENT,
    REQUIRE_LEGITIMATE_INTEREST,
    IdRanges,
    PublisherRestriction,
    TCString,
)

__all__ = ["CONSENT", "LEGITIMATE_INTEREST", "TcfConsent", "legal_basis"]

CONSENT, LEGITIMATE_INTEREST = "consent", "legitimate_interest"


def legal_basis(vendor: Vendor, purpose: int, restriction: int | None) -> str | None:
    """The basis `vendor` must rely on for `purpose`, or None when it may not process."""
    if restriction == NOT_ALLOWED:
        return None
    flexible = purpose in vendor.flexible_purposes
    if purpose in vendor.purposes:
        if restriction == REQUIRE_LEGITIMATE_INTEREST:
            return LEGITIMATE_INTEREST if flexible else None
        return CONSENT
    if purpose in vendor.legitimate_interest_purposes:
        if restriction == REQUIRE_CONSENT:
            return CONSENT if flexible else None
        return LEGITIMATE_INTEREST
    return None


@dataclass(frozen=True, slots=True)
class TcfConsent:
    purposes: frozenset[int] = frozenset()
    """Purposes consented to."""
    legitimate_interests: frozenset[int] = frozenset()
    """Purposes whose legitimate interest is established and not objected to."""
    special_features: frozenset[int] = frozenset()
    vendors: IdRanges = field(default_factory=IdRanges)
    """Vendors consented to."""
    vendor_legitimate_interests: IdRanges = field(default_factory=IdRanges)
    disclosed_vendors: IdRanges = field(default_factory=IdRanges)
    restrictions: tuple[PublisherRestriction, ...] = ()
    applies: bool = True
    """False outside the places where GDPR applies: TCF then restricts nothing."""
    declarations: Mapping[int, Vendor] = field(
        default_factory=lambda: MappingProxyType({}), repr=False, compare=False
    )
    tc_string: str = field(default="", repr=False)
    """The TC string itself ("" without one), for server-side ad requests (gdpr_consent)."""

    @classmethod
    def from_string(cls, tc: TCString, gvl: GVL, text: str = "") -> TcfConsent:
        return cls(
            tc_string=text,
            purposes=tc.purpose_consents,
            legitimate_interests=tc.purpose_legitimate_interests,
            special_features=tc.special_feature_optins,
            vendors=tc.vendor_consents,
            vendor_legitimate_interests=tc.vendor_legitimate_interests,
            disclosed_vendors=tc.disclosed_vendors or IdRanges(),
            restrictions=tc.restrictions,
            declarations=gvl.vendors,
        )

    @classmethod
    def undecided(cls, gvl: GVL) -> TcfConsent:
        """No valid TC string yet: nothing is allowed."""
        return cls(declarations=gvl.vendors)

    @classmethod
    def not_applicable(cls) -> TcfConsent:
        return cls(applies=False)

    def restriction(self, vendor: int, purpose: int) -> int | None:
        for restriction in self.restrictions:
            if restriction.purpose == purpose and vendor in restriction.vendors:
                return restriction.type
        return None

    def allows(self, vendor: int, purposes: tuple[int, ...]) -> bool:
        """May `vendor` process for every one of `purposes`? (No purposes: was it shown?)"""
        if not self.applies:
            return True
        declared = self.declarations.get(vendor)
        if declared is None or declared.deleted is not None:
            return False
        if not purposes:
            return vendor in self.disclosed_vendors
        for purpose in purposes:
            basis = legal_basis(declared, purpose, self.restriction(vendor, purpose))
            if basis == CONSENT:
                if purpose not in self.purposes or vendor not in self.vendors:
                    return False
            elif basis == LEGITIMATE_INTEREST:
                if (
                    purpose not in self.legitimate_interests
                    or vendor not in self.vendor_legitimate_interests
                ):
                    return False
            else:
                return False
        return True

    def special_feature(self, feature: int) -> bool:
        """Opted in to a special feature (1 precise geolocation, 2 device scanning)?"""
        return not self.applies or feature in self.special_features
