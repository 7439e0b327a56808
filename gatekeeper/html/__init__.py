"""HTML for gatekeeper: the streaming injector and the CSP nonce it passes on."""

from gatekeeper.html.csp import csp_nonce
from gatekeeper.html.inject import HTMLInjector, ResponseHead, SnippetProvider, Snippets

__all__ = ["HTMLInjector", "ResponseHead", "SnippetProvider", "Snippets", "csp_nonce"]
