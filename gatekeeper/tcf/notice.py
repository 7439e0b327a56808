"""What the TCF notice templates show, in one language: layer 1 (how many vendors, the
purposes or the stacks that group them, special features) and the vendor list with each
vendor's legal bases and the right to object.

`notice_context(disclosure, language)` is plain data; `tcf_notice.html` (layer 1) and
`tcf_preferences.html` (purposes, special features and vendors, one checkbox each) render
it. Texts come from the GVL translation for the language, else English; `language` in the
result names the one used, which is the TC string's ConsentLanguage.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .choices import Choices
from .disclosure import Disclosure
from .gvl import Item, Stack, Texts, Vendor

__all__ = ["UI", "choose_stacks", "notice_context"]

# Words of the TCF forms that the GVL does not provide.
UI: dict[str, dict[str, str]] = {
    "title": {
        "en": "Your privacy choices",
        "de": "Ihre Datenschutz-Einstellungen",
        "fr": "Vos choix de confidentialité",
    },
    "intro": {
        "en": "We and our {count} partners store and access information on your device and "
        "process personal data, such as unique identifiers and browsing data, for the "
        "purposes below. You can accept, refuse or choose; change your mind at any time "
        "with the privacy choices link on every page.",
        "de": "Wir und unsere {count} Partner speichern und lesen Informationen auf Ihrem "
        "Gerät und verarbeiten personenbezogene Daten wie eindeutige Kennungen und "
        "Browsing-Daten für die folgenden Zwecke. Sie können zustimmen, ablehnen oder "
        "auswählen und Ihre Wahl jederzeit über den Link zu den Datenschutz-Einstellungen "
        "ändern.",
        "fr": "Nos {count} partenaires et nous-mêmes stockons et lisons des informations sur "
        "votre appareil et traitons des données personnelles, comme des identifiants uniques "
        "et des données de navigation, pour les finalités ci-dessous. Vous pouvez accepter, "
        "refuser ou choisir, et changer d'avis à tout moment via le lien de confidentialité.",
    },
    "legitimate_interest_note": {
        "en": "Some partners rely on their legitimate interest instead of your consent; you "
        "can object to that in the settings.",
        "de": "Einige Partner stützen sich auf ihr berechtigtes Interesse statt auf Ihre "
        "Einwilligung; dem können Sie in den Einstellungen widersprechen.",
        "fr": "Certains partenaires invoquent leur intérêt légitime plutôt que votre "
        "consentement ; vous pouvez vous y opposer dans les paramètres.",
    },
    "purposes": {"en": "Purposes", "de": "Zwecke", "fr": "Finalités"},
    "special_features": {
        "en": "Special features",
        "de": "Besondere Merkmale",
        "fr": "Fonctionnalités spéciales",
    },
    "special_purposes": {
        "en": "Special purposes (no choice: needed to run the service)",
        "de": "Besondere Zwecke (ohne Wahl: zum Betrieb nötig)",
        "fr": "Finalités spéciales (sans choix : nécessaires au service)",
    },
    "features": {"en": "Features", "de": "Merkmale", "fr": "Fonctionnalités"},
    "vendors": {"en": "Vendors", "de": "Anbieter", "fr": "Partenaires"},
    "all_vendors": {"en": "All vendors", "de": "Alle Anbieter", "fr": "Tous les partenaires"},
    "consent": {"en": "Consent", "de": "Einwilligung", "fr": "Consentement"},
    "legitimate_interest": {
        "en": "Legitimate interest (untick to object)",
        "de": "Berechtigtes Interesse (abwählen, um zu widersprechen)",
        "fr": "Intérêt légitime (décochez pour vous opposer)",
    },
    "privacy_policy": {
        "en": "Privacy policy",
        "de": "Datenschutzerklärung",
        "fr": "Politique de confidentialité",
    },
    "legitimate_interest_claim": {
        "en": "Legitimate interest statement",
        "de": "Erklärung zum berechtigten Interesse",
        "fr": "Déclaration d'intérêt légitime",
    },
    "retention": {
        "en": "Data kept for {days} days",
        "de": "Daten werden {days} Tage gespeichert",
        "fr": "Données conservées {days} jours",
    },
    "cookie_age": {
        "en": "Cookies last up to {days} days",
        "de": "Cookies bleiben bis zu {days} Tage",
        "fr": "Cookies conservés jusqu'à {days} jours",
    },
    "non_cookie": {
        "en": "Also uses other storage on your device",
        "de": "Nutzt auch anderen Speicher auf Ihrem Gerät",
        "fr": "Utilise aussi d'autres stockages sur votre appareil",
    },
    "storage_details": {
        "en": "Storage details",
        "de": "Details zur Speicherung",
        "fr": "Détails du stockage",
    },
    "other_categories": {
        "en": "Other cookies on this site",
        "de": "Weitere Cookies auf dieser Seite",
        "fr": "Autres cookies de ce site",
    },
    "accept_all": {"en": "Accept all", "de": "Alle akzeptieren", "fr": "Tout accepter"},
    "reject_all": {"en": "Reject all", "de": "Alle ablehnen", "fr": "Tout refuser"},
    "manage": {"en": "Manage choices", "de": "Auswahl verwalten", "fr": "Gérer mes choix"},
    "save": {"en": "Save choices", "de": "Auswahl speichern", "fr": "Enregistrer mes choix"},
    "back": {"en": "Back to the page", "de": "Zurück zur Seite", "fr": "Retour à la page"},
}


def _item(item: Item) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": item.name,
        "description": item.description,
        "illustrations": list(item.illustrations),
    }


def choose_stacks(
    stacks: Mapping[int, Stack], purposes: set[int], special_features: set[int]
) -> list[Stack]:
    """Stacks to show on layer 1 in place of the purposes they group.

    Greedy, as stacks are meant ("Stacks" in the TCF policies): take the stack that covers
    the most of what is still uncovered, using only stacks wholly within what the site
    asks for and never overlapping one already taken; a stack must cover at least two
    items to be worth showing.
    """
    chosen: list[Stack] = []
    covered: set[tuple[str, int]] = set()
    wanted = {("p", p) for p in purposes} | {("f", f) for f in special_features}
    while True:
        best, best_size = None, 1
        for stack in stacks.values():
            items = {("p", p) for p in stack.purposes} | {("f", f) for f in stack.special_features}
            if items <= wanted and not items & covered and len(items) > best_size:
                best, best_size = stack, len(items)
        if best is None:
            return chosen
        chosen.append(best)
        covered |= {("p", p) for p in best.purposes} | {("f", f) for f in best.special_features}


def _vendor(
    vendor: Vendor, disclosure: Disclosure, texts: Texts, language: str, choices: Choices | None
) -> dict[str, Any]:
    consent = disclosure.consent_purposes(vendor)
    interest = disclosure.interest_purposes(vendor)
    url = vendor.url(language)
    max_age = vendor.cookie_max_age_seconds
    return {
        "id": vendor.id,
        "name": vendor.name,
        "consent_purposes": [texts.purposes[p].name for p in sorted(consent)],
        "interest_purposes": [texts.purposes[p].name for p in sorted(interest)],
        "special_purposes": [
            texts.special_purposes[p].name
            for p in sorted(vendor.special_purposes)
            if p in texts.special_purposes
        ],
        "features": [
            texts.features[f].name for f in sorted(vendor.features) if f in texts.features
        ],
        "special_features": [
            texts.special_features[f].name
            for f in sorted(vendor.special_features & set(disclosure.special_features))
        ],
        "asks_consent": bool(consent),
        "can_object": bool(interest),
        "privacy_url": url.privacy,
        "legitimate_interest_url": url.legitimate_interest_claim if interest else None,
        "retention_days": vendor.retention_days,
        "cookie_days": max_age // 86400
        if vendor.uses_cookies and max_age and max_age > 0
        else None,
        "uses_non_cookie_access": vendor.uses_non_cookie_access,
        "storage_url": vendor.device_storage_disclosure_url,
        "consented": choices is not None and vendor.id in choices.vendor_consents,
        "objected": choices is not None and vendor.id in choices.vendor_objections,
    }


def notice_context(
    disclosure: Disclosure, language: str, choices: Choices | None = None
) -> dict[str, Any]:
    """Everything the TCF templates show, in `language` (else English). `choices`, when
    the visitor has decided before, ticks the boxes as they left them."""
    gvl = disclosure.gvl
    text_language = next((c for c in (language, language.split("-")[0]) if c in gvl.texts), "en")
    texts = gvl.texts[text_language]
    site_purposes = set(disclosure.purposes)
    stacks = choose_stacks(texts.stacks, site_purposes, set(disclosure.special_features))
    in_stacks = {p for s in stacks for p in s.purposes}
    features_in_stacks = {f for s in stacks for f in s.special_features}
    purposes = []
    for purpose in disclosure.purposes:
        entry = _item(texts.purposes[purpose])
        entry["legitimate_interest"] = purpose in disclosure.legitimate_interest
        entry["consented"] = choices is not None and purpose in choices.purpose_consents
        entry["objected"] = choices is not None and purpose in choices.purpose_objections
        entry["in_stack"] = purpose in in_stacks
        purposes.append(entry)
    special_features = []
    for feature in disclosure.special_features:
        entry = _item(texts.special_features[feature])
        entry["opted_in"] = choices is not None and feature in choices.special_features
        entry["in_stack"] = feature in features_in_stacks
        special_features.append(entry)
    vendors = [
        _vendor(v, disclosure, texts, text_language, choices) for v in disclosure.vendors.values()
    ]
    used_special = {p for v in disclosure.vendors.values() for p in v.special_purposes}
    used_features = {f for v in disclosure.vendors.values() for f in v.features}
    return {
        "language": text_language,
        "vendor_count": len(vendors),
        "stacks": [
            {
                "id": s.id,
                "name": s.name,
                "description": s.description,
                "purposes": [texts.purposes[p].name for p in s.purposes],
                "special_features": [texts.special_features[f].name for f in s.special_features],
            }
            for s in stacks
        ],
        "purposes": purposes,
        "special_features": special_features,
        "special_purposes": [
            _item(texts.special_purposes[p])
            for p in sorted(used_special & set(texts.special_purposes))
        ],
        "features": [_item(texts.features[f]) for f in sorted(used_features & set(texts.features))],
        "legitimate_interest": bool(disclosure.legitimate_interest),
        "vendors": vendors,
    }
