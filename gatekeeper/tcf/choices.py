"""From the fields a server-rendered TCF form posts to the visitor's choices and TC string.

The forms (templates tcf_notice.html and tcf_preferences.html) work without JavaScript;
this module is the only place that reads what they post:

    action                      accept_all | reject_all | save
    layer                       notice | preferences (recorded as ConsentScreen 1 or 2)
    purpose=ID ...              purposes consented to (save)
    legitimate_interest=ID ...  purposes whose legitimate interest the visitor keeps; a
                                purpose the site rests on legitimate interest and that is
                                not posted is objected to (save)
    special_feature=ID ...      special features opted in to (save)
    vendor=ID|all ...           vendors consented to (save)
    vendor_legitimate_interest=ID|all ...   vendors whose legitimate interest the visitor
                                keeps; an unposted vendor with one is objected to (save)

Checkboxes for consent start unticked (no pre-ticked boxes); the legitimate-interest ones
start ticked, since legitimate interest needs no consent but must be open to objection,
and an unticked box is simply not posted. "Reject all" refuses every consent and objects
to every legitimate interest: everything a visitor can refuse, refused in one click.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from .disclosure import Disclosure
from .string import IdRanges, PublisherTC, TCString, day

__all__ = [
    "ChoiceError",
    "Choices",
    "accept_all",
    "choices_from_form",
    "choices_from_string",
    "reject_all",
    "tc_string",
]

SCREENS = {"notice": 1, "preferences": 2}


class ChoiceError(ValueError):
    """The form cannot be read (answer 400 with the message)."""


@dataclass(frozen=True, slots=True)
class Choices:
    purpose_consents: frozenset[int] = frozenset()
    purpose_objections: frozenset[int] = frozenset()
    special_features: frozenset[int] = frozenset()
    vendor_consents: frozenset[int] = frozenset()
    vendor_objections: frozenset[int] = frozenset()
    screen: int = 1

    def purpose_allowed(self, purpose: int, disclosure: Disclosure) -> bool:
        """Consented to, or resting on a legitimate interest not objected to."""
        if purpose in self.purpose_consents:
            return True
        return purpose in disclosure.legitimate_interest and purpose not in self.purpose_objections

    def categories(self, disclosure: Disclosure) -> frozenset[str]:
        """Consent categories accepted: those whose every mapped purpose is allowed."""
        return frozenset(
            name
            for name, purposes in disclosure.categories.items()
            if all(self.purpose_allowed(p, disclosure) for p in purposes)
        )


def accept_all(disclosure: Disclosure, screen: int = 1) -> Choices:
    return Choices(
        purpose_consents=frozenset(disclosure.purposes),
        special_features=frozenset(disclosure.special_features),
        vendor_consents=frozenset(disclosure.vendors),
        screen=screen,
    )


def reject_all(disclosure: Disclosure, screen: int = 1) -> Choices:
    return Choices(
        purpose_objections=disclosure.legitimate_interest,
        vendor_objections=frozenset(
            v.id for v in disclosure.vendors.values() if disclosure.interest_purposes(v)
        ),
        screen=screen,
    )


def _ids(form: Mapping[str, Sequence[str]], name: str, allowed: Sequence[int]) -> frozenset[int]:
    known = frozenset(allowed)
    out: set[int] = set()
    for raw in form.get(name, ()):
        value = raw.strip()
        if value == "all" and name.startswith("vendor"):
            out |= known
            continue
        if not value.isdigit() or len(value) > 5:
            raise ChoiceError(f"{name}: {raw!r} is not an id")
        out.add(int(value))
    # An id the site no longer discloses (a form rendered before a vendor list update)
    # is dropped, not an error.
    return frozenset(out & known)


def choices_from_form(form: Mapping[str, Sequence[str]], disclosure: Disclosure) -> Choices:
    """The visitor's choices; raises ChoiceError for a form no TCF page would post."""
    actions = form.get("action", ())
    if len(actions) != 1 or actions[0] not in ("accept_all", "reject_all", "save"):
        raise ChoiceError("action must be one of accept_all, reject_all, save")
    layers = form.get("layer", ("notice",))
    screen = SCREENS.get(layers[0] if layers else "", 0)
    if not screen:
        raise ChoiceError(f"layer must be one of {', '.join(SCREENS)}")
    if actions[0] == "accept_all":
        return accept_all(disclosure, screen)
    if actions[0] == "reject_all":
        return reject_all(disclosure, screen)
    interest_vendors = [
        v.id for v in disclosure.vendors.values() if disclosure.interest_purposes(v)
    ]
    kept_purposes = _ids(form, "legitimate_interest", tuple(disclosure.legitimate_interest))
    kept_vendors = _ids(form, "vendor_legitimate_interest", interest_vendors)
    return Choices(
        purpose_consents=_ids(form, "purpose", disclosure.purposes),
        purpose_objections=disclosure.legitimate_interest - kept_purposes,
        special_features=_ids(form, "special_feature", disclosure.special_features),
        vendor_consents=_ids(form, "vendor", tuple(disclosure.vendors)),
        vendor_objections=frozenset(interest_vendors) - kept_vendors,
        screen=screen,
    )


def tc_string(choices: Choices, disclosure: Disclosure, *, today: date, language: str) -> TCString:
    """The TC string recording `choices` ("Creating a TC String"); encode it with
    `string.encode`. Created and LastUpdated are both `today` (day resolution)."""
    consent_vendors = []
    interest_vendors = []
    for vendor in disclosure.vendors.values():
        if vendor.id in choices.vendor_consents and disclosure.consent_purposes(vendor):
            consent_vendors.append(vendor.id)
        # "Set the bit ... to 1 if the CMP has established transparency for that vendor's
        # legitimate interest disclosures for one or more Purposes (including Special
        # Purposes)"; an objection clears it, but special purposes cannot be objected to.
        interest = disclosure.interest_purposes(vendor)
        if interest and vendor.id not in choices.vendor_objections:
            interest_vendors.append(vendor.id)
        elif vendor.special_purposes and not interest:
            interest_vendors.append(vendor.id)
    publisher = None
    if disclosure.publisher_purposes:
        publisher = PublisherTC(
            consents=choices.purpose_consents & disclosure.publisher_purposes,
            legitimate_interests=(disclosure.publisher_purposes & disclosure.legitimate_interest)
            - choices.purpose_objections,
        )
    moment = day(today)
    return TCString(
        created=moment,
        last_updated=moment,
        cmp_id=disclosure.cmp_id,
        cmp_version=disclosure.cmp_version,
        consent_screen=choices.screen,
        consent_language=language.split("-")[0][:2].upper(),
        vendor_list_version=disclosure.gvl.vendor_list_version,
        policy_version=disclosure.gvl.policy_version,
        publisher_cc=disclosure.publisher_cc,
        purpose_consents=choices.purpose_consents & set(disclosure.purposes),
        purpose_legitimate_interests=disclosure.legitimate_interest - choices.purpose_objections,
        special_feature_optins=choices.special_features & set(disclosure.special_features),
        vendor_consents=IdRanges.of(consent_vendors),
        vendor_legitimate_interests=IdRanges.of(interest_vendors),
        restrictions=disclosure.restrictions,
        disclosed_vendors=IdRanges.of(disclosure.vendors),
        publisher_tc=publisher,
    )


def choices_from_string(tc: TCString, disclosure: Disclosure) -> Choices:
    """The choices a TC string records, as the forms show them (to tick the boxes)."""
    return Choices(
        purpose_consents=tc.purpose_consents & set(disclosure.purposes),
        purpose_objections=disclosure.legitimate_interest - tc.purpose_legitimate_interests,
        special_features=tc.special_feature_optins & set(disclosure.special_features),
        vendor_consents=frozenset(v for v in disclosure.vendors if v in tc.vendor_consents),
        vendor_objections=frozenset(
            v.id
            for v in disclosure.vendors.values()
            if disclosure.interest_purposes(v) and v.id not in tc.vendor_legitimate_interests
        ),
        screen=tc.consent_screen,
    )
