"""Facebook albums (``…/album/<n>.json``) and uncategorized photos, as parsed work units.

An album file holds one album: ``{"name", "description", "cover_photo", "photos": [<media>]}``.
The album becomes a :class:`~connectors.models.MediaAlbum` with
``id = stable_id("meta", "album", <album json path>)``, listed before its media. ``cover_photo``
repeats one of the photos (or is a web placeholder) and is not listed again.
Uncategorized photos (``{"other_photos_v2" | "other_photos": [<media>]}``) have no album.

Parsers here and in the sibling modules share one signature:
``parse(data, member, report) -> list[entry]`` where an entry is an item or a
:class:`~connectors.meta.media.MediaRef`, and ``report(member, message)`` records a problem.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..models import stable_id
from .media import AlbumSpec, MediaRef

__all__ = ["parse_album", "parse_uncategorized", "IG_POSTS_ALBUM", "media_list"]

Report = Callable[[str, str], None]

#: Synthetic album holding Instagram post media, so they stay together at the destination.
IG_POSTS_ALBUM = AlbumSpec(stable_id("meta", "album", "instagram", "posts"), "Instagram posts")


def media_list(value: Any) -> list[dict[str, Any]]:
    """The dict entries of a JSON list (anything else gives an empty list)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def parse_album(data: Any, member: str, report: Report) -> list[Any]:
    if not isinstance(data, dict):
        report(member, "expected a JSON object describing one album")
        return []
    name = data.get("name") if isinstance(data.get("name"), str) else None
    description = data.get("description") if isinstance(data.get("description"), str) else None
    album = AlbumSpec(stable_id("meta", "album", member), name or None, description or None)
    entries: list[Any] = [album.item()]
    entries.extend(MediaRef(m, member, album, "photo") for m in media_list(data.get("photos")))
    return entries


def parse_uncategorized(data: Any, member: str, report: Report) -> list[Any]:
    if not isinstance(data, dict):
        report(member, "expected a JSON object with other_photos_v2")
        return []
    photos = data.get("other_photos_v2", data.get("other_photos"))
    return [MediaRef(m, member, None, "photo") for m in media_list(photos)]
