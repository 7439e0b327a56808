"""Where gatekeeper's microseconds go, step by step, for one benchmark case.

Each step of the request path is timed on its own, on the inputs a real request of that
case gives it (the same Plan, scope, headers and app response):

    identify   the Visitor: headers, address, location, language, bot
    consent    reading the consent cookie; enforcing it on the response's headers
    adblock    reading gk_adblock; on a page, opening a view (token, count)
    rules      country rules (and the block page when blocked)
    notices    composing the page's notices (fragments, slots), adblock's view excluded
    injector   deciding to inject, the script gate, the splice, the modified headers

and `app` is the bare app's own time for the case, for scale.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from gatekeeper import Gatekeeper
from gatekeeper.html.inject import Injection, Snippets, response_verdict
from gatekeeper.notices import Page

from . import apps
from .harness import Case, drive, scope_for

STEPS = ("identify", "consent", "adblock", "rules", "notices", "injector")


def per_call(step: Callable[[], object], count: int = 2000, rounds: int = 5) -> float:
    """Microseconds of one call: the best of `rounds` runs of `count` calls (the least
    disturbed by the rest of the machine)."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(count):
            step()
        samples.append((time.perf_counter() - start) / count * 1e6)
    return min(samples)


async def _app_response(case: Case) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await apps.bare()(scope_for(case), receive, send)
    return messages


def breakdown(gatekeeper: Gatekeeper, case: Case) -> dict[str, float]:
    """Microseconds per step for `case`, and the bare app's own time as `app`."""
    plan = gatekeeper.plan
    scope = scope_for(case)
    figures = dict.fromkeys(STEPS, 0.0)
    figures["identify"] = per_call(lambda: plan.identifier.identify(scope))
    visitor = plan.identifier.identify(scope)
    consent, adblock = plan.consent, plan.adblock
    if consent is not None:
        figures["consent"] = per_call(lambda: consent.read(visitor))
        consent.read(visitor)
    if adblock.enabled:
        figures["adblock"] = per_call(lambda: adblock.read(visitor))
    decision = plan.rules.decide(visitor, case.path)
    if decision.blocked:
        figures["rules"] = per_call(
            lambda: (plan.rules.decide(visitor, case.path), plan.refusal.answer(scope, visitor))
        )
        figures["app"] = 0.0
        return figures
    figures["rules"] = per_call(lambda: plan.rules.decide(visitor, case.path))
    figures["app"] = 1e6 / asyncio.run(_rate(case))
    start, *bodies = asyncio.run(_app_response(case))
    headers = list(start["headers"])
    if consent is not None:
        figures["consent"] += per_call(lambda: consent.cookie_headers(visitor, headers, scope))
        headers = consent.cookie_headers(visitor, headers, scope)
    verdict = response_verdict(headers)
    if not verdict or start["status"] != 200:
        figures["injector"] = per_call(lambda: response_verdict(headers))
        return figures

    def page() -> Page:
        return Page(scope, visitor, {"nonce": b"", "next": b"/", "next_q": b"/"}, 20000)

    opening = per_call(lambda: adblock.open(page())) if adblock.enabled else 0.0
    figures["adblock"] += opening
    figures["notices"] = max(0.0, per_call(lambda: plan.notices.compose(page())) - opening)
    head, top, body = plan.notices.compose(page()) or (b"", b"", b"")
    message = {**start, "headers": headers}

    def inject() -> object:
        gate = consent.transform(visitor, scope) if consent is not None else None
        snippets = Snippets(head, top, (gate,) if gate is not None else (), body)
        return Injection(message, snippets, plan.max_hold).first(bodies[0])

    figures["injector"] = per_call(lambda: (response_verdict(headers), inject()))
    return figures


async def _rate(case: Case) -> float:
    app = apps.bare()
    await drive(app, case, 200)
    return max([await drive(app, case, 500) for _ in range(5)])
