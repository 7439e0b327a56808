"""The demo site wrapped in code, as an operator's module for gunicorn or uvicorn:

    GATEKEEPER_TEST_POLICY=policy.yaml gunicorn tests.workers.wrapped:app \
        -k tests.workers.wrapped.Worker -w 2
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

from uvicorn_worker import UvicornWorker

from gatekeeper import Gatekeeper
from tests.workers.site import app as site

app = Gatekeeper(site, policy=os.environ["GATEKEEPER_TEST_POLICY"])


class Worker(UvicornWorker):
    # gatekeeper reads forwarded headers itself, from policy.trusted_proxies.
    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {
        **UvicornWorker.CONFIG_KWARGS,
        "proxy_headers": False,
    }
