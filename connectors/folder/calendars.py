"""One ``.ics`` file per calendar: calendars claim a file, events are merged into it by UID.

Why a module of its own: events arrive a page at a time, but a calendar file holds them all. So
the importer hands events over (:meth:`CalendarFiles.add`) and flushes before anything else of
the page is planned and at the end of the page (:meth:`CalendarFiles.flush`): each touched file
is read once, merged (:func:`.ics.merge_calendar`) and written atomically once, and the events'
outcomes come back in the order they were added.

Exactly once: an event is "already there" when the file holds its UID with the same
``X-FERRY-HASH``; after a crash between the write and the ledger, the re-sent events are found
that way (SKIPPED, recorded as imported by the interrupted attempt). An event's destination id is
``<calendar file>#<UID>`` (one id per event; ``ferry verify`` looks for the UID in the file). A calendar's file is ours
when its ``X-FERRY-CALENDAR-ID`` names the calendar; a foreign ``Work.ics`` keeps its name and
ours becomes ``Work (<id8>).ics``. Events of no calendar go to ``Events.ics`` (owner
:data:`.ics.NO_CALENDAR`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..base import ItemOutcome
from ..errors import FerryError, ItemError
from ..models import Calendar, CalendarEvent
from .ics import NO_CALENDAR, calendar_ics, calendar_owner, merge_calendar
from ..names import name_candidates, safe_segment
from .tree import DestinationTree

__all__ = ["CalendarFiles", "LOOSE_EVENTS_NAME", "event_destination", "split_event_destination"]

LOOSE_EVENTS_NAME = "Events"


@dataclass(frozen=True)
class _Pending:
    event: CalendarEvent
    rel: str  # the calendar file, relative to the root
    owner: str


class CalendarFiles:
    """Calendar files under one folder of the destination (planning thread only).

    Args:
        tree: the destination.
        folder: where calendar files go (``calendars``).
    """

    def __init__(self, tree: DestinationTree, folder: str):
        self.tree = tree
        self.folder = folder
        self._pending: list[_Pending] = []
        self._loose: str | None = None

    # -- calendars ------------------------------------------------------------------------

    def calendar(self, calendar: Calendar) -> ItemOutcome:
        """Claim the calendar's file (creating an empty calendar); SKIPPED when ours and unchanged."""
        rel, created = self._claim(calendar.id, calendar.name or calendar.id, calendar.name, calendar.description)
        return ItemOutcome.imported(calendar.id, rel) if created else ItemOutcome.skipped(calendar.id, rel)

    def _claim(self, owner: str, title: str, name: str | None, description: str | None) -> tuple[str, bool]:
        base = safe_segment(title, fallback=owner) + ".ics"
        state = self.tree.state(self.folder)
        for candidate in name_candidates(base, owner):
            rel = f"{self.folder}/{candidate}"
            if self.tree.taken_by_other(rel, owner) or candidate in state.dirs or candidate in state.links:
                continue
            if candidate in state.files:
                existing = self.tree.read_small(self.folder, candidate, owner)
                if existing is None or calendar_owner(existing) != owner:
                    continue  # someone else's calendar file
                self.tree.claim(rel, owner)
                merged = merge_calendar(existing, [], name=name, description=description, owner=owner)
                if _header(merged.data) == _header(existing):
                    return rel, False
                self.tree.put_document(owner, self.folder, candidate, merged.data)
                return rel, True
            self.tree.claim(rel, owner)
            self.tree.put_document(owner, self.folder, candidate, calendar_ics(name, description, owner))
            return rel, True
        raise ItemError(owner, f"no free name for {base!r} in {self.tree.location.display(self.folder)}")

    # -- events ---------------------------------------------------------------------------

    def add(self, event: CalendarEvent, rel: str | None) -> None:
        """Queue ``event`` for the calendar file ``rel`` (None: the file of events of no calendar)."""
        if rel is None:
            if self._loose is None:
                self._loose, _ = self._claim(NO_CALENDAR, LOOSE_EVENTS_NAME, LOOSE_EVENTS_NAME, None)
            self._pending.append(_Pending(event, self._loose, NO_CALENDAR))
        else:
            self._pending.append(_Pending(event, rel, event.calendar_id or NO_CALENDAR))

    def flush(self) -> list[ItemOutcome]:
        """Write every queued event into its file; their outcomes in the order they were added.

        An event whose file cannot be written (gone, no longer ours, unreadable) is FAILED;
        systemic errors (FatalError, DestinationFull) propagate with nothing written for the rest.
        """
        pending, self._pending = self._pending, []
        outcomes: dict[str, ItemOutcome] = {}
        for rel in dict.fromkeys(p.rel for p in pending):
            group = [p for p in pending if p.rel == rel]
            try:
                outcomes.update(self._merge_into(rel, group))
            except ItemError as exc:
                for p in group:
                    outcomes[p.event.id] = ItemOutcome.failed(p.event.id, f"{p.event.display_name}: {exc.reason}", retryable=exc.retryable)
            except FerryError:
                raise
        return [outcomes[p.event.id] for p in pending]

    def _merge_into(self, rel: str, group: list[_Pending]) -> dict[str, ItemOutcome]:
        folder, _, name = rel.rpartition("/")
        owner = group[0].owner
        existing = self.tree.read_small(folder, name, owner)
        if existing is None:
            raise ItemError(owner, f"the calendar file {self.tree.location.display(rel)} is missing or unreadable", retryable=True)
        if calendar_owner(existing) != owner:
            raise ItemError(owner, f"{self.tree.location.display(rel)} is not ferry's file of this calendar any more; not written")
        header = _header(existing)
        merged = merge_calendar(existing, [p.event for p in group], name=header[0], description=header[1], owner=owner)
        if merged.changed:
            self.tree.put_document(owner, folder, name, merged.data)
        return {
            p.event.id: ItemOutcome.imported(p.event.id, event_destination(rel, p.event.id))
            if p.event.id in merged.changed
            else ItemOutcome.skipped(p.event.id, event_destination(rel, p.event.id))
            for p in group
        }


def event_destination(rel: str, uid: str) -> str:
    """An event's destination id: its calendar file and its UID, ``calendars/Work.ics#<uid>``."""
    return f"{rel}#{uid}"


def split_event_destination(destination_id: str, uid: str) -> str | None:
    """The calendar file of an event's destination id, or None when it is not of that form."""
    suffix = "#" + uid
    return destination_id[: -len(suffix)] if destination_id.endswith(suffix) else None


def _header(data: bytes) -> tuple[str | None, str | None]:
    """The calendar's name and description as written in its file."""
    import icalendar

    try:
        cal = icalendar.Calendar.from_ical(data)
    except Exception:
        return None, None
    name, description = cal.get("X-WR-CALNAME"), cal.get("X-WR-CALDESC")
    return (str(name) if name is not None else None, str(description) if description is not None else None)
