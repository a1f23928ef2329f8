"""Facebook events -> one "Facebook events" calendar plus one event per answered/hosted/invited event.

Sources (each optional; a file that fails to parse is reported and the others still count):

* ``your_event_responses.json``: ``{"event_responses_v2": {"events_joined": [...],
  "events_declined": [...], "events_interested": [...]}}`` (older key ``event_responses``).
* ``your_events.json``: ``{"your_events_v2": [...]}``, the events you host (rsvp ``hosting``).
* ``event_invitations.json``: ``{"events_invited_v2": [...]}`` (rsvp ``invited``).

Entries are ``{name, start_timestamp, end_timestamp, description?, place?}``; an end of 0 means
"no end". The same event (name + start) can appear in several files; the first answer wins, in
the order joined, interested, declined, hosting, invited.
Event ids: ``stable_id("meta", "event", name, start_timestamp)``.
"""

from __future__ import annotations

import posixpath
from typing import Any

from ..models import Calendar, CalendarEvent, stable_id
from .elements import Report, dict_entries
from ..jsonread import JsonMember
from .media import epoch

__all__ = ["parse_events", "CALENDAR_ID"]

CALENDAR_ID = stable_id("meta", "calendar", "facebook-events")

_RESPONSES = (("events_joined", "joined"), ("events_interested", "interested"), ("events_declined", "declined"))


def _lists(name: str, doc: JsonMember, member: str, report: Report) -> list[tuple[str, list[dict[str, Any]]]]:
    """(rsvp, entries) pairs found in one events file; bad entries are reported, naming them."""
    if doc.root_type != "object":
        return []

    def entries(*candidates: tuple[str, ...]) -> list[dict[str, Any]]:
        return [e for _, e in dict_entries(doc, member, report, *candidates, what="an event list", required=False)]

    if name == "your_event_responses":
        top = next((k for k in ("event_responses_v2", "event_responses") if doc.type_at(k) == "object"), None)
        if top is None:
            return []
        return [(rsvp, entries((top, key))) for key, rsvp in _RESPONSES]
    if name == "your_events":
        if doc.type_at("your_events_v2") is None and doc.type_at("your_events") is None:
            return []
        return [("hosting", entries(("your_events_v2",), ("your_events",)))]
    if doc.type_at("events_invited_v2") is None and doc.type_at("events_invited") is None:
        return []
    return [("invited", entries(("events_invited_v2",), ("events_invited",)))]


_ORDER = {"your_event_responses": 0, "your_events": 1, "event_invitations": 2}


def parse_events(docs: list[tuple[str, JsonMember]], report: Report) -> list[Any]:
    """Build the calendar and its events from ``(member, document)`` pairs."""
    docs = sorted(docs, key=lambda d: (_ORDER.get(posixpath.splitext(posixpath.basename(d[0]))[0], 9), d[0]))
    events: list[CalendarEvent] = []
    seen: set[tuple[Any, Any]] = set()
    for member, data in docs:
        kind = posixpath.splitext(posixpath.basename(member))[0]
        found = _lists(kind, data, member, report)
        if not found:
            report(member, "no event list found (expected event_responses_v2, your_events_v2 or events_invited_v2)")
        for rsvp, entries in found:
            for entry in entries:
                name = entry.get("name") if isinstance(entry.get("name"), str) else None
                key = (name, entry.get("start_timestamp"))
                if key in seen:
                    continue
                seen.add(key)
                start, end = epoch(entry.get("start_timestamp")), epoch(entry.get("end_timestamp"))
                if start and end and end < start:
                    end = None
                place = entry.get("place") if isinstance(entry.get("place"), dict) else {}
                events.append(
                    CalendarEvent(
                        id=stable_id("meta", "event", *key),
                        calendar_id=CALENDAR_ID,
                        title=name,
                        notes=entry.get("description") if isinstance(entry.get("description"), str) else None,
                        location=place.get("name") if isinstance(place.get("name"), str) else None,
                        start=start,
                        end=end,
                        rsvp=rsvp,
                    )
                )
    if not events:
        return []
    calendar = Calendar(
        id=CALENDAR_ID,
        name="Facebook events",
        description="Events you answered, hosted or were invited to (from a Meta archive)",
    )
    return [calendar, *events]
