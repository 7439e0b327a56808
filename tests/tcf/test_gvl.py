"""Reading the vendor list and its translations; reloading a replaced file."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest

from gatekeeper.tcf.gvl import GVLError, GvlFile, load_gvl, parse_gvl, parse_translation
from tests.tcf.conftest import DATA, GVL_FILE


def raw() -> dict:
    return json.loads(GVL_FILE.read_text(encoding="utf-8"))


def test_the_fixture_reads_with_its_translation(gvl):
    assert gvl.vendor_list_version == 142 and gvl.policy_version == 5
    assert gvl.languages == ("de", "en")
    assert gvl.texts_in("de").purposes[1].name.startswith("Informationen auf einem Gerät")
    assert gvl.texts_in("de-AT").purposes[1] == gvl.texts["de"].purposes[1]
    assert gvl.texts_in("fr").purposes[1].name == "Store and/or access information on a device"
    harbor = gvl.vendors[2]
    assert harbor.flexible_purposes == {2, 7} and harbor.legitimate_interest_purposes == {
        2,
        7,
        9,
        10,
    }
    assert harbor.url("de").privacy.endswith("/de/datenschutz")
    assert harbor.url("fr").language == "en"
    assert [v.id for v in gvl.active_vendors()] == [1, 2, 8, 25, 300, 755, 1126]
    assert gvl.vendors[32].deleted is not None
    assert gvl.texts["en"].special_purposes[1].consentable is False


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.update(gvlSpecificationVersion=2), "only GVL v3"),
        (lambda d: d.update(vendorListVersion=5000), "12 bits"),
        (lambda d: d["vendors"]["2"].update(purposes=[1, 2]), "purpose 2 is declared on both"),
        (lambda d: d["vendors"]["1"].update(flexiblePurposes=[11]), "flexible purpose 11"),
        (lambda d: d["vendors"]["1"].update(purposes=[1, 30]), "30 is not published"),
        (lambda d: d["vendors"]["1"].update(id=9), "keyed 1 but has id 9"),
        (lambda d: d["vendors"]["1"].update(urls=[]), "at least one privacy policy"),
        (lambda d: d["vendors"]["1"].update(name=3), "vendors.1.name: should be str"),
        (lambda d: d["vendors"]["32"].update(deletedDate="yesterday"), "is not a date"),
        (lambda d: d.pop("purposes"), "purposes: missing"),
    ],
)
def test_a_broken_vendor_list_is_refused_with_the_place(change, message):
    data = raw()
    change(data)
    with pytest.raises(GVLError, match=message):
        parse_gvl(data, source="list.json")


def test_a_translation_must_name_the_same_purposes(gvl):
    data = json.loads((DATA / "purposes-de.json").read_text(encoding="utf-8"))
    data["purposes"].pop("11")
    with pytest.raises(GVLError, match="purposes differ"):
        parse_translation(data, gvl, source="purposes-de.json")


def write(folder: Path, data: dict, name: str = "vendor-list.json") -> Path:
    path = folder / name
    temporary = folder / f".{name}.tmp"
    temporary.write_text(json.dumps(data), encoding="utf-8")
    os.replace(temporary, path)
    return path


def test_a_running_process_picks_up_a_replaced_list_after_the_interval(tmp_path):
    now = [0.0]
    path = write(tmp_path, raw())
    watched = GvlFile(path, interval=60, clock=lambda: now[0])
    assert watched.gvl.vendor_list_version == 142
    newer = raw()
    newer["vendorListVersion"] = 143
    write(tmp_path, newer)
    assert watched.poll() is None  # not looked at before the interval
    now[0] = 61
    assert watched.poll().vendor_list_version == 143
    assert watched.gvl.vendor_list_version == 143
    now[0] = 200
    assert watched.poll() is None  # unchanged file


def test_a_broken_replacement_keeps_the_last_good_list(tmp_path, caplog):
    now = [0.0]
    path = write(tmp_path, raw())
    watched = GvlFile(path, interval=1, clock=lambda: now[0])
    broken = copy.deepcopy(raw())
    broken["gvlSpecificationVersion"] = 1
    write(tmp_path, broken)
    now[0] = 5
    assert watched.poll() is None
    assert watched.gvl.vendor_list_version == 142
    assert "keeping version 142" in caplog.text


def test_a_missing_list_says_how_to_get_one(tmp_path):
    with pytest.raises(GVLError, match="cannot read"):
        load_gvl(tmp_path / "vendor-list.json")
