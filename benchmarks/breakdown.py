"""Where gatekeeper's microseconds go, step by step, for each benchmark case.

Each step of the request path is timed on its own, on the inputs a real request of that
case gives it (the same Plan, scope and headers), so the figures add up to roughly what
the whole request costs over the bare app:

    identify   the Visitor: headers, address, location, language, bot
    consent    reading the consent cookie, and enforcing it on the response headers
    adblock    reading gk_adblock, and opening a view (token, count) on a page
    rules      country rules
    notices    composing every notice of the page (fragments, slots)
    injector   deciding to inject, the splice, the modified headers, the script gate
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any

from gatekeeper import Gatekeeper
from gatekeeper.html.inject import Injection, Snippets, response_verdict
from gatekeeper.middleware import Visit
from gatekeeper.notices import Page

from . import apps


def scope_for(path: str, headers: dict[str, str], client: str) -> dict[str, Any]:
    raw = (
        [(b"host", b"127.0.0.1")]
        + [(k.encode(), v.encode()) for k, v in headers.items()]
        + [(b"accept", b"text/html"), (b"user-agent", b"bench/1")]
    )
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw,
        "client": (client, 50000),
        "server": ("127.0.0.1", 8000),
    }


def per_call(step: Callable[[], object], count: int = 5000, rounds: int = 5) -> float:
    """Median microseconds of one call over `rounds` runs of `count` calls."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(count):
            step()
        samples.append((time.perf_counter() - start) / count * 1e6)
    return statistics.median(samples)


async def app_response(path: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The bare app's start message and body messages for `path`."""
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await apps.bare()(scope_for(path, {}, "127.0.0.1"), receive, send)
    return messages[0], messages[1:]


def breakdown(
    gatekeeper: Gatekeeper, path: str, headers: dict[str, str], client: str
) -> dict[str, float]:
    """Microseconds per step for one case."""
    plan = gatekeeper.plan
    start, bodies = asyncio.run(app_response(path))
    figures: dict[str, float] = {}

    def visitor() -> Any:
        return plan.identifier.identify(scope_for(path, headers, client))

    scope = scope_for(path, headers, client)
    figures["identify"] = per_call(lambda: plan.identifier.identify(scope))
    who = visitor()
    consent = plan.consent
    if consent is not None:
        figures["consent"] = per_call(lambda: consent.read(who))
        consent.read(who)
        start_headers = list(start["headers"])
        figures["consent"] += per_call(lambda: consent.cookie_headers(who, start_headers, scope))
    figures["adblock"] = per_call(lambda: plan.adblock.read(who)) if plan.adblock.enabled else 0.0
    figures["rules"] = per_call(lambda: plan.rules.decide(who, path))
    visit = Visit(plan, scope, _discard)
    visit.visitor = who
    headers_out = (
        consent.cookie_headers(who, list(start["headers"]), scope) if consent else start["headers"]
    )
    verdict = response_verdict(headers_out)
    html = bool(verdict) and start["status"] == 200
    if html:
        values = {"nonce": b"", "next": b"/", "next_q": b"/"}

        def compose() -> object:
            return plan.notices.compose(Page(scope, who, dict(values), 20000))

        composed = compose()
        adblock_open = per_call(lambda: plan.adblock.open(Page(scope, who, dict(values), 20000)))
        figures["adblock"] += adblock_open if plan.adblock.enabled else 0.0
        figures["notices"] = per_call(compose) - (adblock_open if plan.adblock.enabled else 0.0)
        gate = consent.transform(who) if consent is not None else None
        snippets = (
            Snippets(*composed[:1], top=composed[1], body=composed[2], transforms=())
            if composed
            else Snippets()
        )

        def inject() -> object:
            transforms = (consent.transform(who),) if gate is not None else ()
            injection = Injection(
                {**start, "headers": headers_out},
                Snippets(snippets.head, snippets.top, transforms, snippets.body),
                plan.max_hold,
            )
            return injection.first(bodies[0])

        figures["injector"] = per_call(lambda: (response_verdict(headers_out), inject()))
    else:
        figures["injector"] = per_call(lambda: response_verdict(headers_out))
    return figures


async def _discard(message: dict[str, Any]) -> None:
    pass


STEPS = ("identify", "consent", "adblock", "rules", "notices", "injector")
