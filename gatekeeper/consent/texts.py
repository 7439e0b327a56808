"""The words of the consent banner as a visitor reads them, and their hash.

The exact texts a visitor is shown are hashed per language, and the hash goes into every
consent record, so an auditor can match a decision with what was on the screen (the
texts themselves are archived in the log once per revision and language).
"""

from __future__ import annotations

from typing import Any

from ..audit import texts_hash
from ..html.render import localise
from ..policy import Policy


def shown_texts(policy: Policy, language: str) -> dict[str, str]:
    """The words of the banner in one language."""
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
        "acknowledge": t(banner.acknowledge_label),
        "gpc_honoured": t(banner.gpc_honoured_text),
        "privacy_url": banner.privacy_url,
    }
    for name, category in policy.consent.categories.items():
        texts[f"category.{name}.label"] = t(category.label)
        texts[f"category.{name}.description"] = t(category.description)
    return texts


class ShownTexts:
    """Texts and their hashes for every language of the policy, computed once."""

    def __init__(self, policy: Policy) -> None:
        self.texts = {lang: shown_texts(policy, lang) for lang in policy.languages.available}
        self.hashes = {lang: texts_hash(texts) for lang, texts in self.texts.items()}
