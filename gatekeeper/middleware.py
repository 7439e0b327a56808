"""The ASGI entry point. Only this module knows the order of the steps.

One request is one `Visit`, a per-request responder that runs the steps as plain method
calls over the current `Plan` (the policy compiled once per revision):

    identify the visitor -> features read it -> own endpoint? -> country rules ->
    the app, whose `send` is the Visit's: cookie enforcement on the start message,
    notices and script gating on HTML bodies while they stream.

The app call and that one `send` wrapper are the only layers between the server and the
app. Websocket handshakes pass the country rules too; lifespan goes to the app, with
gatekeeper's own shutdown on the way.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .endpoints import Response, response_headers
from .html.csp import csp_nonce
from .html.inject import (
    HTML_WITH_CSP,
    NO_BODY_STATUSES,
    Injection,
    Snippets,
    is_fragment_request,
    response_verdict,
)
from .http import Headers, set_cookie, vary_with
from .notices import Page
from .plan import Plan
from .policy import LoadedPolicy, Policy, PolicyFile
from .resources import Resources
from .startup import check_startup, startup_error
from .visitor import DEBUG_COOKIE, SCOPE_KEY, Visitor

log = logging.getLogger("gatekeeper")


class Gatekeeper:
    """Wraps an ASGI app with consent, adblock detection, country rules and notices.

    `policy` is a path to a policy YAML file (re-read when it changes) or a `Policy`.
    """

    def __init__(
        self,
        app: ASGIApp,
        policy: str | os.PathLike[str] | Policy,
        *,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.app = app
        self._file: PolicyFile | None = None
        source = "<policy>"
        if isinstance(policy, Policy):
            check_startup(LoadedPolicy(policy, source))
            current = policy
        else:
            source = str(policy)
            # Loads and checks now (PolicyError: one line per problem); reloads later
            # happen in a worker thread, checked the same way.
            self._file = PolicyFile(policy, env=env, check=check_startup)
            current = self._file.policy
        self._offered = current  # the newest policy a plan was built from, or tried
        self._resources = Resources()
        self._resources.begin()
        try:
            self._plan = Plan(app, current, self._resources)
        except Exception as exc:  # one line, as for the checks above, not a traceback
            self._resources.abandon()
            log.debug("start-up failed", exc_info=exc)
            raise startup_error(source, exc, current.templates.directory) from None
        self._resources.commit()

    @property
    def policy(self) -> Policy:
        return self._plan.policy

    @property
    def plan(self) -> Plan:
        """The compiled current policy (for the CLI and tests: its log, features, rules)."""
        return self._plan

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        # Wrapped twice (an app wrapped in code, then by `gatekeeper serve`): the outer
        # layer has done everything already.
        if SCOPE_KEY in scope:
            await self.app(scope, receive, send)
        elif kind == "http" or kind == "websocket":
            # Websockets too: a websocket-only site never sends an HTTP request.
            file = self._file
            if file is not None and file.current() is not self._offered:
                self._reload()
            visit = Visit(self._plan, scope, send)
            await (visit.run(receive) if kind == "http" else visit.handshake(receive))
        elif kind == "lifespan":
            await self.app(scope, self._on_shutdown(receive), send)
        else:
            await self.app(scope, receive, send)

    def _reload(self) -> None:
        """Compile the policy file's newest revision (`PolicyFile.current` never reads or
        parses: a worker thread did)."""
        assert self._file is not None
        policy = self._file.current()
        self._offered = policy
        resources = self._resources
        kept = resources.keys()
        resources.begin()
        try:
            plan = Plan(self.app, policy, resources)
        except Exception as exc:
            # A valid file can still fail to apply (its new GeoIP database is missing):
            # the site keeps running on the previous policy.
            resources.abandon(keep=kept)
            resources.close_retired_soon(0)
            log.error("policy revision %s not applied: %s", policy.site.revision, exc)
            return
        resources.commit()
        self._plan = plan
        resources.close_retired_soon()

    def _on_shutdown(self, receive: Receive) -> Receive:
        """The app's lifespan `receive`. At startup the consent log starts its periodic
        work (without lifespan it starts on the first append); at shutdown gatekeeper's
        resources close first (the adblock counts and the consent log write what is
        pending, the log signs what is unsigned)."""

        async def receive_then_close() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self._plan.log.start()
            elif message["type"] == "lifespan.shutdown":
                await self.close()
            return message

        return receive_then_close

    async def close(self) -> None:
        await self._resources.close()


class Visit:
    """One request on its way through gatekeeper: the per-request responder."""

    __slots__ = ("extra", "injection", "passing", "plan", "scope", "send_on", "visitor")

    def __init__(self, plan: Plan, scope: Scope, send: Send) -> None:
        self.plan = plan
        self.scope = scope
        self.send_on = send
        self.extra: Headers | None = None
        self.injection: Injection | None = None
        self.passing = False

    def _identify(self) -> Visitor:
        scope = self.scope
        visitor = self.plan.visitors.visitor(scope)
        scope[SCOPE_KEY] = visitor
        # Starlette, FastAPI and Litestar expose scope["state"] as request.state; copy it so
        # a server that shares one state dict between requests never sees another's visitor.
        state = scope.get("state")
        scope["state"] = {**state, "gatekeeper": visitor} if state else {"gatekeeper": visitor}
        self.visitor = visitor
        return visitor

    async def run(self, receive: Receive) -> None:
        plan = self.plan
        scope = self.scope
        visitor = self._identify()
        path: str = scope["path"]
        if path.startswith(plan.prefix) and plan.endpoints.owns(path):
            await self._respond(await plan.endpoints.answer(scope, receive, visitor))
            return
        decision = plan.rules.decide(visitor, path)
        if decision.blocked:
            plan.refusal.note(scope, visitor, decision)
            status, headers, body = plan.refusal.answer(scope, visitor)
            await self._send_whole(status, headers, body)
            return
        consent = plan.consent
        if consent is not None and consent.wants_gpc_record(visitor, scope):
            cookie = await consent.record_gpc(visitor, scope)
            if cookie is not None:
                self.extra = [cookie]
        if visitor.debug_place is not None:
            remembered = set_cookie(DEBUG_COOKIE, visitor.debug_place, max_age=None)
            self.extra = [*(self.extra or ()), remembered]
        await plan.app(scope, receive, self.send)
        injection = self.injection
        if injection is not None and not injection.done and self.passing is False:
            # The app started a response and sent no body message (an ASGI error): let the
            # server see the start it sent, enforced.
            self.passing = True
            await self.send_on(injection.start)

    async def handshake(self, receive: Receive) -> None:
        """A websocket handshake: refused before it is accepted when the country rules
        block the visitor, with an HTTP response where the server supports it
        (`websocket.http.response`), else a close code (4451 or 4403, custom codes a
        client can tell apart)."""
        plan = self.plan
        scope = self.scope
        visitor = self._identify()
        decision = plan.rules.decide(visitor, scope["path"])
        if not decision.blocked:
            await plan.app(scope, receive, self.send_on if plan.consent is None else self.send_ws)
            return
        plan.refusal.note(scope, visitor, decision)
        message = await receive()
        if message["type"] != "websocket.connect":
            return  # the client went away first
        status, headers, body = plan.refusal.answer(scope, visitor)
        if "websocket.http.response" in scope.get("extensions", {}):
            await self.send_on(
                {"type": "websocket.http.response.start", "status": status, "headers": headers}
            )
            await self.send_on({"type": "websocket.http.response.body", "body": body})
        else:
            await self.send_on({"type": "websocket.close", "code": 4000 + status})

    async def send_ws(self, message: Message) -> None:
        """What a websocket app calls: browsers take cookies from the handshake's answer
        too, so its Set-Cookie headers are enforced as a page's are."""
        if message["type"] in ("websocket.accept", "websocket.http.response.start"):
            consent = self.plan.consent
            assert consent is not None
            original = message.get("headers", [])
            headers = original if isinstance(original, list) else list(original)
            consent.inventory.note(headers)
            enforced = consent.cookie_headers(self.visitor, headers, self.scope)
            if enforced is not headers:
                message = {**message, "headers": enforced}
        await self.send_on(message)

    # -- gatekeeper's own responses ------------------------------------------------------

    async def _respond(self, response: Response) -> None:
        await self._send_whole(response.status, response_headers(response), response.body)

    async def _send_whole(self, status: int, headers: Headers, body: bytes) -> None:
        consent = self.plan.consent
        if consent is not None:
            headers = consent.cookie_headers(self.visitor, headers, self.scope)
        if status in NO_BODY_STATUSES:
            headers = [h for h in headers if h[0] != b"content-length"]
            body = b""
        elif self.scope["method"] == "HEAD":
            body = b""
        await self.send_on({"type": "http.response.start", "status": status, "headers": headers})
        await self.send_on({"type": "http.response.body", "body": body})

    # -- the app's response --------------------------------------------------------------

    async def send(self, message: Message) -> None:
        """What the app calls: enforcement on the start, injection on the body."""
        if self.passing:
            await self.send_on(message)
            return
        injection = self.injection
        kind = message["type"]
        if injection is None:
            if kind == "http.response.start":
                message = self._start(message)
                if self.injection is not None:
                    return  # held until the first body message
            await self.send_on(message)
        elif injection.done:
            await self.send_on(message)
        elif injection.splice is None:  # the start is held
            if kind == "http.response.body":
                start, first = injection.first(message)
                await self.send_on(start)
                if first is not None:
                    await self.send_on(first)
            else:  # http.response.pathsend, ...: nothing to splice
                self.passing = True
                await self.send_on(injection.start)
                await self.send_on(message)
        elif kind == "http.response.body":
            out = injection.next(message)
            if out is not None:
                await self.send_on(out)
        else:
            await self.send_on(message)

    def _start(self, message: Message) -> Message:
        """The response's start with cookies enforced; holds it when the body is HTML
        that gets notices or script gating."""
        plan = self.plan
        visitor = self.visitor
        original = message.get("headers", [])
        # Any iterable is allowed; we read it more than once.
        headers = original if isinstance(original, list) else list(original)
        cookies: list[bytes] = []
        # One pass over the app's headers: what the body may get, and the cookies set.
        # (The consent step only drops and adds Set-Cookie and Vary, which the verdict
        # does not read.)
        verdict = response_verdict(headers, cookies)
        consent = plan.consent
        if consent is not None:
            if cookies:
                consent.inventory.note_cookies(cookies)
            headers = consent.cookie_headers(visitor, headers, self.scope, cookies)
        if self.extra:
            headers = vary_with([*headers, *self.extra])
        status = message["status"]
        snippets = None
        if verdict and status not in NO_BODY_STATUSES and self.scope["method"] != "HEAD":
            snippets = self._snippets(status, headers, verdict)
        start = message if headers is original else {**message, "headers": headers}
        if snippets is None:
            self.passing = True
            return start
        self.injection = Injection(start, snippets, plan.max_hold, plan.placements)
        return start

    def _snippets(self, status: int, headers: Headers, verdict: int) -> Snippets | None:
        plan = self.plan
        scope = self.scope
        visitor = self.visitor
        consent = plan.consent
        gate = consent.transform(visitor, scope) if consent is not None else None
        transforms = (gate,) if gate is not None else ()
        if status != 200 or scope["method"] != "GET" or is_fragment_request(visitor.raw_headers):
            return Snippets(transforms=transforms) if transforms else None
        nonce = csp_nonce(headers) if verdict == HTML_WITH_CSP else None
        next_html, next_query = plan.next_values[(scope["path"], scope.get("query_string", b""))]
        values = {
            "nonce": b' nonce="%s"' % nonce.encode() if nonce else b"",
            "next": next_html,
            "next_q": next_query,
        }
        composed = plan.notices.compose(Page(scope, visitor, values, int(time.time() // 86400)))
        if composed is None:
            return Snippets(transforms=transforms) if transforms else None
        head, top, body = composed
        return Snippets(head=head, top=top, body=body, transforms=transforms)


__all__ = ["Gatekeeper", "Visit"]
