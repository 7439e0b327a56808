"""The paper's text: its articles (`content/articles.toml`) and everything else the pages
show beside them (`content/site.toml`: the name, the sidebar).

The files are read once, when the module is imported. Their values are plain text; a
long one may be wrapped over lines, and line breaks read as spaces (in an article's
`body`, a blank line separates paragraphs).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

CONTENT = Path(__file__).resolve().parent / "content"

SUBSCRIBE_SLUG = "subscribe"
"""Not news: the subscription offer the demo policy's "Buy Now!" link points to."""


@dataclass(frozen=True, slots=True)
class Figure:
    src: str
    width: int
    height: int
    alt: str
    caption: str


@dataclass(frozen=True, slots=True)
class Article:
    slug: str
    title: str
    summary: str
    published: date
    byline: str
    section: str
    paragraphs: tuple[str, ...]
    figure: Figure | None = None

    @property
    def url(self) -> str:
        return f"/articles/{self.slug}"


@dataclass(frozen=True, slots=True)
class Site:
    """The paper's name and the sidebar beside every page."""

    name: str
    tagline: str
    most_read: tuple[Article, ...]
    tides: tuple[tuple[str, str, str, str, str], ...]
    """Day, morning time and height, evening time and height."""
    forecast: str
    in_brief: tuple[dict[str, str], ...]
    whats_on: tuple[dict[str, str], ...]
    notices: tuple[dict[str, str], ...]
    letters: tuple[dict[str, str], ...]
    archive: tuple[dict[str, str], ...]


def _text(value: str) -> str:
    return " ".join(value.split())


def _paragraphs(body: str) -> tuple[str, ...]:
    return tuple(_text(p) for p in re.split(r"\n\s*\n", body) if p.strip())


def _items(tables: list[dict[str, str]]) -> tuple[dict[str, str], ...]:
    return tuple({key: _text(value) for key, value in table.items()} for table in tables)


def load_articles(path: Path = CONTENT / "articles.toml") -> tuple[Article, ...]:
    """The articles, newest first, as the file lists them."""
    with path.open("rb") as file:
        tables: list[dict[str, Any]] = tomllib.load(file)["articles"]
    articles = tuple(_article(table) for table in tables)
    slugs = [article.slug for article in articles]
    if len(set(slugs)) != len(slugs) or SUBSCRIBE_SLUG in slugs:
        raise ValueError(f"{path}: article slugs must be unique and not {SUBSCRIBE_SLUG!r}")
    return articles


def _article(table: dict[str, Any]) -> Article:
    figure = table.get("figure")
    return Article(
        slug=table["slug"],
        title=_text(table["title"]),
        summary=_text(table["summary"]),
        published=table["published"],
        byline=_text(table["byline"]),
        section=_text(table["section"]),
        paragraphs=_paragraphs(table["body"]),
        figure=_figure(figure) if figure is not None else None,
    )


def _figure(table: dict[str, Any]) -> Figure:
    return Figure(
        src=table["src"],
        width=table["width"],
        height=table["height"],
        alt=_text(table["alt"]),
        caption=_text(table["caption"]),
    )


def load_site(articles: tuple[Article, ...], path: Path = CONTENT / "site.toml") -> Site:
    """The name and sidebar; `most_read` names articles by slug."""
    with path.open("rb") as file:
        data: dict[str, Any] = tomllib.load(file)
    by_slug = {article.slug: article for article in articles}
    return Site(
        name=data["name"],
        tagline=data["tagline"],
        most_read=tuple(by_slug[slug] for slug in data["most_read"]),
        tides=tuple(tuple(row) for row in data["tides"]),
        forecast=_text(data["forecast"]),
        in_brief=_items(data["in_brief"]),
        whats_on=_items(data["whats_on"]),
        notices=_items(data["notices"]),
        letters=_items(data["letters"]),
        archive=_items(data["archive"]),
    )


ARTICLES = load_articles()
SITE = load_site(ARTICLES)
