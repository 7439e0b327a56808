"""The consent banner where the policy turns TCF on.

Where TCF applies and the visitor has no TC string that counts, the TCF notice is the
banner's first layer (rendered once per language and vendor list, working without
JavaScript); everywhere else the consent banner answers as usual. Every page also gets,
first in its <head>, the CMP API: the visitor's state element and `tcf.js`, so
`__tcfapi` and `__gpp` answer before any ad script runs (`gdprApplies: false` outside
`tcf.places`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ..html.fragment import TCF_STATE_SLOT, Fragment
from ..html.render import Renderer
from ..policy import Policy
from ..tcf.notice import UI
from ..visitor import Visitor
from . import Page, Parts
from .banner import ConsentBanner

if TYPE_CHECKING:
    from ..tcf.edition import Edition
    from ..tcf.page import PageState


class TcfPages(Protocol):
    """What the notice needs of the consent feature's TCF flow (`consent.tcf_flow.TcfFlow`),
    so notices stay below the features: the vendor list's edition in force, and the
    visitor's TCF state for this page."""

    @property
    def current(self) -> Edition: ...

    def page_state(self, visitor: Visitor) -> PageState: ...

    def state_bytes(self, state: PageState) -> bytes: ...


class TcfNotice:
    """A `NoticeSource` in the consent banner's place."""

    def __init__(
        self,
        banner: ConsentBanner,
        flow: TcfPages,
        policy: Policy,
        renderer: Renderer,
        js_url: str,
    ) -> None:
        self.banner = banner
        self.flow = flow
        self.renderer = renderer
        self.languages = policy.languages.available
        self.default = policy.languages.default
        self.context = {
            "prefix": policy.prefix,
            "privacy_url": policy.consent.banner.privacy_url,
            "reopen_label": policy.consent.banner.preferences_label,
            "ui": UI,
        }
        self.script = Fragment(renderer.render("tcf_scripts.html", "en", js_url=js_url).encode())
        self._state_slot = Fragment(TCF_STATE_SLOT.encode())
        self._edition: Edition | None = None
        self._notices: dict[str, Fragment] = {}
        self._notice(self.default)  # rendered now: a template error stops the start

    def _notice(self, language: str) -> Fragment:
        edition = self.flow.current
        if edition is not self._edition:
            # A new vendor list (tcf update): render its notices once, then swap.
            self._notices = {
                lang: Fragment(
                    self.renderer.render(
                        "tcf_notice.html", lang, tcf=edition.context(lang), **self.context
                    ).encode()
                )
                for lang in self.languages
            }
            self._edition = edition
        return self._notices.get(language) or self._notices[self.default]

    def variant(self, page: Page) -> tuple[object, ...] | None:
        base = self.banner.variant(page)
        if base is None:
            return None
        flow = self.flow
        state = flow.page_state(page.visitor)
        # The state element is the visitor's own (their TC string): a slot, so the
        # composed notices stay one per kind of state, not one per visitor.
        page.values["tcf_state"] = flow.state_bytes(state)
        return (base, state.notice_shown, flow.current)

    def render(self, variant: tuple[object, ...]) -> Parts:
        base_variant, notice_shown, _ = variant
        base = self.banner.render(base_variant)  # type: ignore[arg-type]
        head = Fragment.joined((base.head, self._state_slot, self.script))
        if notice_shown:
            language = base_variant[0]  # type: ignore[index]
            return Parts(head=head, body=self._notice(language))
        return Parts(head=head, top=base.top, body=base.body)
