"""GeoIP and the geoblock section: the database, country rules, exemptions, the block page."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from ..fields import Model, Network, PathPattern, Place, Text, builtin_text


class GeoIPSettings(Model):
    database: Path | None = Field(
        None,
        description="MaxMind .mmdb file (Country or City). Relative paths are resolved "
        "against the policy file's folder.",
    )
    anonymous_database: Path | None = Field(
        None, description="Optional GeoIP2 Anonymous-IP database, for geoblock.anonymous."
    )
    on_missing: Literal["error", "allow", "block"] = Field(
        "error",
        description="When the database is missing or unreadable: refuse to start (error), "
        "treat every location as unknown and let it in (allow), or treat it as unknown "
        "and apply geoblock.unknown as if it were 'block' (block).",
    )
    cache_size: int = Field(4096, ge=0, description="Lookups remembered per process.")
    check_interval: float = Field(
        5.0, gt=0, description="Seconds between checks for a replaced database file."
    )


class GeoRuleSettings(Model):
    paths: tuple[PathPattern, ...] = Field(description="Globs this rule applies to.")
    allow: tuple[Place, ...] | None = Field(None, description="Only these places may enter.")
    deny: tuple[Place, ...] | None = Field(None, description="These places are blocked.")

    @model_validator(mode="after")
    def _one_list(self) -> GeoRuleSettings:
        if (self.allow is None) == (self.deny is None):
            raise ValueError("a rule needs exactly one of allow or deny")
        return self


class GeoExemptSettings(Model):
    paths: tuple[PathPattern, ...] = ()
    networks: tuple[Network, ...] = ()


class BlockPageSettings(Model):
    title: Text = builtin_text("This page is not available in your region", "The heading.")
    text: Text = builtin_text(
        "For legal reasons we cannot show this content where you are. If you think this is "
        "a mistake, please get in touch.",
        "Why the visitor is blocked.",
    )
    contact_label: Text = builtin_text("Contact us", "The link to site.contact_url.")


class GeoblockSettings(Model):
    allow: tuple[Place, ...] | None = Field(
        None, description="If set, only these places may use the site."
    )
    deny: tuple[Place, ...] = Field((), description="Places blocked from the whole site.")
    rules: tuple[GeoRuleSettings, ...] = Field((), description="Per-path rules, first match wins.")
    unknown: Literal["allow", "block"] = Field(
        "allow", description="Visitors whose location is unknown."
    )
    anonymous: Literal["allow", "block"] = Field(
        "allow", description="Anonymous proxies, VPNs and Tor (needs geoip.anonymous_database)."
    )
    status: Literal[451, 403] = 451
    exempt: GeoExemptSettings = GeoExemptSettings()
    page: BlockPageSettings = BlockPageSettings()
