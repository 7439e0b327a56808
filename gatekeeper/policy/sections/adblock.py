"""The adblock section: where detection runs, its baits and its notice."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from ..fields import Model, PathPattern, Text, builtin_text

_BAIT_PATH = re.compile(r"^(/[A-Za-z0-9._~\-]+)+$")
# gatekeeper's own endpoints below the prefix, which a bait must not shadow.
_RESERVED = (
    "/static/",
    "/beacon",
    "/adblock/",
    "/consent",
    "/preferences",
    "/notifications/",
    "/audit",
)
_CLASS_NAME = re.compile(r"^-?[A-Za-z_][A-Za-z0-9_\-]*$")


def _bait_path(value: str) -> str:
    if not _BAIT_PATH.match(value) or any(s in (".", "..") for s in value.split("/")):
        raise ValueError(f"{value!r} must be a plain path such as /prebid/gpt.js")
    if value.startswith(_RESERVED):
        raise ValueError(f"{value!r} is taken by one of gatekeeper's own endpoints")
    return value


def _class_names(value: str) -> str:
    names = value.split()
    if not names or not all(_CLASS_NAME.match(name) for name in names):
        raise ValueError(f"{value!r} must be CSS class names separated by spaces")
    return " ".join(names)


BaitPath = Annotated[str, AfterValidator(_bait_path)]


class BaitSettings(Model):
    """Defaults tested against EasyList (Aug 2026) with Brave's engine in Chromium; each is
    blocked by two independent generic rules (see gatekeeper/adblock/baits.py)."""

    script: BaitPath = Field(
        "/prebid/gpt.js",
        description="Path (under the prefix) of the script bait. EasyList blocks it as a "
        "script by `/gpt.js$script` and `/prebid/*$script`.",
    )
    image: BaitPath = Field(
        "/adbanners/banner-728x90.gif",
        description="Path (under the prefix) of the image bait, an <img> in every page. "
        "EasyList blocks it by `/adbanners/*$image` and `-728x90.`.",
    )
    cosmetic_class: Annotated[str, AfterValidator(_class_names)] = Field(
        "ad-slot ad-unit ad-banner-container",
        description="Class names of the cosmetic bait element, separated by spaces; any one "
        "the lists hide hides it (EasyList: ##.ad-slot, ##.ad-unit, ##.ad-banner-container).",
    )

    @model_validator(mode="after")
    def _distinct(self) -> BaitSettings:
        if self.script == self.image:
            raise ValueError("script and image need different paths")
        return self


class AdblockNoticeSettings(Model):
    title: Text = builtin_text("Ad blocker detected", "The heading.")
    text: Text | None = Field(
        None,
        description="What you ask. Default: gatekeeper's own text in the visitor's "
        "language, one for the notice (reading on is allowed) and one for the wall (ads "
        "must be allowed to read on).",
    )
    recheck_label: Text = builtin_text(
        "I have allowed ads, check again", "The button that runs the check again."
    )
    dismiss_label: Text = builtin_text("Continue", "Closes the notice (never shown on a wall).")


class AdblockSettings(Model):
    mode: Literal["off", "notice", "wall"] = Field(
        "off", description="off, notice (dismissible) or wall (content hidden until allowed)."
    )
    paths: tuple[PathPattern, ...] = Field(("/*",), description="Where detection runs.")
    exempt_paths: tuple[PathPattern, ...] = ()
    frequency_hours: float = Field(24, ge=0, description="A dismissed notice stays away this long.")
    requires_consent: str = Field(
        "auto",
        description="The consent category detection needs, or none. Detection reads the "
        "visitor's terminal (ePrivacy Art. 5(3)): where consent is needed (opt-in places) "
        "neither baits nor gk_adblock reach a visitor who has not allowed this category. "
        "auto: the first optional category granting Consent Mode's ad_storage, else the "
        "first optional category.",
    )
    baits: BaitSettings = BaitSettings()
    notice: AdblockNoticeSettings = AdblockNoticeSettings()
