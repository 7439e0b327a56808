"""Real servers: `gatekeeper serve` on an example, and the demo under uvicorn, hypercorn
and granian, each in a subprocess on a loopback port, driven over real HTTP."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import SECRET

from .conftest import BANNER, NOTIFICATION, POLICY, facts, needs
from .servers import free_port, running

BIN = Path(sys.executable).parent


def cookie_names(response: httpx.Response) -> set[str]:
    return {raw.split("=", 1)[0].strip() for raw in response.headers.get_list("set-cookie")}


def test_gatekeeper_serve_runs_an_example(tmp_path: Path) -> None:
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "gatekeeper.cli",
        "serve",
        "examples.starlette_app:app",
        "--policy",
        str(POLICY),
        "--port",
        str(port),
    ]
    env = {
        "GATEKEEPER_SECRET": SECRET,
        "GATEKEEPER_AUDIT_STORE": f"sqlite:///{tmp_path / 'consent.db'}",
    }
    with running(argv, port=port, env=env, log=tmp_path / "serve.log") as base:
        response = httpx.get(base + "/", headers={"Accept": "text/html"}, timeout=10)
        state = httpx.get(base + "/_gatekeeper/consent", timeout=10)
    assert response.status_code == 200
    assert response.text.count(BANNER) == 1  # wrapped once, by `serve`
    assert facts(response.text)["analytics"] == "no"  # loopback: unknown, opt-in
    assert "_ga" not in cookie_names(response)
    assert state.json()["decided"] is False


def _server_argv(server: str, port: int) -> list[str]:
    target = "tests.examples.demo_server:app"
    if server == "uvicorn":
        return [sys.executable, "-m", "uvicorn", target, "--port", str(port), "--no-proxy-headers"]
    if server == "hypercorn":
        return [sys.executable, "-m", "hypercorn", target, "--bind", f"127.0.0.1:{port}"]
    return [
        str(BIN / "granian"),
        "--interface",
        "asgi",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        target,
    ]


@pytest.mark.parametrize("server", ["uvicorn", "hypercorn", "granian"])
def test_demo_end_to_end(server: str, tmp_path: Path) -> None:
    needs(server)
    if server == "granian":
        assert (BIN / "granian").exists(), "granian's command is missing next to python"
    port = free_port()
    env = {"GATEKEEPER_DEMO_DATA": str(tmp_path / "demo-data")}
    with (
        running(
            _server_argv(server, port), port=port, env=env, log=tmp_path / "server.log"
        ) as base,
        httpx.Client(base_url=base, headers={"Accept": "text/html"}, timeout=10) as browser,
    ):
        first = browser.get("/")
        assert first.status_code == 200, first.text[:500]
        assert first.text.count(BANNER) == 1
        assert NOTIFICATION in first.text
        assert "_ga" not in cookie_names(first)  # the demo sets it; opt-in withholds it

        decided = browser.post(
            "/_gatekeeper/consent",
            data={"action": "accept_all", "next": "/"},
            headers={"Origin": base},
        )
        assert decided.status_code == 303, decided.text
        assert "gk_consent" in cookie_names(decided)

        again = browser.get("/")
        assert again.status_code == 200
        assert BANNER not in again.text
        assert "_ga" in cookie_names(again)
        assert NOTIFICATION in again.text  # the bar stays until dismissed
