"""The consent banner, the persistent way back to the choices, and Consent Mode defaults.

The first layer is in the page only while the visitor has no valid decision (opt-in and
notice regions); opt-out regions get the "Do not sell or share" link instead. Everything
is rendered once per language and mode; the Consent Mode defaults once per set of
granted keys.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from markupsafe import Markup

from ..html.fragment import Fragment
from ..html.render import Renderer
from ..memo import Memo
from ..policy import Policy
from . import UI, Page, Parts

OPT_IN, OPT_OUT, NOTICE = "opt_in", "opt_out", "notice"
MODES = (OPT_IN, OPT_OUT, NOTICE)


def consent_mode_keys(policy: Policy) -> dict[str, tuple[str, ...]]:
    """Consent Mode key -> the categories that grant it."""
    keys: dict[str, list[str]] = {}
    for name, category in policy.consent.categories.items():
        for key in category.consent_mode:
            keys.setdefault(key, []).append(name)
    return {key: tuple(names) for key, names in sorted(keys.items())}


def consent_mode_state(
    keys: Mapping[str, tuple[str, ...]], allowed: frozenset[str]
) -> dict[str, str]:
    return {
        key: "granted" if any(c in allowed for c in categories) else "denied"
        for key, categories in keys.items()
    }


class ConsentBanner:
    """A `NoticeSource` reading `visitor.consent` (mode, decided, allowed)."""

    def __init__(self, policy: Policy, renderer: Renderer) -> None:
        banner = policy.consent.banner
        optional = {n: c for n, c in policy.consent.categories.items() if not c.required}
        self.keys = consent_mode_keys(policy)
        self.banners: dict[tuple[str, str], Parts] = {}
        self.reopen: dict[tuple[str, str], Fragment] = {}
        self.first_layer: dict[tuple[str, str], Fragment] = {}
        for language in policy.languages.available:
            for mode in MODES:
                label = banner.do_not_sell_label if mode == OPT_OUT else banner.preferences_label
                context = {
                    "prefix": policy.prefix,
                    "banner": banner,
                    "categories": policy.consent.categories,
                    "optional": optional,
                    "mode": mode,
                    "ui": UI,
                    "reopen_label": label,
                }
                self.first_layer[(language, mode)] = Fragment(
                    renderer.render("consent_banner.html", language, **context).encode()
                )
                self.reopen[(language, mode)] = Fragment(
                    renderer.render(
                        "consent_reopen.html", language, label=label, **context
                    ).encode()
                )
        self._mode_template = renderer.env.get_template("consent_mode.html")
        # The defaults script depends only on the granted set and whether the visitor
        # decided: a handful of variants, each rendered once.
        self._mode_scripts: Memo[tuple[frozenset[str], bool], Fragment] = Memo(
            self._consent_mode_script, 256
        )

    def _consent_mode_script(self, key: tuple[frozenset[str], bool]) -> Fragment:
        allowed, decided = key
        data: dict[str, object] = dict(consent_mode_state(self.keys, allowed))
        if not decided:
            data["wait_for_update"] = 500
        # JSON in a script element: escape "<" so no value can close the element.
        text = json.dumps(data, sort_keys=True).replace("<", "\\u003c")
        return Fragment(self._mode_template.render(defaults=Markup(text)).encode())

    def parts(self, page: Page) -> Parts | None:
        consent = page.visitor.consent
        if consent is None:
            return None
        values = page.values
        decided = consent.decided  # type: ignore[attr-defined]
        mode = consent.mode  # type: ignore[attr-defined]
        head = (
            self._mode_scripts[(consent.allowed, decided)].fill(values)  # type: ignore[attr-defined]
            if self.keys
            else b""
        )
        key = (page.visitor.language, mode)
        # Opt-out regions get no first layer: everything runs until refused, and the
        # "Do not sell or share" link is always there.
        if decided or mode == OPT_OUT:
            return Parts(head=head, body=self.reopen[key].fill(values))
        return Parts(head=head, body=self.first_layer[key].fill(values))
