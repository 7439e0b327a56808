"""The policy's `tcf:` section applied to one vendor list, ready for the request path.

An `Edition` is built once per policy revision and vendor list (a weekly `tcf update`
makes a new one): the disclosure, the notice data and the archived texts per language,
and the reading of visitors' TC strings, remembered per cookie value. Pure: no I/O, no
clock (callers pass the day).

A TC string is not signed, so the `euconsent-v2` cookie alone proves nothing: anyone can
write one. The signed consent cookie carries `binding(tc_string)` of the string minted
with the decision, and a string counts only with its binding, so a forged or edited
string is no consent, like a forged consent cookie.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from types import MappingProxyType
from typing import Any

from ..memo import Memo
from ..policy.sections.tcf import TcfSettings
from .choices import Choices, choices_from_string
from .consent import TcfConsent
from .disclosure import Disclosure, build_disclosure
from .gvl import GVL
from .notice import UI, notice_context
from .string import TCString, TCStringError, decode, reask_reason

__all__ = ["Edition", "Reading", "binding", "notice_texts"]

_EPOCH = date(1970, 1, 1)

Reading = tuple[TCString, TcfConsent]


def binding(tc_string: str) -> str:
    """What the signed consent cookie keeps of the TC string minted with the decision."""
    digest = hashlib.sha256(b"gatekeeper tcf\x00" + tc_string.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode("ascii")


def _ui(key: str, language: str) -> str:
    words = UI[key]
    return words.get(language) or words.get(language.split("-")[0]) or words["en"]


def notice_texts(disclosure: Disclosure, context: Mapping[str, Any]) -> dict[str, str]:
    """The words and choices a visitor is shown by the TCF notice and its vendor list, as
    the consent log archives them (one hash per vendor list version and language)."""
    language = context["language"]
    texts = {
        "tcf.cmp": f"{disclosure.cmp_id}/{disclosure.cmp_version}",
        "tcf.vendor_list_version": str(disclosure.gvl.vendor_list_version),
        "tcf.policy_version": str(disclosure.gvl.policy_version),
        "tcf.language": language,
        "tcf.title": _ui("title", language),
        "tcf.intro": _ui("intro", language).replace("{count}", str(context["vendor_count"])),
        "tcf.vendors": ",".join(str(v) for v in disclosure.vendors),
        "tcf.legitimate_interest": ",".join(str(p) for p in sorted(disclosure.legitimate_interest)),
    }
    if context["legitimate_interest"]:
        texts["tcf.legitimate_interest_note"] = _ui("legitimate_interest_note", language)
    for stack in context["stacks"]:
        texts[f"tcf.stack.{stack['id']}"] = f"{stack['name']}: {stack['description']}"
    for kind in ("purposes", "special_features", "special_purposes", "features"):
        for item in context[kind]:
            texts[f"tcf.{kind}.{item['id']}"] = f"{item['name']}: {item['description']}"
    for restriction in disclosure.restrictions:
        key = f"tcf.restriction.{restriction.purpose}.{restriction.type}"
        texts[key] = repr(restriction.vendors)
    return texts


class Edition:
    """One vendor list under one policy: built once, read on every TCF request."""

    def __init__(
        self,
        tcf: TcfSettings,
        gvl: GVL,
        languages: Iterable[str],
        *,
        max_age_days: int | None = None,
    ) -> None:
        self.gvl = gvl
        self.disclosure = build_disclosure(tcf, gvl)
        self.max_age_days = max_age_days
        self.contexts: Mapping[str, Mapping[str, Any]] = MappingProxyType(
            {language: notice_context(self.disclosure, language) for language in languages}
        )
        self.texts: Mapping[str, dict[str, str]] = MappingProxyType(
            {
                language: notice_texts(self.disclosure, context)
                for language, context in self.contexts.items()
            }
        )
        self.undecided = TcfConsent.undecided(gvl)
        # (cookie value, binding, day) -> the string and what it allows, or None.
        self._readings: Memo[tuple[str, str, int], Reading | None] = Memo(self._read, 4096)

    def context(self, language: str) -> Mapping[str, Any]:
        return self.contexts.get(language) or notice_context(self.disclosure, language)

    def consent_language(self, language: str) -> str:
        """The language the notice is shown in (the TC string's ConsentLanguage)."""
        return str(self.context(language)["language"])

    def reading(self, value: str, bound: str, day: int) -> Reading | None:
        """The visitor's TC string and what it allows, or None when it does not count:
        not bound to their signed decision, unreadable, another CMP's, or due to be asked
        again (`reask_reason`). `day` is days since the epoch (UTC)."""
        return self._readings[(value, bound, day)]

    def _read(self, key: tuple[str, str, int]) -> Reading | None:
        value, bound, day = key
        if not value.isascii() or binding(value) != bound:
            return None
        try:
            tc = decode(value)
        except TCStringError:
            return None
        if tc.cmp_id != self.disclosure.cmp_id:
            return None
        reason = reask_reason(
            tc,
            today=_EPOCH + timedelta(days=day),
            policy_version=self.gvl.policy_version,
            max_age_days=self.max_age_days,
        )
        if reason is not None:
            return None
        return tc, TcfConsent.from_string(tc, self.gvl, value)

    def choices(self, tc: TCString | None) -> Choices | None:
        return choices_from_string(tc, self.disclosure) if tc is not None else None
