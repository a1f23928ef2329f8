"""The JSON records the folder destination writes next to what it stores.

Why: a folder has no place for a photo's title, time, place or favourite flag, and the importer
needs to recognise its own files on a re-run. So every media file gets ``<file name>.json``
(Google Takeout's habit), every album folder an ``album.json``, every calendar folder a
``calendar.json``, each holding the item's ``source_id``. A record is the claim on a name: a
file whose record names another item is someone else's, and the new item takes a suffixed name.

All documents are deterministic (sorted keys, no wall-clock times), so a re-run writes the same
bytes and can skip the write when they are already there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..models import Calendar, Location, MediaAlbum, Photo, SocialPost, Video

__all__ = [
    "FORMAT",
    "SIDECAR_SUFFIX",
    "ALBUM_RECORD",
    "CALENDAR_RECORD",
    "media_sidecar",
    "album_record",
    "calendar_record",
    "post_document",
    "parse_record",
]

#: Marks ferry's own records (and their version) so foreign JSON files are not mistaken for them.
FORMAT = "ferry-folder/1"
SIDECAR_SUFFIX = ".json"
ALBUM_RECORD = "album.json"
CALENDAR_RECORD = "calendar.json"


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _location(value: Location | None) -> dict[str, Any] | None:
    return value.model_dump() if value is not None else None


def _dump(document: Mapping[str, Any]) -> bytes:
    return (json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def media_sidecar(item: Photo | Video, *, size: int, sha256: str, export_service: str) -> bytes:
    """The ``<file name>.json`` of a photo or video: its metadata plus what landed."""
    return _dump(
        {
            "format": FORMAT,
            "source_id": item.id,
            "source_service": export_service,
            "kind": item.kind,
            "title": item.title,
            "description": item.description,
            "taken_time": _time(item.taken_time),
            "uploaded_time": _time(item.uploaded_time),
            "favorite": item.favorite,
            "location": _location(item.location),
            "mime_type": item.mime_type,
            "file_name": item.file_name,
            "album_id": item.album_id,
            "size": size,
            "sha256": sha256,
        }
    )


def album_record(album: MediaAlbum) -> bytes:
    """The ``album.json`` of an album folder."""
    return _dump(
        {"format": FORMAT, "source_id": album.id, "kind": "album", "name": album.name, "description": album.description}
    )


def calendar_record(calendar: Calendar) -> bytes:
    """The ``calendar.json`` of a calendar folder."""
    return _dump(
        {
            "format": FORMAT,
            "source_id": calendar.id,
            "kind": "calendar",
            "name": calendar.name,
            "description": calendar.description,
        }
    )


def post_document(post: SocialPost, media_paths: Mapping[str, str]) -> bytes:
    """A post as JSON; attachments carrying media point at where that media was stored.

    Args:
        post: the post.
        media_paths: media item id -> destination path (relative to the root), for the media
            known to this destination; attachments of unknown media keep only ``media_id``.
    """
    document = post.model_dump(mode="json", exclude={"id"})
    document["format"] = FORMAT
    document["source_id"] = post.id
    for attachment in document["attachments"]:
        media_id = attachment.get("media_id")
        if media_id and media_id in media_paths:
            attachment["media_path"] = media_paths[media_id]
    return _dump(document)


def parse_record(data: bytes) -> dict[str, Any] | None:
    """Return a record written by this module, or None for anything else (foreign, corrupt)."""
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        return None
    return document
