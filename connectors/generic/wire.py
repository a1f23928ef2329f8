"""Serializers: ferry items -> DTP ``GenericPayload`` envelopes, byte for byte as DTP sends them.

The contract (SPEC §4-5, written from DTP's Java code) in short:

* Envelope keys in order ``@type``, ``payload``, ``schemaSource``, ``apiVersion``; ``apiVersion``
  is always ``"0.1.0"``; compact JSON; every declared key present, ``null`` when unknown.
* Every nested object carries its ``@type`` (Java simple class name).
* Date-times: seconds always, a fraction only when non-zero, ``Z`` for UTC. Photo/Video/FavoriteInfo
  times are converted to UTC. ``File.dateModified`` and calendar times keep their offset.

Field mapping from :mod:`connectors.models` (lossy spots are marked):

==============  ==================================================================================
Album           id <- MediaAlbum.id, name, description
Photo / Video   name <- title, falling back to file_name; description; albumId <- album_id;
                uploadedTime <- uploaded_time, falling back to taken_time, falling back to the
                Unix epoch (DTP never sends null here: its serializer would crash, SPEC §5.2);
                favoriteInfo <- {lastUpdateTime: same time as uploadedTime, favorite}
Folder          path <- Folder.path (already absolute)
File            folder, name, dateModified <- modified (null when unknown)
Calendar        id, name, description
CalendarEvent   calendarId, title, notes, attendees, location, startTime/endTime
                {dateTime, dateOnly <- all_day}; recurrenceRule is always null because DTP
                cannot send one (SPEC §5.6): the item's ``rrule`` is dropped (lossy)
SocialActivity  metadata.actor <- {id: null, name: actor_name, url: null} (null without a name);
                activity {id, published, type, attachments, location, title, content, url};
                a location without coordinates gets 0.0 (Java primitives), like DTP
==============  ==================================================================================
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ..models import (
    Calendar,
    CalendarEvent,
    File,
    Folder,
    Item,
    Location,
    MediaAlbum,
    Photo,
    SocialPost,
    Video,
)
from .jsonenc import dumps

__all__ = [
    "API_VERSION",
    "SCHEMA_SOURCES",
    "ENDPOINTS",
    "EPOCH",
    "format_time",
    "payload_of",
    "envelope",
    "envelope_bytes",
    "endpoint_of",
    "is_file_item",
    "file_mime_type",
]

API_VERSION = "0.1.0"
_BASE = "https://github.com/dtinit/data-transfer-project/blob/master"
_GENERIC = f"{_BASE}/extensions/data-transfer/portability-data-transfer-generic/src/main/java/org/datatransferproject/datatransfer/generic"
_CALENDAR_MODELS = f"{_BASE}/portability-types-common/src/main/java/org/datatransferproject/types/common/models/calendar"

#: ``@type`` of a payload -> its ``schemaSource`` (SPEC §4).
SCHEMA_SOURCES: dict[str, str] = {
    "Album": f"{_GENERIC}/MediaSerializer.java",
    "Photo": f"{_GENERIC}/MediaSerializer.java",
    "Video": f"{_GENERIC}/MediaSerializer.java",
    "Folder": f"{_GENERIC}/BlobbySerializer.java",
    "File": f"{_GENERIC}/BlobbySerializer.java",
    "SocialActivity": f"{_GENERIC}/SocialPostsSerializer.java",
    "Calendar": f"{_CALENDAR_MODELS}/CalendarModel.java",
    "CalendarEvent": f"{_CALENDAR_MODELS}/CalendarEventModel.java",
}

#: ``@type`` of a payload -> endpoint suffix (SPEC §2).
ENDPOINTS: dict[str, str] = {
    "Album": "media",
    "Photo": "media",
    "Video": "media",
    "Folder": "blobs",
    "File": "blobs",
    "Calendar": "calendar",
    "CalendarEvent": "calendar",
    "SocialActivity": "social-posts",
}

_KIND_TYPES = {
    "album": "Album",
    "photo": "Photo",
    "video": "Video",
    "folder": "Folder",
    "file": "File",
    "calendar": "Calendar",
    "event": "CalendarEvent",
    "post": "SocialActivity",
}

#: Used for photos and videos without any timestamp (DTP would crash instead, SPEC §5.2).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TOKEN_CHARS = frozenset("!#$&-^_.+")
_TIME_TYPE = "CalendarEventModel$CalendarEventTime"


def format_time(value: datetime | None, *, utc: bool = False, instant: bool = False) -> str | None:
    """Print a date-time as Jackson does (``2024-11-27T13:16:32Z``, ``...T01:02:03+01:00``).

    Args:
        value: the time; a naive value is taken as UTC.
        utc: convert to UTC first (Photo/Video/FavoriteInfo/``Instant`` fields).
        instant: print the fraction in groups of 3 digits, as ``java.time.Instant`` does;
            otherwise trailing zeros are dropped (``ZonedDateTime``/``OffsetDateTime``).
    """
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=UTC)
    if utc or instant:
        value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        digits = f"{value.microsecond:06d}"
        if instant:
            text += "." + (digits[:3] if digits.endswith("000") else digits)
        else:
            text += "." + digits.rstrip("0")
    offset = value.utcoffset() or timedelta(0)
    if not offset:
        return text + "Z"
    total = int(offset.total_seconds())
    sign = "-" if total < 0 else "+"
    hours, rest = divmod(abs(total), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{text}{sign}{hours:02d}:{minutes:02d}" + (f":{seconds:02d}" if seconds else "")


def _media(item: Photo | Video, kind: str) -> dict[str, Any]:
    when = format_time(item.uploaded_time or item.taken_time or EPOCH, utc=True)
    return {
        "@type": kind,
        "name": item.title or item.file_name,
        "description": item.description,
        "albumId": item.album_id,
        "uploadedTime": when,
        "favoriteInfo": {"@type": "FavoriteInfo", "lastUpdateTime": when, "favorite": item.favorite},
    }


def _event_time(value: datetime | None, all_day: bool) -> dict[str, Any] | None:
    if value is None:
        return None
    return {"@type": _TIME_TYPE, "dateTime": format_time(value), "dateOnly": all_day}


def _location(location: Location | None) -> dict[str, Any] | None:
    if location is None:
        return None
    return {
        "@type": "SocialActivityLocation",
        "name": location.name,
        "longitude": float(location.longitude or 0.0),
        "latitude": float(location.latitude or 0.0),
    }


def _post(item: SocialPost) -> dict[str, Any]:
    actor = None
    if item.actor_name is not None:
        actor = {"@type": "SocialActivityActor", "id": None, "name": item.actor_name, "url": None}
    return {
        "@type": "SocialActivity",
        "metadata": {"@type": "SocialActivityMetadata", "actor": actor},
        "activity": {
            "@type": "SocialActivityModel",
            "id": item.id,
            "published": format_time(item.published, instant=True),
            "type": item.type,
            "attachments": [
                {
                    "@type": "SocialActivityAttachment",
                    "type": attachment.type,
                    "url": attachment.url,
                    "name": attachment.name,
                    "content": attachment.content,
                }
                for attachment in item.attachments
            ],
            "location": _location(item.location),
            "title": item.title,
            "content": item.content,
            "url": item.url,
        },
    }


def payload_of(item: Item) -> dict[str, Any]:
    """Return the ``payload`` object for ``item`` (keys in DTP's order, every key present).

    Raises:
        TypeError: the item's kind has no Generic Importer payload.
    """
    if isinstance(item, MediaAlbum):
        return {"@type": "Album", "id": item.id, "name": item.name, "description": item.description}
    if isinstance(item, Photo):
        return _media(item, "Photo")
    if isinstance(item, Video):
        return _media(item, "Video")
    if isinstance(item, Folder):
        return {"@type": "Folder", "path": item.path}
    if isinstance(item, File):
        return {
            "@type": "File",
            "folder": item.folder,
            "name": item.name,
            "dateModified": format_time(item.modified),
        }
    if isinstance(item, Calendar):
        return {"@type": "Calendar", "id": item.id, "name": item.name, "description": item.description}
    if isinstance(item, CalendarEvent):
        return {
            "@type": "CalendarEvent",
            "calendarId": item.calendar_id,
            "title": item.title,
            "notes": item.notes,
            "attendees": [
                {
                    "@type": "CalendarAttendeeModel",
                    "displayName": attendee.display_name,
                    "email": attendee.email,
                    "optional": attendee.optional,
                }
                for attendee in item.attendees
            ],
            "location": item.location,
            "startTime": _event_time(item.start, item.all_day),
            "endTime": _event_time(item.end, item.all_day),
            "recurrenceRule": None,
        }
    if isinstance(item, SocialPost):
        return _post(item)
    raise TypeError(f"the Generic Importer has no payload for {type(item).__name__} items")


def envelope(payload: dict[str, Any]) -> dict[str, Any]:
    """Wrap a payload in the ``GenericPayload`` envelope (SPEC §4)."""
    kind = payload["@type"]
    return {
        "@type": "GenericPayload",
        "payload": payload,
        "schemaSource": SCHEMA_SOURCES[kind],
        "apiVersion": API_VERSION,
    }


def envelope_bytes(item: Item) -> bytes:
    """The compact UTF-8 JSON envelope for ``item``, as DTP puts it on the wire."""
    return dumps(envelope(payload_of(item)))


def endpoint_of(item: Item) -> str:
    """The endpoint suffix (``media``, ``blobs``, ``calendar``, ``social-posts``) for ``item``."""
    kind = _KIND_TYPES.get(getattr(item, "kind", ""))
    if kind is None:
        raise TypeError(f"the Generic Importer has no endpoint for {type(item).__name__} items")
    return ENDPOINTS[kind]


def is_file_item(item: Item) -> bool:
    """True for items sent as multipart/related with their bytes (Photo, Video, File)."""
    return isinstance(item, (Photo, Video, File))


def file_mime_type(item: Photo | Video | File) -> str:
    """The part-2 Content-Type; unparseable values become application/octet-stream (SPEC §3.3)."""
    value = (item.mime_type or "").strip()
    kind, slash, sub = value.partition("/")
    subtype = sub.split(";")[0].strip()
    token_ok = all(part and all(ch.isalnum() or ch in _TOKEN_CHARS for ch in part) for part in (kind, subtype))
    return value if slash and token_ok else "application/octet-stream"
