"""The adblock feature in a stack of gatekeeper's own stages, for tests.

`adblock_stack` composes the stages the middleware uses (identify, the adblock stage,
endpoints, the HTML injector with the adblock notice source) around an app, so feature
tests can pass options the policy does not hold (a clock, short view lifetimes);
`wrap` is the real `Gatekeeper`.
"""

from __future__ import annotations

from typing import Any

from gatekeeper.adblock import AdblockFeature
from gatekeeper.endpoints import Endpoints
from gatekeeper.html import HTMLInjector
from gatekeeper.html.assets import Assets
from gatekeeper.html.render import Renderer
from gatekeeper.language import LanguageNegotiator
from gatekeeper.middleware import Gatekeeper
from gatekeeper.net import ProxyTrust
from gatekeeper.notices import Notices
from gatekeeper.policy import Policy
from gatekeeper.visitor import Identify


def adblock_stack(app: Any, policy: Policy, **options: Any) -> tuple[Any, AdblockFeature]:
    """identify -> adblock stage -> endpoints -> HTML injector (adblock notice) -> app."""
    renderer = Renderer(
        default_language=policy.languages.default, directory=policy.templates.directory
    )
    assets = Assets(policy.prefix, policy.templates.directory)
    feature = AdblockFeature(policy, renderer, policy.prefix, **options)
    notices = Notices([feature], renderer, assets, policy.languages.available)
    inner: Any = HTMLInjector(app, notices)
    inner = Endpoints(inner, policy.prefix, feature.routes(), static=assets.serve)
    inner = feature.stage(inner)
    entry = Identify(
        inner,
        proxies=ProxyTrust(policy.trusted_proxies, policy.proxy_headers),
        geo=None,
        languages=LanguageNegotiator(policy.languages.available, policy.languages.default),
        debug=policy.debug,
    )
    return entry, feature


def wrap(app: Any, policy_path: str) -> tuple[Any, AdblockFeature, str]:
    """The app wrapped by Gatekeeper, and its adblock feature."""
    gatekeeper = Gatekeeper(app, policy=policy_path)
    return gatekeeper, gatekeeper._stack.adblock, "Gatekeeper"
