"""Site-wide settings: the site itself, languages, templates, rate limits, shared state."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator, Field, field_validator, model_validator

from ..fields import Href, Language, Model


class SiteSettings(Model):
    name: str = Field(description="The site's name, shown in notices.")
    revision: str = Field(
        description="Policy revision. Changing it asks every visitor for consent again."
    )
    operator_url: Href | None = Field(
        None, description="Who runs the site; used as the 451 `Link: rel=blocked-by` target."
    )
    contact_url: Href | None = Field(None, description="Where visitors can reach the operator.")

    @field_validator("revision", mode="before")
    @classmethod
    def _revision_as_text(cls, value: object) -> object:
        # YAML reads an unquoted 2026-11-27 as a date and 3 as a number; a revision is an
        # opaque label.
        if isinstance(value, date):
            return value.isoformat()
        return (
            str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
        )


class LanguageSettings(Model):
    default: Language = Field("en", description="Used when the visitor asks for none we have.")
    available: tuple[Language, ...] = Field(
        ("en",), description="Languages the notices are written in, matched to Accept-Language."
    )

    @model_validator(mode="after")
    def _default_available(self) -> LanguageSettings:
        if self.default not in self.available:
            raise ValueError(f"default language {self.default!r} is not in available")
        return self


class RateLimitSettings(Model):
    per_minute: float = Field(gt=0, description="Tokens added per minute.")
    burst: int = Field(ge=1, description="Requests allowed at once before the refill counts.")


class LimitSettings(Model):
    ipv4_prefix: int = Field(
        32, ge=8, le=32, description="IPv4 clients are counted per network of this size."
    )
    ipv6_prefix: int = Field(
        64,
        ge=16,
        le=128,
        description="IPv6 clients are counted per network of this size: a home connection "
        "holds a whole /64.",
    )
    beacon: RateLimitSettings = Field(
        RateLimitSettings(per_minute=30, burst=10),
        description="Adblock reports per client network.",
    )
    consent: RateLimitSettings = Field(
        RateLimitSettings(per_minute=60, burst=30), description="Consent posts per client network."
    )
    dismiss: RateLimitSettings = Field(
        RateLimitSettings(per_minute=60, burst=30),
        description="Dismissals (adblock notice, notifications) per client network.",
    )
    gpc_records: RateLimitSettings = Field(
        RateLimitSettings(per_minute=30, burst=30),
        description="GPC signals written to the consent log per client network; the rest "
        "is written on a later page view.",
    )


def _empty_is_none(value: object) -> object:
    # "${GATEKEEPER_REDIS:-}" with the variable unset: no Redis.
    return None if value == "" else value


class SharedSettings(Model):
    redis: Annotated[str | None, BeforeValidator(_empty_is_none)] = Field(
        None,
        pattern=r"^(redis|rediss|unix)://",
        description="Redis shared by every process and host (redis://host:6379/0): rate "
        "limits and re-checked adblock views are decided there. Without it each process "
        "decides alone.",
    )
    namespace: str = Field(
        "gatekeeper",
        pattern=r"^[A-Za-z0-9_.\-]+$",
        description="Prefix of gatekeeper's Redis keys; one per site sharing a Redis.",
    )
    flush_seconds: float = Field(
        5.0,
        gt=0,
        le=300,
        description="How often each process writes its counts (adblock, country blocks, "
        "GPC) to the audit.store database.",
    )


class TemplateSettings(Model):
    directory: Path | None = Field(
        None, description="Folder whose templates override the built-in ones, file by file."
    )


# --- IAB TCF and GPP ----------------------------------------------------------------------
