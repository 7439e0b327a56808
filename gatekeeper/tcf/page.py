"""What the server tells `tcf.js` about the visitor: one JSON script element per page.

The element goes into the page before `tcf.js` (ideally both in <head>, so `__tcfapi`
and `__gpp` exist before any ad script runs):

    <script type="application/json" id="gk-tcf-state">{...}</script>

Its object, every key always present:

    cmpId, cmpVersion       the policy's registered CMP id and version
    gdprApplies             the visitor is where tcf.places says GDPR applies
    tcfPolicyVersion        the vendor list's policy version
    tcString                the visitor's TC string; "" when there is none
    eventStatus             "tcloaded" (a valid string, no notice), "cmpuishown" (the
                            notice is in this page), "useractioncomplete" (this page
                            follows the visitor's decision) -- __tcfapi's statuses
    displayStatus           "visible", "hidden" or "disabled", as __tcfapi's ping says
    gpp                     {gppString, sectionList, applicableSections, supportedAPIs}
                            for __gpp; applicableSections is [-1] when none applies

`tcf.js` decodes the strings itself, so the JSON stays small however many vendors the
site works with. When the page changes the decision in place (gatekeeper.js posting the
form), it dispatches `gk:tcf` on document with the new object as `detail`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from markupsafe import Markup

from .gpp import SECTIONS, decode_gpp

__all__ = ["ELEMENT_ID", "PageState", "state_element"]

ELEMENT_ID = "gk-tcf-state"


@dataclass(frozen=True, slots=True)
class PageState:
    cmp_id: int
    cmp_version: int
    gdpr_applies: bool
    policy_version: int
    tc_string: str = ""
    notice_shown: bool = False
    """The TCF notice (layer 1) is in this page."""
    just_decided: bool = False
    """This page is the first after the visitor's decision."""
    gpp_string: str = ""
    applicable_sections: tuple[int, ...] = ()

    def as_json(self) -> dict[str, object]:
        if self.notice_shown:
            event, display = "cmpuishown", "visible"
        elif self.just_decided:
            event, display = "useractioncomplete", "hidden"
        else:
            event, display = "tcloaded", "disabled"
        section_list = list(decode_gpp(self.gpp_string).section_ids) if self.gpp_string else []
        return {
            "cmpId": self.cmp_id,
            "cmpVersion": self.cmp_version,
            "gdprApplies": self.gdpr_applies,
            "tcfPolicyVersion": self.policy_version,
            "tcString": self.tc_string if self.gdpr_applies else "",
            "eventStatus": event,
            "displayStatus": display,
            "gpp": {
                "gppString": self.gpp_string,
                "sectionList": section_list,
                "applicableSections": list(self.applicable_sections) or [-1],
                "supportedAPIs": [f"{number}:{name}" for name, number in SECTIONS.items()],
            },
        }


def state_element(state: PageState) -> Markup:
    """The script element (a data block: CSP does not apply to it, so it needs no nonce).
    `<` is escaped so no string can close the element early."""
    text = json.dumps(state.as_json(), separators=(",", ":")).replace("<", "\\u003c")
    return Markup(f'<script type="application/json" id="{ELEMENT_ID}">{text}</script>')
