"""The consent banner, the persistent way back to the choices, the preferences dialog and
Consent Mode defaults.

The first layer is in the page only while the visitor has no valid decision (opt-in and
notice places); opt-out places get the "Do not sell or share" link instead. All of it goes
in the dock (compose.py): the first layer, then the link back (hidden while the first
layer is up), then the preferences dialog that link opens. The first layer and the link
are rendered once per language, mode and GPC state; the dialog, whose switches show what
the visitor allows, once per such state as it is first asked for; the Consent Mode
defaults once per set of granted keys.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from ..html.fragment import EMPTY, Fragment
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


def gpc_honoured(consent: Any) -> bool:
    """Whether to tell the visitor that their opt-out signal (GPC) was honoured: it is
    honoured where they are, and no category of sale or sharing runs. A visitor who
    explicitly allowed one since is not told so (their choice won over the signal)."""
    return bool(consent.gpc) and not (consent.allowed & consent.sale_or_sharing)


class ConsentBanner:
    """A `NoticeSource` reading `visitor.consent` (mode, decided, allowed, gpc)."""

    def __init__(self, policy: Policy, renderer: Renderer) -> None:
        banner = policy.consent.banner
        self.renderer = renderer
        self.keys = consent_mode_keys(policy)
        self.first_layer: dict[tuple[str, str, bool], Fragment] = {}
        self.reopen: dict[tuple[str, str, bool, bool], Fragment] = {}
        self.contexts: dict[tuple[str, str], dict[str, Any]] = {}
        for language in policy.languages.available:
            for mode in MODES:
                label = banner.do_not_sell_label if mode == OPT_OUT else banner.preferences_label
                context = self.contexts[(language, mode)] = {
                    "prefix": policy.prefix,
                    "banner": banner,
                    "categories": policy.consent.categories,
                    "mode": mode,
                    "ui": UI,
                    "label": label,
                }
                for gpc in (False, True):
                    if mode != OPT_OUT:
                        self.first_layer[(language, mode, gpc)] = self._render(
                            "consent_banner.html", language, gpc=gpc, **context
                        )
                    for hidden in (False, True):
                        self.reopen[(language, mode, gpc, hidden)] = self._render(
                            "consent_reopen.html", language, gpc=gpc, hidden=hidden, **context
                        )
        self._dialogs: Memo[tuple[str, str, frozenset[str], bool, bool], Fragment] = Memo(
            self._dialog, 4096
        )
        self._mode_template = renderer.env.get_template("consent_mode.html")
        # The defaults script depends only on the granted set and whether the visitor
        # decided: a handful of variants, each rendered once.
        self._mode_scripts: Memo[tuple[frozenset[str], bool], Fragment] = Memo(
            self._consent_mode_script, 256
        )

    def _render(self, template: str, language: str, **context: Any) -> Fragment:
        return Fragment(self.renderer.render(template, language, **context).encode())

    def _dialog(self, key: tuple[str, str, frozenset[str], bool, bool]) -> Fragment:
        """The preferences dialog for one state: language, mode, allowed, decided, GPC."""
        language, mode, allowed, decided, gpc = key
        context = self.contexts[(language, mode)]
        switches = {name: name in allowed for name in context["categories"]}
        return self._render(
            "preferences_dialog.html",
            language,
            allowed=switches,
            decided=decided,
            gpc=gpc,
            **context,
        )

    def _consent_mode_script(self, key: tuple[frozenset[str], bool]) -> Fragment:
        allowed, decided = key
        data: dict[str, object] = dict(consent_mode_state(self.keys, allowed))
        if not decided:
            data["wait_for_update"] = 500
        # JSON in a script element: escape "<" so no value can close the element.
        text = json.dumps(data, sort_keys=True).replace("<", "\\u003c")
        return Fragment(self._mode_template.render(defaults=Markup(text)).encode())

    def variant(self, page: Page) -> tuple[str, str, frozenset[str], bool, bool] | None:
        consent: Any = page.visitor.consent
        if consent is None:
            return None
        return (
            page.visitor.language,
            consent.mode,
            consent.allowed,
            consent.decided,
            gpc_honoured(consent),
        )

    def render(self, variant: tuple[str, str, frozenset[str], bool, bool]) -> Parts:
        language, mode, allowed, decided, gpc = variant
        head = self._mode_scripts[(allowed, decided)] if self.keys else EMPTY
        dialog = self._dialogs[variant]
        # Opt-out places get no first layer: everything runs until refused, and the
        # "Do not sell or share" link is always there.
        if decided or mode == OPT_OUT:
            body = Fragment.joined((self.reopen[(language, mode, gpc, False)], dialog))
        else:
            body = Fragment.joined(
                (
                    self.first_layer[(language, mode, gpc)],
                    self.reopen[(language, mode, gpc, True)],
                    dialog,
                )
            )
        return Parts(head=head, body=body)
