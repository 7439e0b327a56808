"""Responses whose cookies gatekeeper filtered vary on the visitor's cookie."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from gatekeeper import Gatekeeper

POLICY = """
consent:
  modes: {default: opt_in, unknown: opt_in}
  categories:
    necessary: {required: true, label: N}
    analytics: {label: A, cookies: ["_ga"]}
"""


async def api(request):
    response = JSONResponse({"ok": True}, headers={"vary": "Accept-Encoding"})
    response.set_cookie("_ga", "GA1.1.1.1")
    return response


async def plain(request):
    return JSONResponse({"ok": True})


APP = Starlette(routes=[Route("/api", api), Route("/plain", plain)])


async def get(app, path, **headers):
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://news.test") as client:
        return await client.get(path, headers=headers)


async def test_filtered_json_varies_on_cookie(policy_file, tmp_path):
    app = Gatekeeper(APP, policy=str(policy_file(POLICY)))
    response = await get(app, "/api")
    assert "set-cookie" not in response.headers  # _ga refused before any choice
    assert response.headers.get_list("vary", split_commas=True) == ["Accept-Encoding", "Cookie"]


async def test_expiring_refused_cookies_varies_on_cookie(policy_file):
    app = Gatekeeper(APP, policy=str(policy_file(POLICY)))
    response = await get(app, "/plain", Cookie="_ga=old")
    assert "_ga=; Max-Age=0" in response.headers["set-cookie"]
    assert response.headers.get_list("vary") == ["Cookie"]


async def test_untouched_responses_keep_their_headers(policy_file):
    app = Gatekeeper(APP, policy=str(policy_file(POLICY)))
    response = await get(app, "/plain")
    assert "vary" not in response.headers
