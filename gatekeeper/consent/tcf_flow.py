"""Consent through IAB TCF: where it applies, what a visitor's TC string allows, and the
decisions made through the TCF notice.

Where TCF applies (`tcf.places`; visitors of unknown location too while
`consent.modes.unknown` is opt-in) every decision goes through here, whichever form
posted it: the TC string is minted on the server from the posted fields
(`choices_from_form`), the policy's categories follow from it (`tcf.categories`; other
optional categories from the posted `categories`, or all of them on Accept all / Reject
all), and the decision is recorded with the TC string and the GPP string before anything
is acknowledged. The string goes into the `euconsent-v2` cookie, and its binding into
the signed consent cookie, so only a string this site minted counts.

On every request `read` sets `visitor.tcf` (a `TcfConsent`), remembered per cookie value;
a visitor whose string no longer counts (vendor list policy version changed, 13 months
old, not bound) is undecided again, so the notice comes back and nothing runs until
they choose.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..audit import texts_hash
from ..endpoints import (
    BadRequest,
    Request,
    Response,
    json_response,
    redirect_to,
    safe_next,
)
from ..html.render import Renderer
from ..http import set_cookie
from ..memo import Memo
from ..policy.codes import expand
from ..tcf.choices import ChoiceError, Choices, choices_from_form, tc_string
from ..tcf.consent import TcfConsent
from ..tcf.edition import Edition, binding
from ..tcf.gpp import encode_gpp, encode_usnat, usnat_for
from ..tcf.gvl import GVL, GvlFile
from ..tcf.notice import UI, notice_context
from ..tcf.page import PageState, state_element
from ..tcf.string import decode, encode
from ..visitor import Visitor
from .endpoints import state_json
from .state import Consent, ConsentState, new_consent_id

if TYPE_CHECKING:
    from . import ConsentFeature

__all__ = ["TC_COOKIE", "TcfFlow"]

log = logging.getLogger("gatekeeper.tcf")

TC_COOKIE = "euconsent-v2"
ACTIONS = ("accept_all", "reject_all", "save", "withdraw")
LAYERS = {"notice": "notice", "preferences": "preferences", "banner": "notice"}
MAX_TAGS = 64
TCFEUV2, USNAT = 2, 7
_TAG = re.compile(r"([0-9]{1,5}):((?:[0-9]{1,2}(?:,[0-9]{1,2})*)?)")


def _tag(raw: str) -> tuple[int, tuple[int, ...]] | None:
    """`755:1,3,4` (a tag's data-tcf-vendor and data-tcf-purposes, as gatekeeper.js
    sends them) as numbers, or None when malformed."""
    match = _TAG.fullmatch(raw)
    if match is None:
        return None
    purposes = match.group(2)
    return int(match.group(1)), tuple(int(p) for p in purposes.split(",")) if purposes else ()


class TcfFlow:
    """The TCF part of one policy's consent feature."""

    def __init__(
        self, feature: ConsentFeature, gvl_file: GvlFile, renderer: Renderer, css_url: str
    ) -> None:
        policy = feature.policy
        self.feature = feature
        self.settings = settings = policy.tcf
        self.renderer = renderer
        self.css_url = css_url
        self.gvl_file = gvl_file
        self.languages = policy.languages.available
        self.places = expand(settings.places)
        sections = settings.gpp.sections
        self.tcfeuv2 = "tcfeuv2" in sections
        usnat = "usnat" in sections
        self.usnat_places = expand(settings.gpp.usnat_places) if usnat else frozenset()
        self.unknown_applies = feature.jurisdictions.unknown == "opt_in"
        self.mapped = frozenset(settings.categories)
        self.not_applicable = TcfConsent.not_applicable()
        self.current, self.shown = self._edition(gvl_file.gvl)
        self._scopes: Memo[tuple[str, ...], tuple[bool, bool]] = Memo(self._scope, 1024)
        self._reasked: Memo[Consent, Consent] = Memo(self._undecided, 4096)
        self._gpp_tc: Memo[str, str] = Memo(lambda tc: encode_gpp({"tcfeuv2": tc}), 4096)
        self._gpp_us: Memo[tuple[frozenset[str], bool, bool], str] = Memo(self._usnat, 64)
        self._states: Memo[PageState, bytes] = Memo(
            lambda state: str(state_element(state)).encode(), 4096
        )

    # -- the vendor list in force ----------------------------------------------------------

    def _edition(self, gvl: GVL) -> tuple[Edition, Mapping[str, tuple[str, dict[str, str]]]]:
        """The edition of `gvl` and, per language, the texts a decision is recorded with
        (the TCF notice's and the policy's banner texts) and their hash."""
        edition = Edition(
            self.settings,
            gvl,
            self.languages,
            max_age_days=self.feature.policy.consent.max_age_days,
        )
        for warning in edition.disclosure.warnings:
            log.warning("%s", warning)
        shown = {}
        for language in self.languages:
            texts = {**self.feature.texts.texts[language], **edition.texts[language]}
            shown[language] = (texts_hash(texts), texts)
        return edition, shown

    @property
    def edition(self) -> Edition:
        """The edition of the newest good vendor list (`tcf update` replaced the file:
        it is read within `tcf.gvl.check_interval`)."""
        self.gvl_file.poll()
        gvl = self.gvl_file.gvl
        if gvl is not self.current.gvl:
            self.current, self.shown = self._edition(gvl)
        return self.current

    def form_limits(self) -> tuple[int, int]:
        """Body bytes and fields a TCF form may post: a box per vendor and purpose, with
        room for the vendor list to grow."""
        disclosure = self.current.disclosure
        fields = 128 + 3 * (len(disclosure.vendors) + len(disclosure.purposes))
        return 8192 + 40 * fields, fields

    # -- where it applies, and reading the request ---------------------------------------

    def _scope(self, places: tuple[str, ...]) -> tuple[bool, bool]:
        if not places:
            return self.unknown_applies, False
        return (
            any(p in self.places for p in places),
            any(p in self.usnat_places for p in places),
        )

    def applies(self, visitor: Visitor) -> bool:
        """GDPR applies where the visitor is, as far as TCF goes."""
        return self._scopes[visitor.places][0]

    def _undecided(self, consent: Consent) -> Consent:
        assert consent.state is not None
        state = replace(consent.state, decided=False)
        return self.feature.consent(state, consent.mode, consent.gpc)

    def read(self, visitor: Visitor) -> None:
        """Set `visitor.tcf`; runs after `visitor.consent` is set."""
        if not self._scopes[visitor.places][0]:
            visitor.tcf = self.not_applicable
            return
        edition = self.edition
        consent = visitor.consent
        assert isinstance(consent, Consent)
        state = consent.state
        value = visitor.cookies.get(TC_COOKIE)
        reading = None
        if value and state is not None and state.decided and state.tcf:
            reading = edition.reading(value, state.tcf, int(time.time() // 86400))
        if reading is None:
            visitor.tcf = edition.undecided
            if consent.decided:
                visitor.consent = self._reasked[consent]
        else:
            visitor.tcf = reading[1]

    # -- the page ----------------------------------------------------------------------------

    def _usnat(self, key: tuple[frozenset[str], bool, bool]) -> str:
        refused, signal, honoured = key
        section = usnat_for(self.settings.gpp.usnat, refused, gpc=signal, honour_gpc=honoured)
        return encode_gpp({"usnat": encode_usnat(section)})

    def _gpp(self, visitor: Visitor, consent: Consent, tc: str) -> tuple[str, tuple[int, ...]]:
        """The GPP string and its applicable sections for this visitor."""
        gdpr, usnat = self._scopes[visitor.places]
        if gdpr and self.tcfeuv2:
            return (self._gpp_tc[tc] if tc else ""), (TCFEUV2,)
        if usnat:
            refused = frozenset(self.feature.known - consent.allowed)
            # GPC opts out until the visitor chooses: an explicit choice wins, as it does
            # for the categories (gatekeeper.consent.state.Consent).
            honoured = consent.gpc and not consent.decided
            return self._gpp_us[(refused, visitor.gpc, honoured)], (USNAT,)
        return "", ()

    def page_state(self, visitor: Visitor, *, just_decided: bool = False) -> PageState:
        edition = self.current
        gdpr = self._scopes[visitor.places][0]
        tcf = visitor.tcf
        tc = tcf.tc_string if gdpr and isinstance(tcf, TcfConsent) else ""
        consent = visitor.consent
        assert isinstance(consent, Consent)
        gpp, sections = self._gpp(visitor, consent, tc)
        return PageState(
            cmp_id=edition.disclosure.cmp_id,
            cmp_version=edition.disclosure.cmp_version,
            gdpr_applies=gdpr,
            policy_version=edition.gvl.policy_version,
            tc_string=tc,
            notice_shown=gdpr and not tc and not just_decided,
            just_decided=just_decided,
            gpp_string=gpp,
            applicable_sections=sections,
        )

    def state_bytes(self, state: PageState) -> bytes:
        """The page's `<script type="application/json" id="gk-tcf-state">` element."""
        return self._states[state]

    def usnat_gpp(
        self, visitor: Visitor, categories: Mapping[str, bool], *, decided: bool = True
    ) -> str | None:
        """The GPP string recorded with an event outside the TCF notice: the usnat section
        where it applies, else none. `decided`: a choice, not a GPC signal alone."""
        if not self._scopes[visitor.places][1]:
            return None
        refused = frozenset(name for name, allowed in categories.items() if not allowed)
        consent = visitor.consent
        honoured = isinstance(consent, Consent) and consent.gpc and not decided
        return self._gpp_us[(refused, visitor.gpc, honoured)]

    # -- deciding ----------------------------------------------------------------------------

    def handles(self, request: Request) -> bool:
        """TCF forms, and every decision where TCF applies."""
        return request.field("framework") == "tcf" or self.applies(request.visitor)

    def _categories(
        self, choices: Choices, edition: Edition, action: str, fields: Mapping[str, Sequence[str]]
    ) -> dict[str, bool]:
        feature = self.feature
        posted = fields.get("categories", ())
        unknown = sorted(set(posted) - feature.known)
        if unknown:
            raise BadRequest(f"unknown categories: {', '.join(name[:40] for name in unknown[:5])}")
        accepted = choices.categories(edition.disclosure)
        out = {}
        for name in feature.optional:
            if name in self.mapped:
                out[name] = name in accepted
            elif action in ("accept_all", "reject_all", "withdraw"):
                out[name] = action == "accept_all"
            else:
                out[name] = name in posted
        return out

    async def decide(self, request: Request, consent: Consent) -> Response:
        """POST {prefix}/consent where TCF applies. Raises BadRequest (nothing written)
        or LogUnavailable (nothing acknowledged)."""
        visitor = request.visitor
        fields = request.fields()
        action = request.field("action") or ""
        if action not in ACTIONS:
            raise BadRequest(f"action must be one of {', '.join(ACTIONS)}")
        # A plain form (the privacy page's withdrawal) says nothing of TCF layers.
        tcf_form = request.field("framework") == "tcf"
        posted_layer = request.field("layer") or ("notice" if tcf_form else "banner")
        layer = LAYERS.get(posted_layer)
        if layer is None:
            raise BadRequest("layer must be one of notice, preferences")
        edition = self.edition
        form = {
            **fields,
            "action": ["reject_all" if action == "withdraw" else action],
            "layer": [layer],
        }
        try:
            choices = choices_from_form(form, edition.disclosure)
        except ChoiceError as exc:
            raise BadRequest(str(exc)) from None
        categories = self._categories(choices, edition, action, fields)
        back = request.next_path()
        page = request.page() or request.scope["path"]

        now = time.time()
        language = visitor.language
        tc = tc_string(
            choices,
            edition.disclosure,
            today=datetime.fromtimestamp(now, UTC).date(),
            language=edition.consent_language(language),
        )
        text = encode(tc)
        previous = consent.state
        if action == "withdraw":
            event = "withdrawn"
        elif previous is not None and previous.decided:
            event = "updated"
        elif any(categories.values()) or choices.purpose_consents or choices.vendor_consents:
            event = "given"
        else:
            event = "refused"
        consent_id = previous.consent_id if previous else new_consent_id()
        state = ConsentState(
            consent_id=consent_id,
            revision=self.feature.policy.site.revision,
            choices=categories,
            decided_at=int(now),
            mode=consent.mode,
            gpc_recorded=previous.gpc_recorded if previous else False,
            tcf=binding(text),
        )
        decided = self.feature.consent(state, consent.mode, consent.gpc)
        applies = self.applies(visitor)
        tcf = TcfConsent.from_string(tc, edition.gvl, text) if applies else self.not_applicable
        gpp_sections = {}
        if applies and self.tcfeuv2:
            gpp_sections["tcfeuv2"] = text
        usnat = self.usnat_gpp(visitor, decided.categories())
        gpp = encode_gpp(gpp_sections) if gpp_sections else usnat
        await self.feature.record(
            visitor,
            page=page,
            consent_id=consent_id,
            event=event,
            categories=decided.categories(),
            method=f"{action}@tcf-{posted_layer}",
            mode=consent.mode,
            now=now,
            shown=self.shown[language],
            tc_string=text,
            gpp_string=gpp,
        )
        visitor.consent = decided
        visitor.tcf = tcf
        if request.wants_json:
            answer = state_json(decided, self.feature.keys)
            answer["tcf"] = self.page_state(visitor, just_decided=True).as_json()
            answer["tcf_tags"] = self._tags(fields.get("tcf_tag", ()), tcf)
            response = json_response(answer)
        else:
            response = redirect_to(back)
        response.headers.append(self.feature.state_cookie(state, request.secure))
        response.headers.append(self.tc_cookie(text, request.secure))
        return response

    @staticmethod
    def _tags(raw: Sequence[str], tcf: TcfConsent) -> dict[str, bool]:
        """Whether each vendor tag of the page may run now: the server's answer, so tags
        come alive in place exactly as they would be sent on the next page."""
        out = {}
        for value in list(dict.fromkeys(raw))[:MAX_TAGS]:
            tag = _tag(value)
            out[value] = tag is not None and tcf.allows(*tag)
        return out

    def tc_cookie(self, text: str, secure: bool) -> tuple[bytes, bytes]:
        settings = self.feature.policy.consent.cookie
        return set_cookie(
            TC_COOKIE,
            text,
            max_age=self.feature.cookie.max_age,
            path=settings.path,
            domain=settings.domain,
            secure=settings.secure == "always" or (settings.secure == "auto" and secure),
            same_site=settings.same_site.capitalize(),  # type: ignore[arg-type]
        )

    # -- the vendor list page ------------------------------------------------------------

    def preferences(self, request: Request) -> Response:
        """GET {prefix}/preferences where TCF applies: every purpose, special feature and
        vendor, ticked as the visitor's TC string says (nothing pre-ticked before)."""
        visitor = request.visitor
        edition = self.edition
        tcf = visitor.tcf
        choices = None
        if isinstance(tcf, TcfConsent) and tcf.tc_string:
            choices = edition.choices(decode(tcf.tc_string))
        consent = visitor.consent
        assert isinstance(consent, Consent)
        policy = self.feature.policy
        others = {
            name: category
            for name, category in policy.consent.categories.items()
            if not category.required and name not in self.mapped
        }
        page = self.renderer.render(
            "tcf_preferences.html",
            visitor.language,
            tcf=notice_context(edition.disclosure, visitor.language, choices),
            ui=UI,
            prefix=policy.prefix,
            next=safe_next(request.query().get("next")),
            css_url=self.css_url,
            site_name=policy.site.name,
            privacy_url=policy.consent.banner.privacy_url,
            categories=others,
            allowed=consent.allowed if consent.decided else frozenset(),
        )
        return Response(body=page.encode(), content_type=b"text/html; charset=utf-8")
