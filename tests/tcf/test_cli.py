"""`gatekeeper tcf update|check|decode`."""

from __future__ import annotations

import json
import shutil

from pytest_httpx import HTTPXMock

from gatekeeper.cli import main
from gatekeeper.policy.sections.tcf import IAB_GVL_URL
from tests.conftest import BASE_POLICY
from tests.tcf.conftest import GVL_FILE, TCF_SECTION
from tests.tcf.test_string import SPEC_EXAMPLE


def site(tmp_path, section: str = TCF_SECTION):
    path = tmp_path / "site.yaml"
    path.write_text(BASE_POLICY + section, encoding="utf-8")
    return path


def test_decode_prints_a_tc_string_and_a_gpp_string(capsys):
    assert main(["tcf", "decode", SPEC_EXAMPLE]) == 0
    alone = json.loads(capsys.readouterr().out)
    assert alone["version"] == 2 and alone["is_service_specific"] is True
    assert alone["disclosed_vendors"]
    assert main(["tcf", "decode", f"DBABMA~{SPEC_EXAMPLE}"]) == 0
    assert json.loads(capsys.readouterr().out) == {"sections": {"tcfeuv2": alone}}
    assert main(["tcf", "decode", "nonsense!"]) == 1
    assert "base64url" in capsys.readouterr().err


def test_check_reports_what_the_vendor_list_lacks(tmp_path, capsys):
    shutil.copy(GVL_FILE, tmp_path / "gvl.json")
    assert main(["tcf", "check", "--policy", str(site(tmp_path))]) == 0
    assert "7 vendors" in capsys.readouterr().out
    stale = TCF_SECTION.replace(
        "  special_features: [1]\n", "  special_features: [1]\n  vendors: [2, 32, 9999]\n"
    )
    assert main(["tcf", "check", "--policy", str(site(tmp_path, stale))]) == 1
    out = capsys.readouterr().out
    assert "tcf.vendors: 32 is deleted from vendor list 142" in out
    assert "tcf.vendors: 9999 is not in vendor list 142" in out


def test_check_without_a_vendor_list_says_how_to_get_one(tmp_path, capsys):
    assert main(["tcf", "check", "--policy", str(site(tmp_path))]) == 1
    assert "gatekeeper tcf update --policy" in capsys.readouterr().err


def test_update_installs_the_list_next_to_the_policy(tmp_path, capsys, httpx_mock: HTTPXMock):
    httpx_mock.add_response(url=IAB_GVL_URL, content=GVL_FILE.read_bytes())
    assert main(["tcf", "update", "--policy", str(site(tmp_path))]) == 0
    assert (
        "vendor list 142 (TCF policy version 5) installed; languages en" in capsys.readouterr().out
    )
    assert (tmp_path / "gvl.json").read_bytes() == GVL_FILE.read_bytes()
    httpx_mock.add_response(url=IAB_GVL_URL, status_code=500)
    assert main(["tcf", "update", "--policy", str(site(tmp_path))]) == 1
    assert "HTTP 500" in capsys.readouterr().err
    assert (tmp_path / "gvl.json").read_bytes() == GVL_FILE.read_bytes()
