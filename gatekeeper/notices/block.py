"""The page shown to visitors from blocked places, pre-rendered per language."""

from __future__ import annotations

from ..html.render import Renderer
from ..policy import Policy
from . import UI


class BlockPage:
    def __init__(self, policy: Policy, renderer: Renderer, css_url: str) -> None:
        self.rendered = {
            language: renderer.render(
                "block.html",
                language,
                page=policy.geoblock.page,
                site=policy.site,
                css_url=css_url,
                reference="",
                ui=UI,
            ).encode()
            for language in policy.languages.available
        }

    def render(self, language: str) -> bytes:
        return self.rendered[language]
