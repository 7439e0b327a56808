"""Notification bars and the offline notice."""

from __future__ import annotations

from datetime import date

from pydantic import Field, model_validator

from ..fields import Href, Language, Model, PathPattern, Place, Text, builtin_text


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
