"""The demo's ad partners, for `gatekeeper demo --tcf`: a page of vendor tags and an
endpoint that shows what the app reads from `visitor.tcf`.

`/partners` carries scripts and pixels marked `data-tcf-vendor` and `data-tcf-purposes`,
as an ad-funded site carries its vendors' tags: gatekeeper sends each inert unless the
visitor's TC string lets that vendor use those purposes. The tags load from
`/partners/tag/ID.js` and `/partners/pixel/ID.gif`, so which ones ran shows in the
browser's network log (and in `window.demoVendors` for the scripts). `/api/tcf` answers
with `visitor.tcf`: the purposes, vendors and special features allowed, the TC string,
and the verdict on each tag of the page.
"""

from __future__ import annotations

import base64

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route

import gatekeeper

from .site import render_page

# (vendor, purposes, what the tag is) of the fictional vendors in demo/gvl/.
TAGS: tuple[tuple[int, tuple[int, ...], str], ...] = (
    (755, (1, 3, 4), "Tidewater Ad Platform: personalised ads (consent)"),
    (25, (1, 2, 7), "Northwind Exchange: ads on limited data, measured (consent)"),
    (2, (2, 7), "Harbor Ads: ads on limited data, measured (legitimate interest)"),
    (1, (1, 8), "Lumen Metrics: content measurement (consent)"),
    (300, (2,), "Atlas Profiles: ads on limited data (legitimate interest)"),
)
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def tag_key(vendor: int, purposes: tuple[int, ...]) -> str:
    return f"{vendor}:{','.join(map(str, purposes))}"


def render_partners() -> str:
    tags = [
        {"vendor": vendor, "purposes": ",".join(map(str, purposes)), "label": label}
        for vendor, purposes, label in TAGS
    ]
    return render_page("partners.html", tags=tags)


def create_tcf_app(site: Starlette) -> Starlette:
    """The demo site with the partners' page, their tags and `/api/tcf`."""
    page = render_partners()

    async def partners(request: Request) -> Response:
        return HTMLResponse(page)

    async def tag(request: Request) -> Response:
        vendor = int(request.path_params["vendor"])
        script = f"(window.demoVendors = window.demoVendors || []).push({vendor});\n"
        return Response(script, media_type="text/javascript")

    async def pixel(request: Request) -> Response:
        return Response(PIXEL, media_type="image/gif", headers={"Cache-Control": "no-store"})

    async def api_tcf(request: Request) -> Response:
        tcf = gatekeeper.visitor(request).tcf
        return JSONResponse(
            {
                "applies": tcf.applies,
                "purposes": sorted(tcf.purposes),
                "legitimate_interests": sorted(tcf.legitimate_interests),
                "special_features": sorted(tcf.special_features),
                "vendors": list(tcf.vendors),
                "vendor_legitimate_interests": list(tcf.vendor_legitimate_interests),
                "tc_string": tcf.tc_string,
                "tags": {tag_key(v, p): tcf.allows(v, p) for v, p, _ in TAGS},
            }
        )

    return Starlette(
        routes=[
            Route("/partners", partners),
            Route("/partners/tag/{vendor:int}.js", tag),
            Route("/partners/pixel/{vendor:int}.gif", pixel),
            Route("/api/tcf", api_tcf),
            Mount("/", app=site),
        ]
    )
