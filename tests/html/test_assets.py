"""gatekeeper's own JS and CSS: the size budget, hashed names, caching."""

from __future__ import annotations

import gzip
import re

import httpx

from gatekeeper.endpoints import Endpoints, response_headers
from gatekeeper.html.assets import Assets, compact
from gatekeeper.visitor import Visitor
from tests.conftest import REPO

BUDGET = 6 * 1024  # all notices' JS and CSS, gzipped; vanilla-cookieconsent alone is 15.5 KB


VISITOR_FACING = ("gatekeeper.js", "gatekeeper.css")  # what every page view downloads


def total_gzipped(assets: Assets) -> int:
    names = {assets.url(name).rsplit("/", 1)[1] for name in VISITOR_FACING}
    return sum(len(assets._files[name].gzipped) for name in names)


def test_payload_stays_within_budget_and_the_readme_says_so():
    size = total_gzipped(Assets("/_gatekeeper"))
    assert size <= BUDGET, f"notices' JS+CSS is {size} bytes gzipped; the budget is {BUDGET}"
    stated = re.search(r"([\d.]+) KB gzipped", (REPO / "README.md").read_text())
    assert stated, "the README states the payload size ('N.N KB gzipped')"
    assert abs(float(stated.group(1)) - size / 1024) <= 0.3, (
        f"README says {stated.group(1)} KB; it is {size / 1024:.1f} KB now: update the README"
    )


def _app(assets: Assets):
    endpoints = Endpoints("/_gatekeeper", {}, static=assets.file)

    async def app(scope, receive, send):
        response = await endpoints.answer(scope, receive, Visitor())
        headers = response_headers(response)
        if response.status == 304:
            headers = [h for h in headers if h[0] != b"content-length"]
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})

    return app


async def _get(assets: Assets, path: str, **headers: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app(assets))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get(path, headers=headers)


async def test_hashed_names_are_served_immutable_and_compressed():
    assets = Assets("/_gatekeeper")
    url = assets.url("gatekeeper.js")
    assert re.fullmatch(r"/_gatekeeper/static/gatekeeper\.[0-9a-f]{12}\.js", url)
    response = await _get(assets, url, **{"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["content-type"].startswith("text/javascript")
    assert b"gatekeeper" in response.content  # httpx decoded the gzip body
    again = await _get(assets, url, **{"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


async def test_unknown_and_stale_names_are_404():
    assets = Assets("/_gatekeeper")
    assert (await _get(assets, "/_gatekeeper/static/gatekeeper.000000000000.js")).status_code == 404
    assert (await _get(assets, "/_gatekeeper/static/../policy.yaml")).status_code == 404


def test_operator_override_changes_the_hash(tmp_path):
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "gatekeeper.css").write_text("[data-gk-notice] { color: red }")
    builtin = Assets("/_gatekeeper")
    custom = Assets("/_gatekeeper", tmp_path)
    assert custom.url("gatekeeper.css") != builtin.url("gatekeeper.css")
    assert custom.url("gatekeeper.js") == builtin.url("gatekeeper.js")
    name = custom.url("gatekeeper.css").rsplit("/", 1)[1]
    assert gzip.decompress(custom._files[name].gzipped) == b"[data-gk-notice] { color: red }"


def test_no_inline_handlers_or_style_attributes_in_templates():
    # CSP without 'unsafe-inline' must work: nothing inline in what we inject.
    for template in (REPO / "gatekeeper" / "html" / "templates").glob("*.html"):
        text = template.read_text()
        assert not re.search(r"\son[a-z]+=", text), template
        assert " style=" not in text, template


def test_served_files_leave_out_comments_and_indentation_only():
    js = b"""/* header
   comment */
(() => {
  // a whole-line comment
  const url = "http://example.test/a"; // kept: not a whole line
  const slashes = "// in a string";
})();
"""
    assert compact(js, ".js") == (
        b'(() => {\nconst url = "http://example.test/a"; // kept: not a whole line\n'
        b'const slashes = "// in a string";\n})();'
    )
    css = b"/* why */\n.a {\n  color: red; /* inline */\n}\n"
    assert compact(css, ".css") == b".a {\ncolor: red;\n}"
    served = gzip.decompress(
        Assets("/_gatekeeper")
        ._files[Assets("/_gatekeeper").url("gatekeeper.js").rsplit("/", 1)[1]]
        .gzipped
    )
    assert b'"http://www.w3.org/1999/xlink"' in served
    assert not any(line.startswith((b"//", b"/*", b" ")) for line in served.splitlines())
