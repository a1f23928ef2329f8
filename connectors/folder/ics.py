"""Calendar events as iCalendar (RFC 5545) documents, with the ``icalendar`` package.

The folder destination stores one event per ``.ics`` file, so a re-run rewrites (or skips) one
small file instead of merging into a growing calendar file, and a page can never lose another
page's events. The event's ``UID`` is the ferry item id: a calendar application that imports the
same file twice updates the event instead of duplicating it.

Output is deterministic (``DTSTAMP`` comes from the event, not the clock), so an unchanged event
renders to the same bytes and the importer can tell "already there" from "changed".
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import icalendar

from ..models import CalendarEvent

__all__ = ["event_ics", "PRODID"]

PRODID = "-//ferry//folder destination//EN"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _when(value: datetime, all_day: bool) -> date | datetime:
    return value.date() if all_day else value


def _stamp(event: CalendarEvent) -> datetime:
    """DTSTAMP is required; derive it from the event so output does not depend on the clock."""
    value = event.start or _EPOCH
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def event_ics(event: CalendarEvent, *, calendar_name: str | None = None) -> bytes:
    """Render one event as a complete VCALENDAR document with one VEVENT.

    Args:
        event: the event; ``all_day`` events keep only the dates of start and end.
        calendar_name: shown as ``X-WR-CALNAME`` so importing apps can group the files.
    """
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    if calendar_name:
        cal.add("x-wr-calname", calendar_name)
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
    cal.add_component(vevent)
    return cal.to_ical()
