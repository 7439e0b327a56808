"""The JSON the server renders for tcf.js."""

from __future__ import annotations

import json
import re

from gatekeeper.tcf.gpp import encode_gpp
from gatekeeper.tcf.page import PageState, state_element

TC = "CQSbk4AQSbk4ANwAAAENAwCgAAAAAAAAAAYgACPAAAAA.IDKQA4AAgAKAGQAygAAA"


def state(**fields) -> dict:
    base = dict(cmp_id=4095, cmp_version=7, gdpr_applies=True, policy_version=5)
    element = state_element(PageState(**{**base, **fields}))
    match = re.fullmatch(
        r'<script type="application/json" id="gk-tcf-state">(.*)</script>', str(element)
    )
    assert match
    return json.loads(match.group(1))


def test_statuses_follow_what_the_page_shows():
    assert (state(tc_string=TC)["eventStatus"], state(tc_string=TC)["displayStatus"]) == (
        "tcloaded",
        "disabled",
    )
    shown = state(tc_string=TC, notice_shown=True)
    assert (shown["eventStatus"], shown["displayStatus"]) == ("cmpuishown", "visible")
    after = state(tc_string=TC, just_decided=True)
    assert (after["eventStatus"], after["displayStatus"]) == ("useractioncomplete", "hidden")


def test_gpp_fields_and_no_string_outside_gdpr():
    gpp = encode_gpp({"tcfeuv2": TC})
    data = state(tc_string=TC, gpp_string=gpp, applicable_sections=(2,))
    assert data["gpp"] == {
        "gppString": gpp,
        "sectionList": [2],
        "applicableSections": [2],
        "supportedAPIs": ["2:tcfeuv2", "7:usnat"],
    }
    outside = state(tc_string=TC, gdpr_applies=False)
    assert outside["tcString"] == "" and outside["gpp"]["applicableSections"] == [-1]


def test_no_string_can_close_the_element():
    element = str(
        state_element(PageState(4095, 1, True, 5, gpp_string="", tc_string="</script><b>"))
    )
    assert "</script><b>" not in element and element.count("</script>") == 1
