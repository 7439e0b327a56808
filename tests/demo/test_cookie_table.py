"""The demo wrapped by gatekeeper as `gatekeeper demo` runs it: its privacy page carries
the cookie table, which lists the front page's unlisted `hl_edition` as not yet
described, and `gatekeeper cookies` flags it (exit 1) in the demo's own database."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import httpx
import pytest

from gatekeeper.cli import main
from gatekeeper.demo import prepare_demo

MARKER = "<gk-cookie-table></gk-cookie-table>"


async def test_the_demo_privacy_page_shows_the_inventory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app, policy = prepare_demo(tmp_path / "data")
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 1))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://demo.test") as client:
            front = await client.get("/")
            # Unlisted, so it counts as analytics (the demo's unlisted_cookies): an opt-in
            # visitor does not get it before choosing.
            assert "hl_edition" not in front.headers.get("set-cookie", "")
            privacy = await client.get("/privacy")
    finally:
        await app.close()
    text = privacy.text
    assert privacy.status_code == 200 and MARKER not in text
    table = text.split('<div class="gk-cookie-table"', 1)[1].split("</div>", 1)[0]
    names = re.findall(r"<code>([^<]+)</code>", table)
    assert {"gk_consent", "gk_adblock", "gk_dismissed", "_ga", "hl_edition"} <= set(names)
    assert '<tr data-gk-unlisted><th scope="row"><code>hl_edition</code>' in table
    assert "Not yet described" in table and "until it is." in table
    assert re.search(r"<code>_ga</code></th><td>[^<]+</td><td>2 years</td>", table)

    capsys.readouterr()
    code = await asyncio.to_thread(main, ["cookies", "--policy", str(policy), "--json"])
    report = json.loads(capsys.readouterr().out)
    flagged = [entry["name"] for entry in report["app"] if entry["unlisted"]]
    assert flagged == ["hl_edition"]
    assert code == 1
