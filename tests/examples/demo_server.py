"""The demo app for ASGI servers started by the tests (they import `app` by name).

`GATEKEEPER_DEMO_DATA` names the demo's data folder, so each test's server keeps its
consent log and generated keys in that test's tmp_path.
"""

from __future__ import annotations

import os
from pathlib import Path

from gatekeeper.demo import prepare_demo

app, policy_path = prepare_demo(Path(os.environ["GATEKEEPER_DEMO_DATA"]))
