"""HTML for gatekeeper: rendering, pre-split fragments, the streaming injector and the CSP
nonce it passes on."""

from gatekeeper.html.csp import csp_nonce
from gatekeeper.html.inject import HTMLInjector, Injection, ResponseHead, SnippetProvider, Snippets

__all__ = ["HTMLInjector", "Injection", "ResponseHead", "SnippetProvider", "Snippets", "csp_nonce"]
