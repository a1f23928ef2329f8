"""Turn Meta media entries (``{"uri", "creation_timestamp", "media_metadata", ...}``) into items.

Every vertical finds media in a different JSON (albums, posts, videos, Instagram posts), but the
entry shape is shared, so this module owns the rules once:

* ids: ``stable_id("meta", "media", <uri relative to the export root>)``; a post attachment and
  the album photo with the same uri get the same id.
* ``uri`` values that are web URLs (``https://…`` thumbnails, placeholders) are skipped quietly;
  unsafe ones (``..``, absolute, backslashes) are skipped and reported.
* times are timezone-aware UTC; values at or before the epoch (Meta writes 0 and
  -62169958800) are dropped.
* the kind (photo or video) comes from the file extension, else from where the entry was found.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple

from ..mediatypes import known_mime_type
from ..models import Location, MediaAlbum, Photo, Video, stable_id
from ..names import safe_segment
from .archive import Member, safe_relpath
from .mojibake import meta_escape

__all__ = [
    "AlbumSpec",
    "MediaRef",
    "epoch",
    "media_id",
    "normalize_uri",
    "build_media",
    "encode_ref",
    "decode_ref",
    "lookup_member",
]

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


class AlbumSpec(NamedTuple):
    """The album a media entry belongs to (a Facebook album or a synthetic Instagram one)."""

    id: str
    name: str | None
    description: str | None = None

    def item(self) -> MediaAlbum:
        return MediaAlbum(id=self.id, name=self.name, description=self.description)


class MediaRef(NamedTuple):
    """A media entry found in a JSON member, before it becomes a Photo or Video."""

    media: dict[str, Any]
    source: str  # the JSON member that references it
    album: AlbumSpec | None = None
    default_kind: str = "photo"
    caption: str | None = None  # Instagram keeps captions in ``title``


def epoch(value: Any) -> datetime | None:
    """Meta epoch seconds -> aware UTC datetime; None for missing or nonsense (<= 0) values."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    if seconds != seconds or seconds <= 0:
        return None
    if seconds > 1e11:  # milliseconds (Messenger style)
        seconds /= 1000.0
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def normalize_uri(uri: Any) -> tuple[str | None, str | None]:
    """Return ``(relative path, None)``, ``(None, None)`` for web URLs/empties, or ``(None, why)``."""
    if not isinstance(uri, str) or not uri.strip():
        return None, None
    if _URL.match(uri):
        return None, None
    rel = safe_relpath(uri)
    if rel is None:
        return None, f"unsafe media uri {uri!r} ignored (path traversal)"
    return rel, None


def media_id(rel_uri: str) -> str:
    return stable_id("meta", "media", rel_uri)


def lookup_member(members: dict[str, Member], rel_uri: str) -> Member | None:
    """Find the member for a repaired uri; fall back to the still-mojibake spelling."""
    found = members.get(rel_uri)
    if found is None and not rel_uri.isascii():
        try:
            found = members.get(meta_escape(rel_uri))
        except UnicodeEncodeError:  # pragma: no cover - meta_escape never fails on str
            found = None
    return found


def encode_ref(rel_uri: str, source: str) -> str:
    return json.dumps({"uri": rel_uri, "from": source}, ensure_ascii=False, separators=(",", ":"))


def decode_ref(ref: str) -> tuple[str, str]:
    data = json.loads(ref)
    return data["uri"], data["from"]


def _exif(media: dict[str, Any]) -> list[dict[str, Any]]:
    meta = media.get("media_metadata")
    if not isinstance(meta, dict):
        return []
    out: list[dict[str, Any]] = []
    for key in ("photo_metadata", "video_metadata"):
        block = meta.get(key)
        if isinstance(block, dict) and isinstance(block.get("exif_data"), list):
            out.extend(e for e in block["exif_data"] if isinstance(e, dict))
    return out


def _first(entries: list[dict[str, Any]], key: str) -> Any:
    for entry in entries:
        if entry.get(key) not in (None, ""):
            return entry[key]
    return None


def _location(exif: list[dict[str, Any]]) -> Location | None:
    lat, lon = _first(exif, "latitude"), _first(exif, "longitude")
    if isinstance(lat, int | float) and isinstance(lon, int | float) and not isinstance(lat, bool):
        return Location(latitude=float(lat), longitude=float(lon))
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def build_media(
    ref: MediaRef, members: dict[str, Member], report: Callable[[str, str], None]
) -> Photo | Video | None:
    """Build the Photo or Video for ``ref``; None when the entry has no usable local uri.

    A uri that is safe but absent from the archive still yields an item (``size=None``):
    the exporter's ``open_bytes`` then raises ItemError("missing file <uri> referenced by <json>").
    """
    rel, why = normalize_uri(ref.media.get("uri"))
    if rel is None:
        if why:
            report(ref.source, why)
        return None
    member = lookup_member(members, rel)
    item_id = media_id(rel)
    base = posixpath.basename(rel)
    ext = posixpath.splitext(base)[1].lower()
    mime = known_mime_type(base)
    kind = ref.default_kind
    if mime and mime.startswith("image/"):
        kind = "photo"
    elif mime and mime.startswith("video/"):
        kind = "video"
    if mime is None:
        mime = "video/mp4" if kind == "video" else "image/jpeg" if kind == "photo" else "application/octet-stream"
    exif = _exif(ref.media)
    fields = dict(
        id=item_id,
        album_id=ref.album.id if ref.album else None,
        title=safe_segment(base, fallback=item_id + ext),
        description=_text(ref.media.get("description")) or _text(ref.caption),
        mime_type=mime,
        taken_time=epoch(_first(exif, "taken_timestamp")),
        uploaded_time=epoch(ref.media.get("creation_timestamp")) or epoch(_first(exif, "upload_timestamp")),
        location=_location(exif),
        size=member.size if member else None,
        ref=encode_ref(rel, ref.source),
        file_name=safe_segment(base, fallback=item_id + ext),
    )
    return Video(**fields) if kind == "video" else Photo(**fields)
