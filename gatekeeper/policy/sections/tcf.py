"""IAB TCF v2.3 and GPP: the CMP, purposes, vendors, restrictions and US sections."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Discriminator, Field, Tag, ValidationInfo, field_validator, model_validator

from ..codes import COUNTRIES, check_place
from ..fields import Model, Place

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
