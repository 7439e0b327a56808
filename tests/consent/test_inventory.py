"""The cookie inventory, through a real app wrapped by `Gatekeeper` and a real database:
every Set-Cookie the app sends is recorded with its path, domain, attributes, category
(or "unlisted") and the first and last day it was seen, across every process writing to
the database; `gatekeeper cookies` lists it and fails while anything is unlisted."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from gatekeeper import Gatekeeper
from gatekeeper.cli import main
from gatekeeper.consent.inventory import SIGHTINGS, own_cookies
from gatekeeper.counters import Filter, day_of, open_counter_store
from gatekeeper.plan import OWN_COOKIES
from gatekeeper.policy import load_policy
from tests.conftest import BASE_POLICY
from tests.counters.conftest import pg_url  # noqa: F401 (a fixture)

ORIGIN = "http://news.test"
PAGE = "<!doctype html><html><head><title>x</title></head><body><p>x</p></body></html>"
TODAY = day_of(time.time())


async def front(request):
    response = HTMLResponse(PAGE)
    response.set_cookie("_ga", "GA1.1.1.1", max_age=2 * 365 * 86400)
    # Named like gatekeeper's own cookies, but the app's: classified like any other.
    response.set_cookie("gk_uid", "u1", max_age=400 * 86400)
    # The frameworks' own necessary cookies: known without being listed.
    response.set_cookie("csrftoken", "t", max_age=31449600, samesite="lax")
    response.set_cookie("sessionid", "s", httponly=True, samesite="lax")
    response.set_cookie("session", "z", httponly=True)
    return response


async def shop(request):
    response = HTMLResponse(PAGE)
    response.set_cookie(
        "basket",
        "b",
        max_age=3600,
        path="/shop",
        domain=".news.test",
        secure=True,
        httponly=True,
        samesite="strict",
    )
    return response


async def other(request):
    response = HTMLResponse(PAGE)
    response.set_cookie(request.query_params["name"], "1")
    return response


APP = Starlette(routes=[Route("/", front), Route("/shop", shop), Route("/other", other)])


def policy_text(store: str, extra: str = "") -> str:
    return (
        BASE_POLICY
        + f"""\
consent:
  unlisted_cookies: analytics
  categories:
    necessary: {{required: true, label: Necessary}}
    analytics: {{label: Analytics, description: Counts visits, cookies: ["_ga", "_ga_*"]}}
    {extra}
audit: {{store: "{store}"}}
"""
    )


def write_policy(tmp_path: Path, store: str, extra: str = "", name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(policy_text(store, extra), encoding="utf-8")
    return path


async def visit(app: Gatekeeper, *paths: str) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 1))
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as client:
        return [await client.get(path) for path in paths]


async def cookies_command(*args: str) -> int:
    """`gatekeeper cookies ...` as a user runs it (in a thread: it runs its own loop)."""
    return await asyncio.to_thread(main, ["cookies", *args])


async def cookies_json(policy: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    capsys.readouterr()
    code = await cookies_command("--policy", str(policy), "--json")
    return code, json.loads(capsys.readouterr().out)


def by_name(report: dict) -> dict[str, dict]:
    return {entry["name"]: entry for entry in report["app"]}


@pytest.fixture
def sqlite_policy(tmp_path: Path) -> Path:
    return write_policy(tmp_path, f"sqlite:///{tmp_path / 'log.db'}")


async def test_every_cookie_the_app_sets_is_recorded_with_its_attributes(
    sqlite_policy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = Gatekeeper(APP, policy=str(sqlite_policy))
    try:
        front_page, _ = await visit(app, "/", "/shop")
    finally:
        await app.close()  # writes the counts, as at shutdown
    # An opt-in visitor: _ga and the unlisted gk_uid (analytics, unlisted_cookies) are
    # held back; the frameworks' necessary cookies pass.
    sent = {c.split("=")[0] for c in front_page.headers.get_list("set-cookie")}
    assert sent == {"csrftoken", "sessionid", "session"}

    code, report = await cookies_json(sqlite_policy, capsys)
    seen = by_name(report)
    assert set(seen) == {"_ga", "gk_uid", "csrftoken", "sessionid", "session", "basket"}
    for entry in seen.values():
        assert entry["first_seen"] == entry["last_seen"] == TODAY
    assert seen["_ga"]["category"] == "analytics" and not seen["_ga"]["unlisted"]
    assert seen["gk_uid"]["category"] == "unlisted" and seen["gk_uid"]["unlisted"]
    for name in ("csrftoken", "sessionid", "session"):
        assert seen[name]["category"] == "necessary" and not seen[name]["unlisted"], name
    basket = seen["basket"]
    assert (basket["path"], basket["domain"]) == ("/shop", "news.test")
    assert basket["attributes"] == "1 hour; Secure; HttpOnly; SameSite=Strict"
    assert seen["_ga"]["attributes"] == "2 years; SameSite=Lax"
    assert seen["csrftoken"]["attributes"] == "364 days; SameSite=Lax"
    assert seen["sessionid"]["attributes"] == "session; HttpOnly; SameSite=Lax"
    assert basket["unlisted"]
    # Unlisted first, then by name.
    assert [entry["name"] for entry in report["app"]][:2] == ["basket", "gk_uid"]
    assert report["unlisted"] == 2
    assert code == 1  # something is unlisted
    # gatekeeper's own consent cookie is never an app cookie.
    assert "gk_consent" not in seen
    assert [c["name"] for c in report["gatekeeper"]] == ["gk_consent"]


async def test_first_and_last_seen_span_the_days_and_the_workers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two Gatekeeper instances on one database are two workers: the inventory is the
    union of what each saw, and a cookie seen days ago keeps its first day."""
    store = f"sqlite:///{tmp_path / 'log.db'}"
    policy = write_policy(tmp_path, store)
    # A sighting from an earlier day, as another worker wrote it then.
    await open_counter_store(store).add(
        {
            SIGHTINGS: {
                ("2026-01-05", "", "seen_before", "unlisted", "/", "", "session; SameSite=Lax"): 1
            }
        }
    )
    first = Gatekeeper(APP, policy=str(policy))
    second = Gatekeeper(APP, policy=str(policy))
    try:
        await visit(first, "/other?name=seen_before", "/other?name=only_first")
        await visit(second, "/other?name=only_second")
        await second.close()
        # The first worker's own page lists what the second wrote, and what it saw
        # itself before its counts reached the database.
        (page,) = await visit(first, "/_gatekeeper/cookies?format=json")
    finally:
        await first.close()
        await second.close()
    shown = {
        row["name"]
        for group in page.json()["groups"]
        for row in group["cookies"]
        if row["unlisted"]
    }
    assert {"seen_before", "only_first", "only_second"} <= shown

    code, report = await cookies_json(policy, capsys)
    seen = by_name(report)
    assert {"seen_before", "only_first", "only_second"} <= set(seen)
    assert (seen["seen_before"]["first_seen"], seen["seen_before"]["last_seen"]) == (
        "2026-01-05",
        TODAY,
    )
    assert seen["only_second"]["first_seen"] == TODAY
    assert code == 1


async def test_the_inventory_on_postgresql(
    tmp_path: Path,
    pg_url: str,  # noqa: F811 (the fixture)
    capsys: pytest.CaptureFixture[str],
) -> None:
    policy = write_policy(tmp_path, pg_url)
    workers = [Gatekeeper(APP, policy=str(policy)) for _ in range(2)]
    try:
        await visit(workers[0], "/")
        await visit(workers[1], "/shop")
    finally:
        for worker in workers:
            await worker.close()
    rows = await open_counter_store(pg_url).rows(SIGHTINGS, Filter())
    assert {row[2] for row in rows} >= {"gk_uid", "basket", "csrftoken"}
    code, report = await cookies_json(policy, capsys)
    seen = by_name(report)
    assert seen["basket"]["attributes"] == "1 hour; Secure; HttpOnly; SameSite=Strict"
    assert seen["gk_uid"]["unlisted"] and seen["csrftoken"]["category"] == "necessary"
    assert code == 1


async def test_a_gk_prefixed_app_cookie_is_not_exempt(tmp_path: Path) -> None:
    """Only gatekeeper's exact names are strictly necessary: an app's gk_uid is unlisted,
    so it counts as `unlisted_cookies` (analytics here) and waits for consent."""
    policy = write_policy(tmp_path, f"sqlite:///{tmp_path / 'log.db'}")
    app = Gatekeeper(APP, policy=str(policy))
    try:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 1))
        async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as client:
            before = await client.get("/")
            assert "gk_uid" not in before.headers.get("set-cookie", "")
            decided = await client.post(
                "/_gatekeeper/consent",
                data={"action": "accept_all", "next": "/"},
                headers={"Origin": ORIGIN},
            )
            assert decided.status_code == 303
            after = await client.get("/")
            assert any(c.startswith("gk_uid=") for c in after.headers.get_list("set-cookie"))
    finally:
        await app.close()


async def test_listing_a_cookie_clears_its_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = f"sqlite:///{tmp_path / 'log.db'}"
    app = Gatekeeper(APP, policy=str(write_policy(tmp_path, store)))
    try:
        await visit(app, "/")
    finally:
        await app.close()
    listed = write_policy(
        tmp_path,
        store,
        extra='ads: {label: Ads, cookies: ["gk_uid"]}',
        name="listed.yaml",
    )
    code, report = await cookies_json(listed, capsys)
    assert by_name(report)["gk_uid"]["category"] == "ads"
    assert report["unlisted"] == 0
    assert code == 0


async def test_cookies_command_text_output(
    sqlite_policy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = Gatekeeper(APP, policy=str(sqlite_policy))
    try:
        await visit(app, "/")
    finally:
        await app.close()
    capsys.readouterr()
    code = await cookies_command("--policy", str(sqlite_policy))
    out = capsys.readouterr().out
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "cookies the app sets (first and last day seen)"
    gk_uid = next(line for line in lines if line.startswith("gk_uid "))
    assert "UNLISTED (analytics)" in gk_uid and TODAY in gk_uid
    assert "csrftoken" in out and "necessary" in out
    assert "gatekeeper's own cookies" in out
    own = next(line for line in lines if line.startswith("gk_consent "))
    assert "180 days" in own and "Remembers your privacy choices" in own
    assert "1 unlisted: gk_uid." in out


def test_cookies_command_with_nothing_seen_and_a_bad_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.db"
    policy = write_policy(tmp_path, f"sqlite:///{empty}")
    open_counter_store(f"sqlite:///{empty}")  # no I/O yet: the file does not exist
    assert main(["cookies", "--policy", str(policy)]) == 2  # refuses to create it
    assert "empty.db" in capsys.readouterr().err


def test_own_cookies_name_every_cookie_gatekeeper_sets(tmp_path: Path) -> None:
    """Every name gatekeeper itself sets (plan.OWN_COOKIES, the consent cookie) is
    described for the privacy page when the policy turns its feature on."""
    path = tmp_path / "all.yaml"
    path.write_text(
        BASE_POLICY
        + """\
debug: true
consent:
  categories:
    necessary: {required: true, label: N}
    ads: {label: A, consent_mode: [ad_storage]}
adblock: {mode: notice}
notifications: [{id: n1, text: N1}]
audit: {view: {enabled: true, token: "auditor-token-0123456789abcdefghij"}}
""",
        encoding="utf-8",
    )
    policy = load_policy(path)
    own = own_cookies(policy, {"gk_adblock": policy.adblock_category()}, "euconsent-v2")
    assert {c.name for c in own} == {"gk_consent", *OWN_COOKIES}
    found = {c.name: c for c in own}
    assert found["gk_adblock"].category == "ads"  # adblock.requires_consent: auto
    assert found["gk_adblock"].lifetime == "30 days"
    assert found["gk_dismissed"].lifetime == "1 year"
    assert found["gk_audit"].lifetime == "8 hours"
    assert found["gk_debug_place"].lifetime == "session"
    assert all(c.purpose.msgid for c in own)
