"""`__tcfapi` and `__gpp` (gatekeeper/html/static/tcf.js) in real Chromium, answering as the
IAB's reference implementations (@iabtechlabtcf/cmpapi, @iabgpp/cmpapi, run in node on
the same strings) answer: ping fields, callback arguments, event statuses, listener ids,
and the locator-frame messages of a cross-origin iframe.
"""

from __future__ import annotations

import json
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from gatekeeper.html.assets import BUILTIN
from gatekeeper.policy import parse_policy
from gatekeeper.policy.sections.tcf import UsNatSettings
from gatekeeper.tcf.choices import Choices, accept_all, tc_string
from gatekeeper.tcf.disclosure import build_disclosure
from gatekeeper.tcf.gpp import encode_gpp, encode_usnat, usnat_for
from gatekeeper.tcf.gvl import load_gvl
from gatekeeper.tcf.page import PageState, state_element
from gatekeeper.tcf.string import encode
from tests.browser.tcf_oracle import oracle
from tests.conftest import BASE_POLICY
from tests.tcf.conftest import GVL_FILE, TCF_SECTION

TCF_JS = (BUILTIN / "tcf.js").read_bytes()
QUICK = 5_000


class Site:
    """A threaded HTTP server answering from `routes` (path -> HTML), plus /tcf.js."""

    def __init__(self) -> None:
        self.routes: dict[str, str] = {}
        routes = self.routes

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/tcf.js":
                    body, kind = TCF_JS, "text/javascript"
                elif self.path in routes:
                    body, kind = routes[self.path].encode(), "text/html; charset=utf-8"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def sites():
    site, other = Site(), Site()  # two ports: two origins
    yield site, other
    site.close()
    other.close()


@pytest.fixture(scope="module")
def strings() -> dict[str, str]:
    policy = parse_policy(BASE_POLICY + TCF_SECTION)
    disclosure = build_disclosure(policy.tcf, load_gvl(GVL_FILE))
    today = date(2026, 12, 2)
    accepted = encode(tc_string(accept_all(disclosure), disclosure, today=today, language="en"))
    shown = encode(tc_string(Choices(), disclosure, today=today, language="en"))
    usnat = encode_usnat(
        usnat_for(
            UsNatSettings(sale=("ads",), sharing=("ads",)), {"ads"}, gpc=True, honour_gpc=True
        )
    )
    return {
        "accepted": accepted,
        "shown": shown,
        "gpp": encode_gpp({"tcfeuv2": accepted, "usnat": usnat}),
    }


def page_html(
    state: PageState, *, before: str = "", body: str = "", state_last: bool = False
) -> str:
    element = str(state_element(state))
    head = (
        f'{before}<script src="/tcf.js"></script>'
        if state_last
        else f'{before}{element}<script src="/tcf.js"></script>'
    )
    tail = element if state_last else ""
    return f"<!doctype html><html><head><meta charset=utf-8>{head}</head><body>{body}{tail}</body></html>"


# The same calls, in the same order, as tcf_oracle.cjs makes of @iabtechlabtcf/cmpapi.
TCF_CALLS = """(vendorIds) => {
  const ask = (...args) => { let r; window.__tcfapi(args[0], args[1], (...a) => { r = a; }, ...args.slice(2)); return r; };
  const out = {
    ping: ask('ping', 2)[0],
    getTCData: ask('getTCData', 2),
    getTCDataVendors: ask('getTCData', 2, vendorIds),
    listener: ask('addEventListener', 2),
    removeKnown: ask('removeEventListener', 2, 0),
    removeUnknown: ask('removeEventListener', 2, 99),
    badVersion: ask('ping', 1),
    unknownCommand: ask('nonsense', 2),
  };
  return JSON.parse(JSON.stringify(out));
}"""

GPP_CALLS = """() => {
  const ask = (...args) => { let r; window.__gpp(args[0], (...a) => { r = a; }, ...args.slice(1)); return r; };
  const out = {
    ping: ask('ping'),
    listener: ask('addEventListener'),
    removeKnown: ask('removeEventListener', 1000),
    removeUnknown: ask('removeEventListener', 7),
    hasUsnat: ask('hasSection', 'usnat'),
    usnat: ask('getSection', 'usnat'),
    saleOptOut: ask('getField', 'usnat.SaleOptOut'),
    tcfSection: ask('getSection', 'tcfeuv2'),
    unknownCommand: ask('nonsense'),
  };
  return JSON.parse(JSON.stringify(out));
}"""


def state(strings, **fields) -> PageState:
    return PageState(cmp_id=4095, cmp_version=7, gdpr_applies=True, policy_version=5, **fields)


@pytest.mark.parametrize(
    "case",
    ["tcloaded", "cmpuishown", "useractioncomplete", "gdpr_does_not_apply"],
)
def test_tcfapi_answers_as_the_iab_cmpapi_does(page, sites, strings, case):
    site, _ = sites
    tc = strings["shown" if case == "cmpuishown" else "accepted"]
    pages = {
        "tcloaded": (state(strings, tc_string=tc), [{"tcString": tc, "uiVisible": False}]),
        "cmpuishown": (
            state(strings, tc_string=tc, notice_shown=True),
            [{"tcString": tc, "uiVisible": True}],
        ),
        "useractioncomplete": (
            state(strings, tc_string=tc, just_decided=True),
            [{"tcString": "", "uiVisible": True}, {"tcString": tc, "uiVisible": False}],
        ),
        "gdpr_does_not_apply": (
            PageState(cmp_id=4095, cmp_version=7, gdpr_applies=False, policy_version=5),
            [{"tcString": None, "uiVisible": False}],
        ),
    }
    page_state, updates = pages[case]
    site.routes["/tcf"] = page_html(page_state)
    page.goto(site.url + "/tcf")
    ours = page.evaluate(TCF_CALLS, [2, 3, 755])
    (theirs,) = oracle(
        {
            "op": "cmpapi",
            "cases": [
                {"cmpId": 4095, "cmpVersion": 7, "vendorIds": [2, 3, 755], "updates": updates}
            ],
        }
    )
    assert ours == theirs
    if case != "gdpr_does_not_apply":
        assert ours["getTCData"][0]["eventStatus"] == case
        assert ours["listener"][0]["listenerId"] == 0


def test_gpp_answers_as_the_iab_gpp_cmpapi_does(page, sites, strings):
    site, _ = sites
    site.routes["/gpp"] = page_html(
        state(
            strings,
            tc_string=strings["accepted"],
            gpp_string=strings["gpp"],
            applicable_sections=(2,),
        )
    )
    page.goto(site.url + "/gpp")
    ours = page.evaluate(GPP_CALLS)
    (theirs,) = oracle(
        {
            "op": "gppapi",
            "cases": [
                {
                    "cmpId": 4095,
                    "cmpVersion": 7,
                    "supportedAPIs": ["2:tcfeuv2", "7:usnat"],
                    "gppString": strings["gpp"],
                    "applicableSections": [2],
                    "displayStatus": "disabled",
                }
            ],
        }
    )
    assert ours == theirs
    assert ours["saleOptOut"] == [1, True]  # refused ads: opted out of sale


FRAME = """<!doctype html><meta charset=utf-8><script>
// A vendor's iframe on another origin: find the CMP by its locator frames and ask by
// postMessage, as the CMP API specifications' sample code does.
window.results = [];
function locate(name) {
  let frame = window;
  while (frame) {
    try { if (frame.frames[name]) return frame; } catch (e) {}
    if (frame === window.top) break;
    frame = frame.parent;
  }
  return null;
}
window.addEventListener('message', (event) => {
  const data = typeof event.data === 'string' ? JSON.parse(event.data) : event.data;
  if (data.__tcfapiReturn || data.__gppReturn) window.results.push(data);
});
const tcf = locate('__tcfapiLocator'), gpp = locate('__gppLocator');
tcf.postMessage({__tcfapiCall: {command: 'ping', version: 2, callId: 'p1'}}, '*');
tcf.postMessage(JSON.stringify({__tcfapiCall: {command: 'addEventListener', version: 2, callId: 'l1'}}), '*');
tcf.postMessage({__tcfapiCall: {command: 'getTCData', version: 2, parameter: [755], callId: 7}}, '*');
gpp.postMessage({__gppCall: {command: 'ping', version: '1.1', callId: 'g1'}}, '*');
</script>"""


def test_a_cross_origin_iframe_reaches_both_apis_by_postmessage(page, sites, strings):
    site, other = sites
    other.routes["/frame"] = FRAME
    site.routes["/framed"] = page_html(
        state(
            strings,
            tc_string=strings["accepted"],
            gpp_string=strings["gpp"],
            applicable_sections=(2,),
        ),
        body=f'<iframe src="{other.url}/frame" title="ad"></iframe>',
    )
    page.goto(site.url + "/framed")
    frame = next(f for f in page.frames if f.url.startswith(other.url))
    frame.wait_for_function("window.results.length >= 4", timeout=QUICK)
    replies = frame.evaluate("window.results")
    by_id = {(r.get("__tcfapiReturn") or r.get("__gppReturn"))["callId"]: r for r in replies}
    direct = page.evaluate(TCF_CALLS, [755])
    ping = by_id["p1"]["__tcfapiReturn"]
    assert ping == {"returnValue": direct["ping"], "success": True, "callId": "p1"}
    listener = by_id["l1"]["__tcfapiReturn"]
    assert listener["success"] is True and listener["returnValue"]["eventStatus"] == "tcloaded"
    assert listener["returnValue"]["tcString"] == strings["accepted"]
    vendors = by_id[7]["__tcfapiReturn"]["returnValue"]["vendor"]
    assert vendors["consents"] == {"755": True}
    gpp = by_id["g1"]["__gppReturn"]
    assert gpp["success"] is True and gpp["returnValue"]["gppString"] == strings["gpp"]
    # The locator frames are in the page, hidden.
    assert page.evaluate(
        "[...document.querySelectorAll('iframe[name]')].map(f => [f.name, f.hidden])"
    ) == [
        ["__tcfapiLocator", True],
        ["__gppLocator", True],
    ]


STUB = """<script>
// A stub as the IAB samples make it: queues calls until the CMP script replaces it.
(function () {
  var queue = [];
  window.__tcfapi = function () { if (!arguments.length) return queue; queue.push([].slice.call(arguments)); };
  window.__tcfapi('addEventListener', 2, function (data, ok) { window.stubbed = [data.eventStatus, data.tcString, ok]; });
})();
</script>"""

EARLY = """<script>
window.early = {};
__tcfapi('ping', 2, (p) => { window.early.ping = p; });
__tcfapi('getTCData', 2, (d, ok) => { window.early.data = [d.tcString, ok]; });
__gpp('ping', (p) => { window.early.gpp = p.cmpStatus; });
__gpp('addEventListener', (e) => { window.early.gppEvent = [e.eventName, e.pingData.gppString]; });
</script>"""


def test_calls_before_the_state_is_known_are_queued_and_answered(page, sites, strings):
    site, _ = sites
    site.routes["/queued"] = page_html(
        state(
            strings,
            tc_string=strings["accepted"],
            gpp_string=strings["gpp"],
            applicable_sections=(2,),
        ),
        before=STUB,
        body=EARLY,
        state_last=True,
    )
    page.goto(site.url + "/queued")
    page.wait_for_function("window.early.data && window.stubbed", timeout=QUICK)
    early = page.evaluate("window.early")
    assert early["ping"] == {"cmpLoaded": False, "cmpStatus": "stub", "apiVersion": "2"}
    assert early["data"] == [strings["accepted"], True]
    assert early["gpp"] == "stub"
    assert early["gppEvent"] == ["listenerRegistered", strings["gpp"]]
    assert page.evaluate("window.stubbed") == ["tcloaded", strings["accepted"], True]


def test_a_decision_made_in_place_reaches_every_listener(page, sites, strings):
    site, _ = sites
    site.routes["/decide"] = page_html(
        state(
            strings,
            tc_string=strings["shown"],
            notice_shown=True,
            gpp_string=encode_gpp({"tcfeuv2": strings["shown"]}),
            applicable_sections=(2,),
        )
    )
    page.goto(site.url + "/decide")
    page.evaluate(
        """() => {
          window.seen = []; window.gppSeen = [];
          __tcfapi('addEventListener', 2, (d) => window.seen.push([d.eventStatus, d.tcString, d.listenerId]));
          __gpp('addEventListener', (e) => window.gppSeen.push([e.eventName, e.data]));
        }"""
    )
    decided = state(
        strings,
        tc_string=strings["accepted"],
        just_decided=True,
        gpp_string=strings["gpp"],
        applicable_sections=(2,),
    )
    page.evaluate(
        "(detail) => document.dispatchEvent(new CustomEvent('gk:tcf', {detail}))",
        json.loads(str(state_element(decided)).split(">", 1)[1].rsplit("<", 1)[0]),
    )
    assert page.evaluate("window.seen") == [
        ["cmpuishown", strings["shown"], 0],
        ["useractioncomplete", strings["accepted"], 0],
    ]
    assert page.evaluate("window.gppSeen") == [
        ["listenerRegistered", True],
        ["signalStatus", "not ready"],
        ["cmpDisplayStatus", "hidden"],
        ["sectionChange", "tcfeuv2"],
        ["sectionChange", "usnat"],
        ["signalStatus", "ready"],
    ]
