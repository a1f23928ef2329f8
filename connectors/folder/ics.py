"""Calendar events as iCalendar (RFC 5545) documents, with the ``icalendar`` package.

Two layouts (the importer's ``ics`` option):

* one ``.ics`` per calendar (the default): :func:`merge_calendar` adds or replaces events, keyed
  by ``UID``, in the calendar's file; a calendar application imports the whole calendar at once;
* one ``.ics`` per event (:func:`event_ics`): a re-run rewrites (or skips) one small file.

The event's ``UID`` is the ferry item id: an application that imports the same file twice updates
the event instead of duplicating it. A calendar file carries ``X-FERRY-CALENDAR-ID`` (the
calendar's item id) so the importer recognises its own file on a re-run, and every event an
``X-FERRY-HASH`` of its rendering (in calendar files), so "already there" is a comparison of
hashes, independent of how a parser re-serialises an event.

Output is deterministic (``DTSTAMP`` comes from the event, not the clock), so an unchanged event
renders to the same bytes and the importer can tell "already there" from "changed".
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone

import icalendar

from ..models import CalendarEvent

__all__ = ["event_ics", "event_component", "calendar_ics", "merge_calendar", "calendar_owner", "event_uids", "Merged", "PRODID", "NO_CALENDAR"]

PRODID = "-//ferry//folder destination//EN"
#: The owner id of the calendar file that holds events belonging to no calendar.
NO_CALENDAR = "ferry:no-calendar"
_OWNER = "X-FERRY-CALENDAR-ID"
_HASH = "X-FERRY-HASH"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _when(value: datetime, all_day: bool) -> date | datetime:
    return value.date() if all_day else value


def _stamp(event: CalendarEvent) -> datetime:
    """DTSTAMP is required; derive it from the event so output does not depend on the clock."""
    value = event.start or _EPOCH
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def event_component(event: CalendarEvent, *, stamped: bool = True) -> icalendar.Event:
    """One VEVENT; ``stamped``: with the hash of its own rendering (``X-FERRY-HASH``)."""
    vevent = icalendar.Event()
    vevent.add("uid", event.id)
    vevent.add("dtstamp", _stamp(event))
    if event.title:
        vevent.add("summary", event.title)
    if event.notes:
        vevent.add("description", event.notes)
    if event.location:
        vevent.add("location", event.location)
    if event.start is not None:
        vevent.add("dtstart", _when(event.start, event.all_day))
    if event.end is not None:
        vevent.add("dtend", _when(event.end, event.all_day))
    if event.rrule:
        vevent.add("rrule", icalendar.vRecur.from_ical(event.rrule))
    for attendee in event.attendees:
        if not attendee.email and not attendee.display_name:
            continue
        address = icalendar.vCalAddress(f"mailto:{attendee.email}" if attendee.email else "invalid:nomail")
        if attendee.display_name:
            address.params["cn"] = attendee.display_name
        address.params["role"] = "OPT-PARTICIPANT" if attendee.optional else "REQ-PARTICIPANT"
        vevent.add("attendee", address, encode=0)
    if event.rsvp:
        vevent.add("x-ferry-rsvp", event.rsvp)
    if stamped:
        vevent.add(_HASH.lower(), hashlib.sha256(vevent.to_ical()).hexdigest()[:32])
    return vevent


def _calendar(name: str | None, description: str | None = None, owner: str | None = None) -> icalendar.Calendar:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    if name:
        cal.add("x-wr-calname", name)
    if description:
        cal.add("x-wr-caldesc", description)
    if owner:
        cal.add(_OWNER.lower(), owner)
    return cal


def event_ics(event: CalendarEvent, *, calendar_name: str | None = None) -> bytes:
    """Render one event as a complete VCALENDAR document with one VEVENT (per-event layout).

    Args:
        event: the event; ``all_day`` events keep only the dates of start and end.
        calendar_name: shown as ``X-WR-CALNAME`` so importing apps can group the files.
    """
    cal = _calendar(calendar_name)
    cal.add_component(event_component(event, stamped=False))  # the same bytes as ferry wrote before
    return cal.to_ical()


def calendar_ics(name: str | None, description: str | None, owner: str) -> bytes:
    """An empty calendar file claimed by the calendar ``owner`` (its item id)."""
    return _calendar(name, description, owner).to_ical()


def _parse(data: bytes) -> icalendar.Calendar | None:
    try:
        parsed = icalendar.Calendar.from_ical(data)
    except Exception:  # a foreign or damaged file: not ours
        return None
    return parsed if isinstance(parsed, icalendar.Calendar) else None


def calendar_owner(data: bytes) -> str | None:
    """The ``X-FERRY-CALENDAR-ID`` of a calendar file, or None for a foreign one."""
    parsed = _parse(data)
    value = parsed.get(_OWNER) if parsed is not None else None
    return str(value) if value is not None else None


def event_uids(data: bytes) -> set[str]:
    """The UIDs of the events in an iCalendar document (empty for a foreign or broken one)."""
    parsed = _parse(data)
    if parsed is None:
        return set()
    return {str(e.get("UID")) for e in parsed.walk("VEVENT") if e.get("UID") is not None}


@dataclass(frozen=True)
class Merged:
    """The calendar file after a merge, and the ids of the events it changed or added."""

    data: bytes
    changed: frozenset[str]


def merge_calendar(existing: bytes, events: Sequence[CalendarEvent], *, name: str | None, description: str | None, owner: str) -> Merged:
    """Add ``events`` to a calendar file, replacing the event with the same UID.

    Events already there with the same ``X-FERRY-HASH`` are left as they are (not in
    ``changed``). Existing events keep their order; new ones are appended in the given order.
    """
    cal = _parse(existing) if existing else None
    out = _calendar(name, description, owner)
    current: dict[str, icalendar.Event] = {}
    order: list[str] = []
    if cal is not None:
        for component in cal.subcomponents:
            if isinstance(component, icalendar.Event) and component.get("UID") is not None:
                uid = str(component.get("UID"))
                if uid not in current:
                    order.append(uid)
                current[uid] = component
            elif not isinstance(component, icalendar.Event):
                out.add_component(component)  # time zones and the like stay
    changed = set()
    for event in events:
        rendered = event_component(event)
        had = current.get(event.id)
        if had is not None and str(had.get(_HASH, "")) == str(rendered.get(_HASH)):
            continue
        if had is None:
            order.append(event.id)
        current[event.id] = rendered
        changed.add(event.id)
    for uid in order:
        out.add_component(current[uid])
    return Merged(out.to_ical(), frozenset(changed))
