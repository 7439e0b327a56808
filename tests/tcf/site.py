"""A site with vendor tags behind the whole middleware, for the TCF flow tests.

The app sets an analytics and an advertising cookie on every page and carries what an
ad-funded page carries: a vendor script marked `data-tcf-vendor="755"
data-tcf-purposes="1,3,4"` (consent purposes), a pixel of vendor 2 on purposes 2 and 7
(its legitimate interest), and a category-tagged analytics script. `/tcf` answers with
what the app reads from `visitor.tcf`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

import gatekeeper
from tests.conftest import BASE_POLICY
from tests.tcf.conftest import DATA

PAGE = """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Harbour news</title>
<script src="/site.js"></script>
<script data-tcf-vendor="755" data-tcf-purposes="1,3,4" src="/vendors/755.js"></script>
<script data-consent="analytics" src="/a.js"></script>
</head>
<body>
<main><h1>Harbour news</h1>
<img data-tcf-vendor="2" data-tcf-purposes="2,7" src="/pixels/2.gif" alt="">
</main>
</body>
</html>
"""
TAGS = {"755:1,3,4": (755, (1, 3, 4)), "2:2,7": (2, (2, 7))}


async def page(request: Request) -> HTMLResponse:
    response = HTMLResponse(PAGE)
    if "csp" in request.query_params:
        response.headers["Content-Security-Policy"] = "script-src 'nonce-n0nce'"
    response.set_cookie("_ga", "GA1.1.123456789.1700000000", max_age=63072000)
    response.set_cookie("IDE", "AHWqTUk", max_age=33696000)
    return response


async def tcf(request: Request) -> JSONResponse:
    found = gatekeeper.visitor(request).tcf
    return JSONResponse(
        {
            "applies": found.applies,
            "purposes": sorted(found.purposes),
            "legitimate_interests": sorted(found.legitimate_interests),
            "special_features": sorted(found.special_features),
            "vendors": list(found.vendors),
            "vendor_legitimate_interests": list(found.vendor_legitimate_interests),
            "tc_string": found.tc_string,
            "tags": {key: found.allows(*tag) for key, tag in TAGS.items()},
        }
    )


APP = Starlette(routes=[Route("/tcf", tcf), Route("/{path:path}", page)])

SECTIONS = """\
debug: true
languages: {{default: en, available: [en, de]}}
audit: {{store: "sqlite:///{folder}/consent.db"}}
consent:
  max_age_days: {max_age_days}
  modes: {{opt_in: [EEA, GB], opt_out: [US-CA], default: notice, unknown: opt_in}}
  gpc: honor
  categories:
    necessary: {{required: true, label: Necessary}}
    analytics: {{label: Analytics, cookies: [_ga]}}
    ads: {{label: Advertising, cookies: [IDE], sale_or_sharing: true,
           consent_mode: [ad_storage]}}
    video: {{label: Video}}
tcf:
  cmp_id: 4095
  cmp_version: 7
  publisher_country: DE
  purposes: [1, 2, 3, 4, 7, 8, 9, 10]
  legitimate_interest: [2, 7, 8, 9, 10]
  special_features: [1]
  categories:
    ads: [1, 2, 3, 4, 7]
    analytics: [1, 8, 9]
  restrictions:
    - {{purpose: 2, type: require_consent, vendors: [755]}}
  gvl: {{file: gvl/vendor-list.json, check_interval: 0.000001}}
  gpp:
    sections: [tcfeuv2, usnat]
    usnat: {{sale: [ads], sharing: [ads], targeted_advertising: [ads]}}
"""


def write_site(folder: Path, *, max_age_days: int = 180) -> Path:
    """The policy file, with a copy of the test vendor list (and its German texts)."""
    gvl = folder / "gvl"
    gvl.mkdir(exist_ok=True)
    for name in ("purposes-de.json", "vendor-list.json"):
        shutil.copyfile(DATA / name, gvl / name)
    path = folder / "policy.yaml"
    path.write_text(
        BASE_POLICY + SECTIONS.format(folder=folder, max_age_days=max_age_days),
        encoding="utf-8",
    )
    return path


def replace_vendor_list(folder: Path, **changes: Any) -> None:
    """Install an edited vendor list the way `tcf update` does (os.replace)."""
    path = folder / "gvl" / "vendor-list.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is None:
            data["vendors"].pop(key)
        else:
            data[key] = value
    temporary = path.with_name(".vendor-list.tmp")
    temporary.write_text(json.dumps(data), encoding="utf-8")
    os.replace(temporary, path)


def state_of(document: str) -> dict[str, Any]:
    """The page's gk-tcf-state element, parsed."""
    match = re.search(r'<script type="application/json" id="gk-tcf-state">(.*?)</script>', document)
    assert match, "no TCF state element in the page"
    return json.loads(match.group(1))


def live(document: str, src: str) -> bool:
    """Whether the page loads `src` (an inert tag has it as data-gk-src only)."""
    if f'data-gk-src="{src}"' in document:
        return False
    assert f'src="{src}"' in document, f"{src} is not in the page"
    return True


def tcf_notice(document: str) -> bool:
    """Whether the TCF notice (the banner's first layer where TCF applies) is in the page."""
    return 'data-gk-notice="consent" data-gk-framework="tcf"' in document
