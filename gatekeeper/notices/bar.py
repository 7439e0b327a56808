"""The notification bar: the policy's notifications, scheduled, targeted, dismissible and
stacked by priority, at the top of the page."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..endpoints import Request, Response, Route, json_response, redirect_to
from ..html.fragment import Fragment
from ..html.render import Renderer
from ..http import set_cookie
from ..memo import Memo
from ..policy import path_matches
from ..policy.codes import expand
from ..policy.sections.notices import NotificationSettings
from . import DISMISSED_COOKIE, UI, Page, Parts

_EPOCH_ORDINAL = 719163  # date(1970, 1, 1).toordinal()
_YEAR = 365 * 86400


class NotificationBar:
    """A `NoticeSource`, and the `{prefix}/notifications/dismiss` endpoint."""

    def __init__(
        self,
        notes: Sequence[NotificationSettings],
        renderer: Renderer,
        languages: Iterable[str],
        prefix: str,
    ) -> None:
        self.ids = frozenset(note.id for note in notes)
        ordered = sorted(notes, key=lambda n: -n.priority)  # stable: file order breaks ties
        self.notes = [
            (
                note,
                note.starts.toordinal() - _EPOCH_ORDINAL if note.starts else None,
                note.ends.toordinal() - _EPOCH_ORDINAL if note.ends else None,
                expand(note.countries) if note.countries else None,
            )
            for note in ordered
        ]
        # What a selection depends on, beyond the day and the language: only what some
        # notification restricts by.
        self._by_place = any(note.countries for note in notes)
        self._by_path = any(note.paths for note in notes)
        self._dismissible = any(note.dismissible for note in notes)
        self._selections: Memo[tuple[object, ...], tuple[str, tuple[str, ...]] | None] = Memo(
            self._selection, 4096
        )
        self.rendered: dict[tuple[str, str], Fragment] = {}
        self.wrappers: dict[str, tuple[bytes, bytes]] = {}
        for language in languages:
            for note in ordered:
                markup = renderer.render(
                    "notification.html", language, note=note, prefix=prefix, ui=UI
                )
                self.rendered[(note.id, language)] = Fragment(markup.encode())
            bar = renderer.render("notification_bar.html", language, notes="\x00", ui=UI).encode()
            opening, _, closing = bar.partition(b"\x00")
            self.wrappers[language] = (opening, closing)

    def selected(self, page: Page) -> list[NotificationSettings]:
        visitor = page.visitor
        return self._select(
            page.day,
            visitor.places,
            page.path,
            visitor.language,
            dismissed_ids(visitor.cookies.get(DISMISSED_COOKIE)),
        )

    def _select(
        self,
        day: int,
        places: tuple[str, ...],
        path: str,
        language: str,
        dismissed: frozenset[str],
    ) -> list[NotificationSettings]:
        chosen = []
        for note, starts, ends, audience in self.notes:
            if (starts is not None and day < starts) or (ends is not None and day > ends):
                continue
            if audience is not None and not any(place in audience for place in places):
                continue
            if note.paths and not path_matches(path, note.paths):
                continue
            if note.languages and language not in note.languages:
                continue
            if note.dismissible and note.id in dismissed:
                continue
            chosen.append(note)
        return chosen

    def variant(self, page: Page) -> tuple[str, tuple[str, ...]] | None:
        """The language and the ids of the notifications the page shows, if any: the
        same bar for every page and visitor that selects the same ones."""
        visitor = page.visitor
        return self._selections[
            (
                page.day,
                visitor.language,
                visitor.places if self._by_place else None,
                page.path if self._by_path else None,
                visitor.cookies.get(DISMISSED_COOKIE) if self._dismissible else None,
            )
        ]

    def _selection(self, key: tuple[object, ...]) -> tuple[str, tuple[str, ...]] | None:
        day, language, places, path, dismissed = key
        notes = self._select(
            day,  # type: ignore[arg-type]
            places or (),  # type: ignore[arg-type]
            path or "",  # type: ignore[arg-type]
            language,  # type: ignore[arg-type]
            dismissed_ids(dismissed),  # type: ignore[arg-type]
        )
        return (language, tuple(note.id for note in notes)) if notes else None  # type: ignore[return-value]

    def render(self, variant: tuple[str, tuple[str, ...]]) -> Parts:
        language, ids = variant
        opening, closing = self.wrappers[language]
        return Parts(
            top=Fragment.joined(
                (
                    Fragment(opening),
                    *(self.rendered[(note_id, language)] for note_id in ids),
                    Fragment(closing),
                )
            )
        )

    async def dismiss(self, request: Request) -> Response:
        """POST {prefix}/notifications/dismiss: remember a dismissal in a necessary cookie."""
        note = request.field("id")
        if note not in self.ids:
            # An excerpt: an error names the input, it does not hand 8 KB of it back.
            shown = repr(note[:40]) if note is not None else "(none given)"
            return json_response({"error": f"unknown notification {shown}"}, 400)
        back = request.next_path()
        known = (request.visitor.cookies.get(DISMISSED_COOKIE) or "").split(".")
        kept = [i for i in dict.fromkeys(known) if i in self.ids and i != note]
        response = json_response({"dismissed": note}) if request.wants_json else redirect_to(back)
        response.headers.append(
            set_cookie(
                DISMISSED_COOKIE,
                ".".join([*kept, note]),
                max_age=_YEAR,
                secure=request.secure,
                http_only=False,
            )
        )
        return response

    def routes(self) -> dict[str, Route]:
        return {"/notifications/dismiss": Route(frozenset({"POST"}), self.dismiss)}


def dismissed_ids(value: str | None) -> frozenset[str]:
    """The notification ids a gk_dismissed cookie value names."""
    return frozenset(value.split(".")) if value else frozenset()
