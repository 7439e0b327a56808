"""A real ad blocker for browser tests: Brave's adblock-rust engine (the `adblock` package)
on the real EasyList and EasyPrivacy, driven through Playwright.

What a blocking extension does, and this harness imitates:
- network: every request is checked against the lists for its resource type and the page
  it comes from (`context.route("**/*")`); a match is aborted as ERR_BLOCKED_BY_CLIENT;
- cosmetic: a content script at document start collects the classes and ids in the page
  (and keeps watching), asks the engine which hide rules apply to this URL and these
  names, and hides the matches with `display: none !important`, in a constructed
  stylesheet (invisible to the page and untouched by its CSP, as a user stylesheet is).
  Generic rules are skipped where the lists say `$generichide`, which is why pages must
  be served under a public-looking host name: EasyList exempts 127.0.0.1 and localhost.

`turn_off(page)` is the visitor pausing the blocker: requests pass and the hiding goes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conftest import require

LISTS = ("easylist.txt", "easyprivacy.txt")

# Playwright's resource types -> the request types of the filter syntax.
REQUEST_TYPES = {
    "document": "document",
    "stylesheet": "stylesheet",
    "image": "image",
    "media": "media",
    "font": "font",
    "script": "script",
    "texttrack": "media",
    "xhr": "xmlhttprequest",
    "fetch": "xmlhttprequest",
    "eventsource": "xmlhttprequest",
    "websocket": "websocket",
    "manifest": "other",
    "ping": "ping",
    "other": "other",
}

_CONTENT_SCRIPT = """
(() => {
  if (window.top !== window || !window.__gkEngine) return;
  const sheet = new CSSStyleSheet();
  let css = "", attached = false, scheduled = false, first = true;
  const classes = new Set(), ids = new Set();
  const attach = () => {
    if (attached) return;
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
    attached = true;
  };
  const scan = async () => {
    scheduled = false;
    const newClasses = [], newIds = [];
    for (const el of document.querySelectorAll("[class], [id]")) {
      for (const name of el.classList) if (!classes.has(name)) { classes.add(name); newClasses.push(name); }
      if (el.id && !ids.has(el.id)) { ids.add(el.id); newIds.push(el.id); }
    }
    if (!first && !newClasses.length && !newIds.length) return;
    const wantSpecific = first;
    first = false;
    const rules = await window.__gkEngine(location.href, newClasses, newIds, wantSpecific);
    if (!rules) return;
    css += rules;
    sheet.replaceSync(css);
    attach();
  };
  const later = () => { if (!scheduled) { scheduled = true; setTimeout(scan, 0); } };
  new MutationObserver(later).observe(document, {
    childList: true, subtree: true, attributes: true, attributeFilter: ["class", "id"],
  });
  window.__gkEngineOff = () => { css = ""; sheet.replaceSync(""); };
  later();
})();
"""


@dataclass(frozen=True, slots=True)
class Blocked:
    url: str
    type: str
    rule: str


@dataclass
class BlockingEngine:
    engine: Any
    enabled: bool = True
    blocked: list[Blocked] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)
    """Generic selectors handed out for the page's own classes and ids."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_lists(cls, directory: Path) -> BlockingEngine:
        try:
            import adblock
        except ImportError:
            require(False, "the adblock package is not installed (pip install -e '.[dev]')")
        missing = [name for name in LISTS if not (directory / name).is_file()]
        require(not missing, f"filter lists missing in {directory}: {', '.join(missing)}")
        filters = adblock.FilterSet(debug=True)  # debug: results name the matching rule
        for name in LISTS:
            filters.add_filter_list((directory / name).read_text(encoding="utf-8"))
        return cls(adblock.Engine(filter_set=filters, optimize=False))

    # --- the engine's answers ----------------------------------------------------------

    def rule_for(self, url: str, source: str, request_type: str) -> str | None:
        """The rule that blocks this request, or None when it passes."""
        result = self.engine.check_network_urls(url, source, request_type)
        return str(result.filter) if result.matched else None

    def hide_selectors(
        self, url: str, classes: list[str], ids: list[str], specific: bool = True
    ) -> list[str]:
        """The selectors the lists hide on this page, for these class names and ids."""
        resources = self.engine.url_cosmetic_resources(url)
        selectors = list(resources.hide_selectors) if specific else []
        if not resources.generichide and (classes or ids):
            generic = self.engine.hidden_class_id_selectors(classes, ids, resources.exceptions)
            selectors += generic
            with self._lock:
                self.hidden += generic
        return selectors

    # --- in the browser -----------------------------------------------------------------

    def attach(self, context: Any) -> None:
        """Block and hide in every page of this browser context."""
        context.expose_binding("__gkEngine", self._cosmetics)
        context.add_init_script(_CONTENT_SCRIPT)
        context.route("**/*", self._route)

    def turn_off(self, *pages: Any) -> None:
        self.enabled = False
        for page in pages:
            page.evaluate("window.__gkEngineOff && window.__gkEngineOff()")

    def _cosmetics(
        self, source: Any, url: str, classes: list[str], ids: list[str], specific: bool
    ) -> str:
        if not self.enabled:
            return ""
        # One rule per selector: a selector the browser cannot parse (some lists use
        # extended syntax) then drops only its own rule.
        selectors = self.hide_selectors(url, classes, ids, specific)
        return "".join(f"{s} {{ display: none !important; }}\n" for s in selectors)

    def _route(self, route: Any, request: Any) -> None:
        if not self.enabled:
            route.continue_()
            return
        request_type = REQUEST_TYPES.get(request.resource_type, "other")
        if request_type == "document" and request.is_navigation_request():
            route.continue_()  # pages themselves are not blocked ($document rules aside)
            return
        try:
            source = request.frame.url
        except Exception:  # a detached frame: fall back to what the request says
            source = request.headers.get("referer", request.url)
        rule = self.rule_for(request.url, source, request_type)
        if rule is None:
            route.continue_()
            return
        with self._lock:
            self.blocked.append(Blocked(request.url, request_type, rule))
        route.abort("blockedbyclient")
