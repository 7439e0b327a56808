"""The consent banner, the persistent way back to the choices, and Consent Mode defaults.

Everything is rendered once per language and mode; a request picks bytes. The exact
texts a visitor is shown are hashed per language, and the hash goes into every consent
record, so an auditor can match a decision with what was on the screen.
"""

from __future__ import annotations

import json
from typing import Any

from markupsafe import Markup

from ..audit import texts_hash
from ..html.render import Renderer, localise
from ..notices import NEXT_QUERY_SLOT, NEXT_SLOT, UI, Parts
from ..policy import Policy
from ..visitor import Visitor
from .modes import NOTICE, OPT_IN, OPT_OUT
from .state import Consent


def shown_texts(policy: Policy, language: str) -> dict[str, str]:
    """The words of the banner in one language, as the visitor reads them."""
    banner = policy.consent.banner
    default = policy.languages.default

    def t(text: Any) -> str:
        return localise(text, language, default)

    texts = {
        "title": t(banner.title),
        "text": t(banner.text),
        "notice_text": t(banner.notice_text),
        "accept": t(banner.accept_label),
        "reject": t(banner.reject_label),
        "customise": t(banner.customise_label),
        "save": t(banner.save_label),
        "do_not_sell": t(banner.do_not_sell_label),
        "privacy_url": banner.privacy_url,
    }
    for name, category in policy.consent.categories.items():
        texts[f"category.{name}.label"] = t(category.label)
        texts[f"category.{name}.description"] = t(category.description)
    return texts


def consent_mode_keys(policy: Policy) -> dict[str, list[str]]:
    """Consent Mode key -> the categories that grant it."""
    keys: dict[str, list[str]] = {}
    for name, category in policy.consent.categories.items():
        for key in category.consent_mode:
            keys.setdefault(key, []).append(name)
    return keys


def consent_mode_state(keys: dict[str, list[str]], consent: Consent) -> dict[str, str]:
    return {
        key: "granted" if any(consent.allows(c) for c in categories) else "denied"
        for key, categories in sorted(keys.items())
    }


class Banner:
    """The consent notice source: first layer until a decision, then the reopen link."""

    def __init__(self, policy: Policy, renderer: Renderer) -> None:
        banner = policy.consent.banner
        optional = {n: c for n, c in policy.consent.categories.items() if not c.required}
        self.keys = consent_mode_keys(policy)
        self.texts = {lang: shown_texts(policy, lang) for lang in policy.languages.available}
        self.hashes = {lang: texts_hash(texts) for lang, texts in self.texts.items()}
        self.banners: dict[tuple[str, str], bytes] = {}
        self.reopen: dict[tuple[str, str], bytes] = {}
        for language in policy.languages.available:
            for mode in (OPT_IN, OPT_OUT, NOTICE):
                label = banner.do_not_sell_label if mode == OPT_OUT else banner.preferences_label
                context = {
                    "prefix": policy.prefix,
                    "next_slot": NEXT_SLOT,
                    "next_query_slot": NEXT_QUERY_SLOT,
                    "banner": banner,
                    "categories": policy.consent.categories,
                    "optional": optional,
                    "mode": mode,
                    "ui": UI,
                    "reopen_label": label,
                }
                self.banners[(language, mode)] = renderer.render(
                    "consent_banner.html", language, **context
                ).encode()
                self.reopen[(language, mode)] = renderer.render(
                    "consent_reopen.html", language, label=label, **context
                ).encode()
        # The defaults script depends only on which keys are granted and whether the visitor
        # decided: a handful of variants, each rendered once.
        self._consent_mode = renderer.env.get_template("consent_mode.html")
        self._mode_scripts: dict[tuple[tuple[str, ...], bool], bytes] = {}

    def _consent_mode_script(self, consent: Consent) -> bytes:
        defaults = consent_mode_state(self.keys, consent)
        key = (tuple(defaults.values()), consent.decided)
        script = self._mode_scripts.get(key)
        if script is None:
            data: dict[str, object] = dict(defaults)
            if not consent.decided:
                data["wait_for_update"] = 500
            # JSON in a script element: escape "<" so no value can close the element.
            text = json.dumps(data, sort_keys=True).replace("<", "\\u003c")
            script = self._consent_mode.render(defaults=Markup(text)).encode()
            self._mode_scripts[key] = script
        return script

    def parts(self, scope: dict[str, Any], visitor: Visitor) -> Parts | None:
        consent = visitor.consent
        if not isinstance(consent, Consent):
            return None
        head = self._consent_mode_script(consent) if self.keys else b""
        key = (visitor.language, consent.mode)
        # Opt-out regions get no first layer: everything runs until refused, and the
        # "Do not sell or share" link is always there.
        if consent.decided or consent.mode == OPT_OUT:
            return Parts(head=head, body=self.reopen[key])
        return Parts(head=head, body=self.banners[key])
