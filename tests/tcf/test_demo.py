"""`gatekeeper demo --tcf`: the test CMP id, the made-up vendor list, the partners page."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx

from gatekeeper.demo import DEMO_GVL, prepare_demo, write_policy
from gatekeeper.policy import load_policy
from gatekeeper.tcf import load_gvl


def test_the_plain_demo_has_no_tcf(tmp_path):
    policy = load_policy(write_policy(tmp_path))
    assert not policy.tcf.enabled
    assert not (tmp_path / "gvl").exists()


def test_with_tcf_the_demo_uses_the_test_cmp_id_and_its_own_vendor_list(tmp_path):
    path = write_policy(tmp_path, tcf=True)
    policy = load_policy(path)
    assert policy.tcf.cmp_id == 4095  # unregistered: see gatekeeper/demo/tcf.yaml
    assert "UNREGISTERED" in path.read_text(encoding="utf-8")
    gvl = load_gvl(policy.tcf.gvl.file)
    assert policy.tcf.gvl.file == tmp_path.resolve() / "gvl" / "vendor-list.json"
    # The made-up list speaks three of the demo's languages; the others read its purposes
    # in English, as they would a real list's missing translation.
    assert {"en", "de", "fr"} <= set(gvl.languages) <= set(policy.languages.available)
    done = subprocess.run(
        [sys.executable, "-m", "gatekeeper.cli", "check", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_vendor_list_installed_by_tcf_update_is_kept_on_restart(tmp_path):
    write_policy(tmp_path, tcf=True)
    installed = tmp_path / "gvl" / "vendor-list.json"
    data = json.loads(installed.read_text(encoding="utf-8"))
    data["vendorListVersion"] = 999
    installed.write_text(json.dumps(data), encoding="utf-8")
    write_policy(tmp_path, tcf=True)
    assert json.loads(installed.read_text(encoding="utf-8"))["vendorListVersion"] == 999
    assert (DEMO_GVL / "vendor-list.json").read_bytes() != installed.read_bytes()


async def test_the_partners_page_and_api_answer_through_gatekeeper(tmp_path):
    app, _ = prepare_demo(tmp_path, tcf=True)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        page = await client.get("/partners")
        answer = (await client.get("/api/tcf")).json()
        home = await client.get("/")
    assert page.status_code == 200
    assert 'data-gk-framework="tcf"' in page.text  # loopback: unknown place, opt-in
    assert page.text.count('data-tcf-vendor="755" data-tcf-purposes="1,3,4" data-gk-src=') == 2
    assert answer["applies"] is True and not any(answer["tags"].values())
    assert home.status_code == 200 and 'id="gk-tcf-state"' in home.text
