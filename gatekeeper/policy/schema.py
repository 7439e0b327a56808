"""The policy: every decision gatekeeper makes comes from one of these frozen models.

Field descriptions double as the JSON Schema documentation that editors show, so they are
written for operators.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from .fields import Model, Network
from .sections.adblock import AdblockSettings
from .sections.audit import AuditSettings
from .sections.consent import ConsentSettings
from .sections.geo import GeoblockSettings, GeoIPSettings
from .sections.notices import NotificationSettings, OfflineNoticeSettings
from .sections.site import (
    LanguageSettings,
    LimitSettings,
    SharedSettings,
    SiteSettings,
    TemplateSettings,
)
from .sections.tcf import TcfSettings


class Policy(Model):
    site: SiteSettings
    secret_keys: tuple[str, ...] = Field(
        description="Keys that sign cookies and tokens: the first signs, all verify, so a "
        "new key goes first and old ones stay until their cookies expire. 32+ characters.",
        min_length=1,
    )
    prefix: str = Field("/_gatekeeper", pattern=r"^/[A-Za-z0-9_\-/]*[A-Za-z0-9_\-]$")
    debug: bool = Field(
        False,
        description="Lets ?gk_country=CC and the X-Gatekeeper-Country header pretend a location. "
        "Never in production.",
    )
    reload_interval: float = Field(
        2.0, ge=0, description="Seconds between checks for an edited policy file; 0 disables."
    )
    trusted_proxies: tuple[Network, ...] = Field(
        (), description="Proxies whose forwarding headers are believed."
    )
    proxy_headers: tuple[Literal["forwarded", "x-forwarded-for", "cf-connecting-ip"], ...] = Field(
        ("x-forwarded-for",),
        description="Headers read from trusted proxies, in order of preference. Name only "
        "headers your proxy sets: one it passes through from the client can be forged.",
    )
    geoip: GeoIPSettings = GeoIPSettings()
    languages: LanguageSettings = LanguageSettings()
    templates: TemplateSettings = TemplateSettings()
    consent: ConsentSettings = ConsentSettings()
    adblock: AdblockSettings = AdblockSettings()
    geoblock: GeoblockSettings = GeoblockSettings()
    notifications: tuple[NotificationSettings, ...] = ()
    offline_notice: OfflineNoticeSettings = OfflineNoticeSettings()
    audit: AuditSettings = AuditSettings()
    tcf: TcfSettings = Field(
        TcfSettings(), description="IAB TCF v2.3 and GPP strings for ad tech; off without a cmp_id."
    )

    @field_validator("tcf")
    @classmethod
    def _tcf_categories(cls, tcf: TcfSettings, info: ValidationInfo) -> TcfSettings:
        consent = info.data.get("consent")
        if consent is None:
            return tcf  # the consent section is broken and reported on its own
        mapped = [("categories", name) for name in tcf.categories]
        mapped += [
            (f"gpp.usnat.{key}", name)
            for key in ("sale", "sharing", "targeted_advertising")
            for name in getattr(tcf.gpp.usnat, key)
        ]
        for key, name in mapped:
            category = consent.categories.get(name)
            if category is None:
                known = ", ".join(consent.categories)
                raise ValueError(f"{key}: {name!r} is not one of the consent categories ({known})")
            if category.required:
                raise ValueError(f"{key}: {name!r} is required, so no choice can turn it off")
        return tcf

    limits: LimitSettings = LimitSettings()
    shared: SharedSettings = SharedSettings()

    @field_validator("secret_keys")
    @classmethod
    def _strong_keys(cls, keys: tuple[str, ...]) -> tuple[str, ...]:
        for index, key in enumerate(keys):
            if len(key) < 32:
                raise ValueError(
                    f"secret key #{index + 1} is {len(key)} characters; use 32 or more "
                    "(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
                )
        return keys

    @model_validator(mode="after")
    def _adblock_category(self) -> Policy:
        wanted = self.adblock.requires_consent
        if wanted not in ("auto", "none") and wanted not in self.consent.categories:
            known = ", ".join(("auto", "none", *self.consent.categories))
            raise ValueError(f"adblock.requires_consent: {wanted!r} is not one of: {known}")
        return self

    def adblock_category(self) -> str | None:
        """The category adblock detection needs (adblock.requires_consent resolved), or
        None when it needs none."""
        wanted = self.adblock.requires_consent
        if wanted == "none" or not self.consent.enabled:
            return None
        if wanted != "auto":
            return wanted
        optional = [(n, c) for n, c in self.consent.categories.items() if not c.required]
        for name, category in optional:
            if "ad_storage" in category.consent_mode:
                return name
        return optional[0][0] if optional else None

    @model_validator(mode="after")
    def _unique_notifications(self) -> Policy:
        ids = [n.id for n in self.notifications]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"notification ids must be unique: {', '.join(dupes)}")
        return self
