"""The notification bar: the policy's notifications, scheduled, targeted, dismissible and
stacked by priority, at the top of the page."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ..endpoints import Request, Response, Route, json_response, redirect_to
from ..html.fragment import Fragment
from ..html.render import Renderer
from ..http import set_cookie
from ..policy import path_matches
from ..policy.codes import expand
from ..policy.schema import Notification
from . import DISMISSED_COOKIE, UI, Page, Parts

_EPOCH_ORDINAL = 719163  # date(1970, 1, 1).toordinal()
_YEAR = 365 * 86400


class NotificationBar:
    """A `NoticeSource`, and the `{prefix}/notifications/dismiss` endpoint."""

    def __init__(
        self,
        notes: Sequence[Notification],
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

    def selected(self, page: Page) -> list[Notification]:
        day = page.day
        visitor = page.visitor
        dismissed = dismissed_ids(visitor.cookies)
        places = visitor.places
        chosen = []
        for note, starts, ends, audience in self.notes:
            if (starts is not None and day < starts) or (ends is not None and day > ends):
                continue
            if audience is not None and not any(place in audience for place in places):
                continue
            if note.paths and not path_matches(page.path, note.paths):
                continue
            if note.languages and visitor.language not in note.languages:
                continue
            if note.dismissible and note.id in dismissed:
                continue
            chosen.append(note)
        return chosen

    def parts(self, page: Page) -> Parts | None:
        notes = self.selected(page)
        if not notes:
            return None
        language = page.visitor.language
        opening, closing = self.wrappers[language]
        values = page.values
        inner = b"".join(self.rendered[(note.id, language)].fill(values) for note in notes)
        return Parts(top=opening + inner + closing)

    async def dismiss(self, request: Request) -> Response:
        """POST {prefix}/notifications/dismiss: remember a dismissal in a necessary cookie."""
        note = request.field("id")
        if note not in self.ids:
            # An excerpt: an error names the input, it does not hand 8 KB of it back.
            shown = repr(note[:40]) if note is not None else "(none given)"
            return json_response({"error": f"unknown notification {shown}"}, 400)
        back = request.next_path()
        kept = [i for i in dismissed_ids(request.visitor.cookies) if i in self.ids and i != note]
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


def dismissed_ids(cookies: Mapping[str, str]) -> frozenset[str]:
    value = cookies.get(DISMISSED_COOKIE)
    return frozenset(value.split(".")) if value else frozenset()
