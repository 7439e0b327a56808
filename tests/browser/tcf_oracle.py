"""Run tcf_oracle.cjs (the IAB's JavaScript libraries) from Python tests.

`oracle(request)` sends one JSON request to node and returns its answer; it skips (or
fails under GATEKEEPER_TEST_STRICT=1) when node or the npm packages are missing.
`fields(tc)` is a decoded TC string in the shape the script reports the library's
decoding, so the two compare with ==.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gatekeeper.tcf.string import TCString
from tests.conftest import require

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "tcf_oracle.cjs"
PACKAGES = ("@iabtechlabtcf/core", "@iabtechlabtcf/cmpapi", "@iabgpp/cmpapi")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def oracle(request: dict[str, Any]) -> Any:
    node = shutil.which("node")
    require(node is not None, "node is not installed (apt-get install -y nodejs)")
    for package in PACKAGES:
        require(
            (HERE / "node_modules" / package / "package.json").exists(),
            f"{package} is not installed (npm install --prefix tests/browser)",
        )
    done = subprocess.run(
        [node, str(SCRIPT)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        cwd=HERE,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _ms(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def fields(tc: TCString) -> dict[str, Any]:
    pub = tc.publisher_tc
    return {
        "version": tc.version,
        "created": _ms(tc.created),
        "lastUpdated": _ms(tc.last_updated),
        "cmpId": tc.cmp_id,
        "cmpVersion": tc.cmp_version,
        "consentScreen": tc.consent_screen,
        "consentLanguage": tc.consent_language,
        "vendorListVersion": tc.vendor_list_version,
        "policyVersion": tc.policy_version,
        "isServiceSpecific": tc.is_service_specific,
        "useNonStandardTexts": tc.use_non_standard_texts,
        "purposeOneTreatment": tc.purpose_one_treatment,
        "publisherCC": tc.publisher_cc,
        "specialFeatureOptins": sorted(tc.special_feature_optins),
        "purposeConsents": sorted(tc.purpose_consents),
        "purposeLegitimateInterests": sorted(tc.purpose_legitimate_interests),
        "vendorConsents": list(tc.vendor_consents),
        "vendorLegitimateInterests": list(tc.vendor_legitimate_interests),
        "vendorsDisclosed": list(tc.disclosed_vendors or ()),
        "restrictions": [[r.purpose, r.type, list(r.vendors)] for r in tc.restrictions],
        "publisherConsents": sorted(pub.consents) if pub else [],
        "publisherLegitimateInterests": sorted(pub.legitimate_interests) if pub else [],
        "numCustomPurposes": len(pub.custom_consents) if pub else 0,
        "publisherCustomConsents": [i for i, v in enumerate(pub.custom_consents, 1) if v]
        if pub
        else [],
        "publisherCustomLegitimateInterests": [
            i for i, v in enumerate(pub.custom_legitimate_interests, 1) if v
        ]
        if pub
        else [],
    }
