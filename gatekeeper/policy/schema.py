"""The policy: every decision gatekeeper makes comes from one of these frozen models.

Field descriptions double as the JSON Schema documentation that editors show, so they are
written for operators.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from ..i18n import builtin
from .codes import COUNTRIES, check_place, expand


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --- reusable field types -------------------------------------------------------------

_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def _language(code: str) -> str:
    if not _LANGUAGE.match(code):
        raise ValueError(f"{code!r} is not a language tag such as 'en' or 'pt-BR'")
    return code


def _text(value: object) -> object:
    # A plain string is the same text in every language.
    return {"*": value} if isinstance(value, str) else value


def _text_keys(value: dict[str, str]) -> dict[str, str]:
    for key in value:
        if key != "*":
            _language(key)
    if not value:
        raise ValueError("a text needs at least one language")
    return value


Language = Annotated[str, AfterValidator(_language)]
Text = Annotated[
    dict[str, str],
    BeforeValidator(_text),
    AfterValidator(_text_keys),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string"},
                {"type": "object", "additionalProperties": {"type": "string"}},
            ],
            "description": "A text, or one text per language: {en: ..., de: ...}",
        }
    ),
]
Place = Annotated[str, AfterValidator(check_place)]


def builtin_text(msgid: str, description: str) -> Any:
    """A text field that defaults to gatekeeper's own text, in the visitor's language.

    `msgid` is the English source of that text in the catalogues (gatekeeper/i18n), and
    the extraction keyword that puts it there. A factory, not a default value: pydantic
    would try to write a BuiltinText into the JSON Schema; the schema shows the English.
    """
    return Field(
        default_factory=lambda: builtin(msgid),
        description=f"{description} Default: gatekeeper's own text in the visitor's "
        f'language ("{msgid}" in English).',
        json_schema_extra={"default": msgid},
    )


def _network(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value.strip(), strict=False))
    except ValueError:
        example = "10.0.0.0/8 or 2001:db8::/32"
        raise ValueError(f"{value!r} is not an IP network such as {example}") from None


Network = Annotated[str, AfterValidator(_network)]


def _path_pattern(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError(f"{value!r} must start with '/' (a path or a glob such as /video/*)")
    return value


PathPattern = Annotated[str, AfterValidator(_path_pattern)]


def _local_href(value: str) -> str:
    if value.startswith(("/", "https://", "http://", "mailto:", "tel:", "#")):
        return value
    raise ValueError(f"{value!r} must be a site path (/contact) or an absolute http(s) URL")


Href = Annotated[str, AfterValidator(_local_href)]


def path_matches(path: str, patterns: tuple[str, ...]) -> bool:
    """Glob match of a request path: `*` spans segments, `/video/*` also matches `/video`."""
    for pattern in patterns:
        if fnmatch.fnmatchcase(path, pattern):
            return True
        if pattern.endswith("/*") and path == pattern[:-2]:
            return True
    return False


# --- sections ---------------------------------------------------------------------------


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


class LinkSettings(Model):
    label: Text
    href: Href


class NotificationSettings(Model):
    id: str = Field(pattern=r"^[A-Za-z0-9_\-]+$", description="Remembers dismissals.")
    text: Text
    links: tuple[LinkSettings, ...] = ()
    starts: date | None = None
    ends: date | None = None
    dismissible: bool = True
    priority: int = Field(0, description="Higher shows first.")
    countries: tuple[Place, ...] = Field((), description="Audience; empty means everyone.")
    paths: tuple[PathPattern, ...] = ()
    languages: tuple[Language, ...] = ()

    @model_validator(mode="after")
    def _order(self) -> NotificationSettings:
        if self.starts and self.ends and self.ends < self.starts:
            raise ValueError(f"ends ({self.ends}) is before starts ({self.starts})")
        return self


class OfflineNoticeSettings(Model):
    enabled: bool = False
    text: Text = builtin_text(
        "You appear to be offline. Check your connection; the page carries on once it is back.",
        "Shown while the connection is down.",
    )


class AuditViewSettings(Model):
    enabled: bool = False
    token: str | None = Field(None, description="Bearer token or ?token= for the auditor view.")
    username: str | None = None
    password: str | None = None


class AuditSinkSettings(Model):
    url: str = Field(pattern=r"^https?://", description="HTTPS collector receiving records.")
    token: str | None = None
    batch_size: int = Field(100, ge=1)


class AuditSettings(Model):
    store: str = Field(
        "sqlite:///gatekeeper-consent.db",
        description="sqlite:///PATH (relative to the policy file) or postgresql://...",
    )
    retention_days: int = Field(395, ge=1)
    ip: Literal["truncate", "hash", "none"] = Field(
        "truncate", description="How the visitor's IP is kept: /24 or /48, keyed hash, or not."
    )
    signing_key: Path | None = Field(
        None, description="Ed25519 private key (PEM) that signs checkpoints."
    )
    checkpoint_every: int = Field(1000, ge=1, description="Records between signed checkpoints.")
    checkpoint_interval: float = Field(
        300.0,
        gt=0,
        le=86400,
        description="Seconds within which every record is under a signed checkpoint: one "
        "deployment-wide checkpoint per interval while records arrive.",
    )
    witness: str | None = Field(
        None,
        description="Where each signed head goes, outside the database: an http(s) URL "
        "(POSTed as JSON), a directory (one file per head) or a file (one head per line).",
    )
    retired_keys: tuple[Path, ...] = Field(
        (),
        description="Public keys (PEM) of earlier signing keys: verify accepts their "
        "signatures on the checkpoints made before the key changed.",
    )
    sink: AuditSinkSettings | None = None
    view: AuditViewSettings = AuditViewSettings()


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

IAB_GVL_URL = "https://vendor-list.consensu.org/v3/vendor-list.json"
IAB_TRANSLATIONS_URL = "https://vendor-list.consensu.org/v3/purposes-{language}.json"
# TCF v2.2 removed legitimate interest as a legal basis for purposes 3 to 6, and purpose 1
# (storage and access) has only ever been consent ("Consent string and vendor list formats
# v2", PurposesLITransparency).
_NO_LEGITIMATE_INTEREST = frozenset({1, 3, 4, 5, 6})
TcfPurposeId = Annotated[int, Field(ge=1, le=24)]
TcfSpecialFeatureId = Annotated[int, Field(ge=1, le=12)]
TcfVendorId = Annotated[int, Field(ge=1, le=65535)]


def _vendor_kind(value: object) -> str:
    return "all" if isinstance(value, str) else "ids"


# `all` or a list of ids; the discriminator keeps a bad list from also being told it is
# not the word "all".
TcfVendors = Annotated[
    Annotated[Literal["all"], Tag("all")] | Annotated[tuple[TcfVendorId, ...], Tag("ids")],
    Discriminator(_vendor_kind),
]


def _unique(values: tuple[int, ...], what: str) -> tuple[int, ...]:
    dupes = sorted({v for v in values if values.count(v) > 1})
    if dupes:
        raise ValueError(f"{what} {', '.join(map(str, dupes))} is listed more than once")
    return values


def _no_legitimate_interest(purposes: tuple[int, ...]) -> tuple[int, ...]:
    forbidden = sorted(set(purposes) & _NO_LEGITIMATE_INTEREST)
    if forbidden:
        raise ValueError(
            f"purpose {', '.join(map(str, forbidden))} cannot rest on legitimate interest "
            "under TCF v2.2 (purposes 1 and 3 to 6 need consent)"
        )
    return purposes


def _among_purposes(ids: tuple[int, ...], info: ValidationInfo) -> tuple[int, ...]:
    used = info.data.get("purposes")
    unknown = sorted(set(ids) - set(used)) if used is not None else []
    if unknown:
        raise ValueError(f"purpose {', '.join(map(str, unknown))} is not in tcf.purposes")
    return ids


class TcfRestrictionSettings(Model):
    purpose: TcfPurposeId = Field(description="The TCF purpose the restriction is about.")
    type: Literal["not_allowed", "require_consent", "require_legitimate_interest"] = Field(
        description="not_allowed: the vendors may not use this purpose at all; "
        "require_consent / require_legitimate_interest: vendors that declared the purpose "
        "flexible must use that legal basis."
    )
    vendors: TcfVendors = Field(
        "all", description="GVL vendor ids the restriction applies to, or all of the selection."
    )

    @field_validator("vendors")
    @classmethod
    def _unique_vendors(cls, value: str | tuple[int, ...]) -> str | tuple[int, ...]:
        return value if isinstance(value, str) else _unique(value, "vendor")

    @field_validator("type")
    @classmethod
    def _meaningful(cls, value: str, info: ValidationInfo) -> str:
        if value == "require_legitimate_interest":
            _no_legitimate_interest((info.data.get("purpose", 0),))
        return value


class TcfGvlSettings(Model):
    file: Path = Field(
        Path("gvl/vendor-list.json"),
        description="Where `gatekeeper tcf update` keeps the Global Vendor List; its "
        "translations go next to it as purposes-LANG.json. Relative to the policy file.",
    )
    url: str = Field(
        IAB_GVL_URL, pattern=r"^https?://", description="Where the vendor list is downloaded."
    )
    translations_url: str = Field(
        IAB_TRANSLATIONS_URL,
        pattern=r"^https?://.*\{language\}",
        description="Where a translation is downloaded; {language} becomes the language code.",
    )
    check_interval: float = Field(
        60.0, gt=0, description="Seconds between checks for a replaced vendor list file."
    )


class UsNatSettings(Model):
    sale: tuple[str, ...] = Field(
        (), description="Consent categories whose refusal opts the visitor out of sale."
    )
    sharing: tuple[str, ...] = Field(
        (), description="Consent categories whose refusal opts out of sharing (cross-context ads)."
    )
    targeted_advertising: tuple[str, ...] = Field(
        (), description="Consent categories whose refusal opts out of targeted advertising."
    )
    mspa_covered_transaction: bool = Field(
        False, description="The site signed the IAB Multi-State Privacy Agreement for these ads."
    )
    mspa_mode: Literal["none", "opt_out_option", "service_provider"] = Field(
        "none", description="The MSPA mode the site runs in, when the transaction is covered."
    )

    @model_validator(mode="after")
    def _mode_needs_mspa(self) -> UsNatSettings:
        if self.mspa_mode != "none" and not self.mspa_covered_transaction:
            raise ValueError("mspa_mode needs mspa_covered_transaction: true")
        return self


class GppSettings(Model):
    sections: tuple[Literal["tcfeuv2", "usnat"], ...] = Field(
        ("tcfeuv2",),
        description="GPP sections in the GPP string: tcfeuv2 (the TC string, for tcf.places) "
        "and usnat (US states' opt-outs, for usnat_places).",
    )
    usnat_places: tuple[Place, ...] = Field(("US",), description="Where the usnat section applies.")
    usnat: UsNatSettings = UsNatSettings()

    @field_validator("sections")
    @classmethod
    def _sections(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("each GPP section may be listed once")
        return value


class TcfSettings(Model):
    cmp_id: int | None = Field(
        None,
        ge=2,
        le=4095,
        description="The CMP id IAB Europe assigned to you. Without one TCF stays off: only a "
        "registered CMP may create TC strings.",
    )
    cmp_version: int = Field(1, ge=1, le=4095, description="Your CMP version; raise it on change.")
    publisher_country: str | None = Field(
        None,
        validate_default=True,
        description="ISO 3166-1 country whose law the site follows (PublisherCC); required "
        "with a cmp_id.",
    )
    places: tuple[Place, ...] = Field(
        ("EEA", "GB"), description="Where GDPR applies: there the TCF notice and strings are used."
    )
    purposes: tuple[TcfPurposeId, ...] = Field(
        tuple(range(1, 12)), description="TCF purposes the site and its vendors use."
    )
    legitimate_interest: tuple[TcfPurposeId, ...] = Field(
        (),
        description="Purposes among `purposes` that may rest on legitimate interest, which "
        "visitors can object to (never 1 or 3 to 6).",
    )
    special_features: tuple[TcfSpecialFeatureId, ...] = Field(
        (), description="Special features (1 precise geolocation, 2 device scanning) asked for."
    )
    vendors: TcfVendors = Field(
        "all", description="GVL vendor ids the site works with, or all of the vendor list."
    )
    restrictions: tuple[TcfRestrictionSettings, ...] = Field(
        (), description="Publisher restrictions on what vendors may do."
    )
    publisher_purposes: tuple[TcfPurposeId, ...] = Field(
        (),
        description="Purposes the site itself uses, recorded in the Publisher TC segment.",
    )
    categories: dict[str, tuple[TcfPurposeId, ...]] = Field(
        default_factory=dict,
        description="Consent category -> TCF purposes: the category counts as accepted when "
        "every purpose listed is, so cookies, scripts and Consent Mode follow the TCF choice.",
    )
    gvl: TcfGvlSettings = TcfGvlSettings()
    gpp: GppSettings = GppSettings()

    @property
    def enabled(self) -> bool:
        return self.cmp_id is not None

    @field_validator("publisher_country")
    @classmethod
    def _country(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            if info.data.get("cmp_id") is not None:
                raise ValueError(
                    "required with a cmp_id: the country whose law the site follows, such as DE"
                )
            return None
        code = check_place(value)
        if code not in COUNTRIES:
            raise ValueError(f"{value!r}: name one country, such as DE")
        return code

    @field_validator("purposes")
    @classmethod
    def _purposes(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        return _unique(value, "purpose")

    @field_validator("special_features")
    @classmethod
    def _special_features(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        return _unique(value, "special feature")

    @field_validator("vendors")
    @classmethod
    def _vendors(cls, value: str | tuple[int, ...]) -> str | tuple[int, ...]:
        return value if isinstance(value, str) else _unique(value, "vendor")

    @field_validator("legitimate_interest")
    @classmethod
    def _legitimate_interest(cls, value: tuple[int, ...], info: ValidationInfo) -> tuple[int, ...]:
        return _among_purposes(_no_legitimate_interest(value), info)

    @field_validator("publisher_purposes")
    @classmethod
    def _publisher_purposes(cls, value: tuple[int, ...], info: ValidationInfo) -> tuple[int, ...]:
        return _among_purposes(value, info)

    @field_validator("restrictions")
    @classmethod
    def _restrictions(
        cls, value: tuple[TcfRestrictionSettings, ...], info: ValidationInfo
    ) -> tuple[TcfRestrictionSettings, ...]:
        _among_purposes(tuple(r.purpose for r in value), info)
        return value

    @field_validator("categories")
    @classmethod
    def _categories(
        cls, value: dict[str, tuple[int, ...]], info: ValidationInfo
    ) -> dict[str, tuple[int, ...]]:
        for ids in value.values():
            _among_purposes(ids, info)
        return value


# --- the whole policy -------------------------------------------------------------------


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
