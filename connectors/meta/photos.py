"""Facebook albums, uncategorized photos and Instagram profile photos, as parsed work units.

An album file holds one album: ``{"name", "description", "cover_photo", "photos": [<media>]}``.
The album becomes a :class:`~connectors.models.MediaAlbum` with
``id = stable_id("meta", "album", <album json path>)``, listed before its media. ``cover_photo``
repeats one of the photos (or is a web placeholder) and is not listed again.
Uncategorized photos (``{"other_photos_v2" | "other_photos": [<media>]}``) have no album.
Instagram's ``profile_photos.json`` (``{"ig_profile_picture": [<media>]}``) goes to a synthetic
album "Instagram profile photos".

Parsers here and in the sibling modules share one signature:
``parse(doc, member, report) -> list[entry]`` where ``doc`` is a
:class:`~connectors.meta.jsonread.JsonMember`, an entry is an item or a
:class:`~connectors.meta.media.MediaRef`, and ``report(subject, message)`` records a problem
(a bad entry is reported as ``member[index]`` and skipped; the others go on).
"""

from __future__ import annotations

from typing import Any

from ..models import stable_id
from .elements import Report, dict_entries, text_field
from ..jsonread import JsonMember
from .media import AlbumSpec, MediaRef

__all__ = ["parse_album", "parse_uncategorized", "parse_ig_profile_photos", "IG_POSTS_ALBUM", "IG_PROFILE_ALBUM", "media_list", "Report"]

#: Synthetic album holding Instagram post media, so they stay together at the destination.
IG_POSTS_ALBUM = AlbumSpec(stable_id("meta", "album", "instagram", "posts"), "Instagram posts")
IG_PROFILE_ALBUM = AlbumSpec(stable_id("meta", "album", "instagram", "profile-photos"), "Instagram profile photos")


def media_list(value: Any) -> list[dict[str, Any]]:
    """The dict entries of a JSON list (anything else gives an empty list)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def parse_album(doc: JsonMember, member: str, report: Report) -> list[Any]:
    if doc.root_type != "object":
        report(member, "expected a JSON object describing one album")
        return []
    album = AlbumSpec(stable_id("meta", "album", member), text_field(doc, "name"), text_field(doc, "description"))
    entries: list[Any] = [album.item()]
    photos = dict_entries(doc, member, report, ("photos",), what="a photos list", required=False)
    entries.extend(MediaRef(m, member, album, "photo") for _, m in photos)
    return entries


def parse_uncategorized(doc: JsonMember, member: str, report: Report) -> list[Any]:
    photos = dict_entries(doc, member, report, ("other_photos_v2",), ("other_photos",), what="a JSON object with other_photos_v2")
    return [MediaRef(m, member, None, "photo") for _, m in photos]


def parse_ig_profile_photos(doc: JsonMember, member: str, report: Report) -> list[Any]:
    photos = dict_entries(doc, member, report, ("ig_profile_picture",), (), what="ig_profile_picture as a list")
    return [MediaRef(m, member, IG_PROFILE_ALBUM, "photo", m.get("title")) for _, m in photos]
