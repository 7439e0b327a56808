"""The consent section: the cookie, categories, jurisdiction modes and the banner's texts."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from ...i18n import builtin
from ..codes import expand
from ..fields import Href, Model, Place, Text, builtin_text


class ConsentCookieSettings(Model):
    name: str = Field("gk_consent", pattern=r"^[A-Za-z0-9_\-]+$")
    domain: str | None = Field(None, description="Share consent across subdomains: .example.com")
    path: str = "/"
    secure: Literal["auto", "always", "never"] = Field(
        "auto", description="auto: Secure when the request came over HTTPS."
    )
    same_site: Literal["lax", "strict", "none"] = "lax"


class CategorySettings(Model):
    required: bool = Field(False, description="Always on; cannot be refused (strictly necessary).")
    label: Text = Field(description="Name shown on the switch.")
    description: Text | None = None
    cookies: tuple[str, ...] = Field(
        (), description="Cookie names or globs (_ga_*) set by this category."
    )
    hosts: tuple[str, ...] = Field(
        (),
        description="Hosts or globs (*.doubleclick.net) whose untagged scripts, iframes and "
        "images belong to this category.",
    )
    consent_mode: tuple[
        Literal[
            "ad_storage",
            "analytics_storage",
            "ad_user_data",
            "ad_personalization",
            "functionality_storage",
            "personalization_storage",
            "security_storage",
        ],
        ...,
    ] = Field((), description="Google Consent Mode v2 keys granted by this category.")
    sale_or_sharing: bool = Field(
        False,
        description="Sale or sharing of personal information (US law): refused by Global "
        "Privacy Control and by the 'Do not sell or share' link.",
    )


class ModeSettings(Model):
    opt_in: tuple[Place, ...] = Field(
        (), description="Places where nothing but necessary runs until the visitor accepts."
    )
    opt_out: tuple[Place, ...] = Field(
        (), description="Places where categories run until the visitor refuses."
    )
    notice: tuple[Place, ...] = Field((), description="Places shown a notice only.")
    default: Literal["opt_in", "opt_out", "notice"] = Field(
        "opt_in", description="Mode for known places not listed above."
    )
    unknown: Literal["opt_in", "opt_out", "notice"] = Field(
        "opt_in", description="Mode when the location is unknown (loopback, not in database)."
    )

    @model_validator(mode="after")
    def _disjoint(self) -> ModeSettings:
        seen: dict[str, str] = {}
        for mode in ("opt_in", "opt_out", "notice"):
            for place in sorted(expand(getattr(self, mode))):
                if place in seen and seen[place] != mode:
                    raise ValueError(f"{place} is listed under both {seen[place]} and {mode}")
                seen[place] = mode
        return self


class BannerSettings(Model):
    title: Text = builtin_text("Your privacy", "The heading.")
    text: Text = builtin_text(
        "With your consent, we use cookies to measure how the site is used and to pay for "
        "it with advertising. Choose what you allow; you can change your mind at any time.",
        "What you ask and why.",
    )
    privacy_url: Href = Field("/privacy", description="Link to the privacy policy.")
    accept_label: Text = builtin_text("Accept all", "The accept button.")
    reject_label: Text = builtin_text(
        "Reject all", "The reject button, on the first layer next to accept."
    )
    customise_label: Text = builtin_text("Customise", "Opens the per-category choices.")
    save_label: Text = builtin_text("Save choices", "Saves the per-category choices.")
    preferences_label: Text = builtin_text(
        "Privacy choices", "The link that reopens the choices once the banner is gone."
    )
    do_not_sell_label: Text = builtin_text(
        "Do not sell or share my personal information", "The opt-out link in opt-out places."
    )
    notice_text: Text = builtin_text(
        "This site uses cookies for analytics and advertising.",
        "Text of the notice-only mode.",
    )
    acknowledge_label: Text = builtin_text(
        "Understood", "The one button of the notice-only mode: acknowledges the notice."
    )
    gpc_honoured_text: Text = builtin_text(
        "Your opt-out signal was honoured",
        "Shown to visitors whose Global Privacy Control signal is honoured.",
    )


class ConsentSettings(Model):
    enabled: bool = True
    cookie: ConsentCookieSettings = ConsentCookieSettings()
    max_age_days: int = Field(180, ge=1, le=400, description="Re-ask after this many days.")
    modes: ModeSettings = ModeSettings()
    gpc: Literal["honor", "ignore"] = Field(
        "honor",
        description="Global Privacy Control (Sec-GPC: 1): honor refuses sale_or_sharing "
        "categories for that visitor.",
    )
    gpc_places: tuple[Place, ...] = Field(
        (), description="Where GPC is honoured; empty means everywhere."
    )
    unlisted_cookies: str = Field(
        "necessary",
        description="Category that a cookie matching no category's patterns belongs to.",
    )
    categories: dict[str, CategorySettings] = Field(
        # Built without validation, which would copy the label into a plain dict and lose
        # the mark that makes it a built-in (translated) text.
        default_factory=lambda: {
            "necessary": CategorySettings.model_construct(
                required=True, label=builtin("Strictly necessary")
            )
        },
        description="Consent categories, in the order shown.",
    )
    banner: BannerSettings = BannerSettings()

    @model_validator(mode="after")
    def _categories(self) -> ConsentSettings:
        for name in self.categories:
            if not re.match(r"^[a-z][a-z0-9_]*$", name):
                raise ValueError(f"category name {name!r}: use lower-case letters, digits, _")
        if not any(c.required for c in self.categories.values()):
            raise ValueError("one category must be required: true (strictly necessary)")
        if self.unlisted_cookies not in self.categories:
            raise ValueError(
                f"unlisted_cookies: {self.unlisted_cookies!r} is not one of the categories "
                f"({', '.join(self.categories)})"
            )
        return self
