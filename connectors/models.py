"""Pydantic models of the data verticals ferry moves.

The verticals follow the Data Transfer Project's: PHOTOS (albums + photos), VIDEOS (albums + videos),
MEDIA (albums + photos + videos), SOCIAL_POSTS, CALENDAR (calendars + events) and BLOBS (folders +
files). Every item is frozen and carries ``id``, a stable idempotent id derived from the source
(see :func:`stable_id`), so a retried or resumed item is recognisable by the ledger and by the
destination.

Items that carry bytes (:class:`Photo`, :class:`Video`, :class:`File`) hold a ``ref``: an opaque
locator that only the exporter that produced the item understands (``Exporter.open_bytes``).
"""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Vertical",
    "stable_id",
    "Item",
    "MediaAlbum",
    "Photo",
    "Video",
    "Location",
    "SocialAttachment",
    "SocialPost",
    "Calendar",
    "Attendee",
    "CalendarEvent",
    "Folder",
    "File",
    "AnyItem",
    "BYTE_ITEM_KINDS",
    "CONTAINER_KINDS",
    "VERTICAL_KINDS",
    "parents_first",
    "import_rank",
]


class Vertical(enum.StrEnum):
    """A kind of data a connector can export or import (DTP's names, lower-case)."""

    PHOTOS = "photos"
    VIDEOS = "videos"
    MEDIA = "media"
    SOCIAL_POSTS = "social-posts"
    CALENDAR = "calendar"
    BLOBS = "blobs"


def stable_id(*parts: object) -> str:
    """Return a stable id (24 hex chars of sha256) for the given source coordinates.

    Why: ids must survive restarts and be equal on every machine, so never Python ``hash()``.
    Parts are joined with a separator that cannot occur in ``str(None)`` or numbers, and ``None``
    is kept distinct from the empty string.
    """
    digest = hashlib.sha256()
    for part in parts:
        token = "\x00" if part is None else str(part)
        digest.update(token.encode("utf-8", "surrogatepass"))
        digest.update(b"\x1f")
    return digest.hexdigest()[:24]


class Item(BaseModel):
    """Base of every transferable item: frozen, with a stable idempotent ``id``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(description="Stable idempotent id derived from the source.")

    @property
    def display_name(self) -> str:
        """A name a person recognises in error lists (title, name or path)."""
        for attr in ("title", "name", "path"):
            value = getattr(self, attr, None)
            if value:
                return str(value)
        return self.id


class MediaAlbum(Item):
    """A photo/video album. Imported before the media that reference it."""

    kind: Literal["album"] = "album"
    name: str | None = None
    description: str | None = None


class Location(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str | None = None
    latitude: float | None = None
    longitude: float | None = None


class _MediaItem(Item):
    """Shared shape of photos and videos (DTP's MediaItemExportData)."""

    album_id: str | None = None
    title: str | None = Field(None, description="Usually the file name.")
    description: str | None = None
    mime_type: str = "application/octet-stream"
    taken_time: datetime | None = None
    uploaded_time: datetime | None = None
    favorite: bool = False
    location: Location | None = None
    size: int | None = Field(None, description="Byte size when the source knows it.")
    ref: str = Field(description="Exporter-private locator of the bytes.")
    file_name: str = Field(description="Safe base name to store the bytes under.")


class Photo(_MediaItem):
    kind: Literal["photo"] = "photo"


class Video(_MediaItem):
    kind: Literal["video"] = "video"


class SocialAttachment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    type: Literal["LINK", "IMAGE", "VIDEO"] | None = None
    url: str | None = None
    name: str | None = None
    content: str | None = None
    media_id: str | None = Field(None, description="Id of the Photo/Video item carrying the bytes, if any.")


class SocialPost(Item):
    """A post, note or check-in with its attachments (metadata only; media move as Photo/Video)."""

    kind: Literal["post"] = "post"
    published: datetime | None = None
    type: Literal["POST", "NOTE", "CHECKIN"] = "POST"
    title: str | None = None
    content: str | None = None
    url: str | None = None
    attachments: tuple[SocialAttachment, ...] = ()
    location: Location | None = None
    actor_name: str | None = None


class Calendar(Item):
    kind: Literal["calendar"] = "calendar"
    name: str | None = None
    description: str | None = None


class Attendee(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    display_name: str | None = None
    email: str | None = None
    optional: bool = False


class CalendarEvent(Item):
    """An event; ``all_day`` events keep only the date part of start/end."""

    kind: Literal["event"] = "event"
    calendar_id: str | None = None
    title: str | None = None
    notes: str | None = None
    location: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    all_day: bool = False
    attendees: tuple[Attendee, ...] = ()
    rrule: str | None = Field(None, description="RFC 5545 RRULE value, e.g. 'FREQ=WEEKLY;COUNT=3'.")
    rsvp: str | None = Field(None, description="The owner's answer: joined, declined, interested.")


class Folder(Item):
    """A folder; ``path`` is absolute and '/'-separated, e.g. '/Photos/2020'."""

    kind: Literal["folder"] = "folder"
    path: str


class File(Item):
    kind: Literal["file"] = "file"
    folder: str = Field("/", description="Path of the containing folder, as in Folder.path.")
    name: str
    mime_type: str = "application/octet-stream"
    modified: datetime | None = None
    size: int | None = None
    ref: str


AnyItem = Annotated[
    Union[MediaAlbum, Photo, Video, SocialPost, Calendar, CalendarEvent, Folder, File],
    Field(discriminator="kind"),
]

BYTE_ITEM_KINDS = frozenset({"photo", "video", "file"})

VERTICAL_KINDS: dict[Vertical, frozenset[str]] = {
    Vertical.PHOTOS: frozenset({"album", "photo"}),
    Vertical.VIDEOS: frozenset({"album", "video"}),
    Vertical.MEDIA: frozenset({"album", "photo", "video"}),
    Vertical.SOCIAL_POSTS: frozenset({"post"}),
    Vertical.CALENDAR: frozenset({"calendar", "event"}),
    Vertical.BLOBS: frozenset({"folder", "file"}),
}

CONTAINER_KINDS = frozenset({"album", "folder", "calendar"})

#: Import order within a page (DTP's, SPEC §6): albums, then videos, then photos; calendars, then
#: events; folders shallow-first, then files; posts last (they name where their media landed).
_KIND_RANK = {"album": 0, "video": 1, "photo": 2, "calendar": 3, "event": 4, "folder": 5, "file": 6, "post": 7}


def import_rank(item) -> tuple[int, int]:
    """Where ``item`` goes in the import order: (kind rank, folder depth).

    Items of equal rank never depend on one another (no album is another's parent, folders of
    one depth are siblings), so an importer may send them at the same time; a lower rank must be
    in place before a higher one starts.
    """
    kind = getattr(item, "kind", "")
    depth = len([part for part in item.path.split("/") if part]) if kind == "folder" else 0
    return (_KIND_RANK.get(kind, 99), depth)


def parents_first(items) -> list:
    """The one parent-first order every importer and the engine use (stable otherwise)."""
    return sorted(items, key=import_rank)
