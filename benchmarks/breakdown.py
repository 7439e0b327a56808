"""Where gatekeeper's microseconds go, step by step, for one benchmark case.

Each step of the request path is timed on its own, on the inputs a real request of that
case gives it (the same Plan, scope, headers and app response):

    identify   the Visitor: headers, address, location, language, bot, and what the
               features read (consent, gk_adblock), remembered per request bytes
    consent    enforcing the consent on the response's headers
    adblock    on a page, opening a view (token, count)
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


Step = tuple[str, int, Callable[[], object]]
"""(the step it counts for, +1 or -1, one call of it)."""


def steps(gatekeeper: Gatekeeper, case: Case) -> list[Step]:
    """The calls each step makes for `case`, on the inputs a real request gives them; a
    step's figure is the sum of its calls' costs (a -1 call is counted in another's)."""
    plan = gatekeeper.plan
    scope = scope_for(case)
    out: list[Step] = [("identify", 1, lambda: plan.visitors.visitor(scope))]
    visitor = plan.visitors.visitor(scope)
    consent, adblock = plan.consent, plan.adblock
    decision = plan.rules.decide(visitor, case.path)
    if decision.blocked:
        out.append(
            (
                "rules",
                1,
                lambda: (
                    plan.rules.decide(visitor, case.path),
                    plan.refusal.answer(scope, visitor),
                ),
            )
        )
        return out
    out.append(("rules", 1, lambda: plan.rules.decide(visitor, case.path)))
    start, *bodies = asyncio.run(_app_response(case))
    headers = list(start["headers"])
    if consent is not None:
        out.append(("consent", 1, lambda: consent.cookie_headers(visitor, headers, scope)))
        headers = consent.cookie_headers(visitor, headers, scope)
    verdict = response_verdict(headers)
    if not verdict or start["status"] != 200:
        out.append(("injector", 1, lambda: response_verdict(headers)))
        return out

    def page() -> Page:
        return Page(scope, visitor, {"nonce": b"", "next": b"/", "next_q": b"/"}, 20000)

    if adblock.enabled:
        out.append(("adblock", 1, lambda: adblock.open(page())))
        out.append(("notices", -1, lambda: adblock.open(page())))
    out.append(("notices", 1, lambda: plan.notices.compose(page())))
    head, top, body = plan.notices.compose(page()) or (b"", b"", b"")
    message = {**start, "headers": headers}

    def inject() -> object:
        gate = consent.transform(visitor, scope) if consent is not None else None
        snippets = Snippets(head, top, (gate,) if gate is not None else (), body)
        return Injection(message, snippets, plan.max_hold, plan.placements).first(bodies[0])

    out.append(("injector", 1, lambda: (response_verdict(headers), inject())))
    return out


def breakdown(gatekeeper: Gatekeeper, case: Case) -> dict[str, float]:
    """Microseconds per step for `case`, and the bare app's own time as `app`."""
    figures = dict.fromkeys(STEPS, 0.0)
    for step, sign, call in steps(gatekeeper, case):
        figures[step] += sign * per_call(call)
    figures = {step: max(0.0, value) for step, value in figures.items()}
    plan = gatekeeper.plan
    blocked = plan.rules.decide(plan.visitors.visitor(scope_for(case)), case.path).blocked
    figures["app"] = 0.0 if blocked else 1e6 / asyncio.run(_rate(case))
    return figures


async def _rate(case: Case) -> float:
    app = apps.bare()
    await drive(app, case, 200)
    return max([await drive(app, case, 500) for _ in range(5)])
