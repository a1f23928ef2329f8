"""Why a file of a Meta export did not move: the reasons listed as NOT_TRANSFERRED problems.

Nothing in an export is skipped silently: every file that no vertical of the transfer took is
named once, with a reason a person understands ("messages are not a vertical ferry moves",
"not selected: this transfer moves photos"). The exporter decides *which* files are left over
(it knows what it read); this module only says *why*, from the file's place in the export.
"""

from __future__ import annotations

import posixpath
from collections.abc import Collection

from ..models import Vertical

__all__ = ["leftover_reason", "MEDIA_KIND_BY_EXTENSION"]

_PREFIXES = (
    "your_facebook_activity/", "your_activity_across_facebook/", "this_profile's_activity_across_facebook/",
    "your_instagram_activity/",
)
_AREAS = {
    "messages": "messages are not a vertical ferry moves",
    "inbox": "messages are not a vertical ferry moves",
    "comments": "comments and reactions are not a vertical ferry moves",
    "comments_and_reactions": "comments and reactions are not a vertical ferry moves",
    "likes_and_reactions": "comments and reactions are not a vertical ferry moves",
    "likes": "comments and reactions are not a vertical ferry moves",
    "profile_information": "profile information is not a vertical ferry moves",
    "personal_information": "profile information is not a vertical ferry moves",
    "account_information": "profile information is not a vertical ferry moves",
    "connections": "friends and followers are not a vertical ferry moves",
    "friends": "friends and followers are not a vertical ferry moves",
    "followers_and_following": "friends and followers are not a vertical ferry moves",
    "groups": "group memberships and comments are not a vertical ferry moves",
}
_PHOTO_EXT = {".jpg", ".jpeg", ".png", ".gif", ".heic", ".heif", ".webp", ".bmp"}
_VIDEO_EXT = {".mp4", ".mov", ".m4v", ".webm", ".3gp", ".avi"}
MEDIA_KIND_BY_EXTENSION = {**{e: Vertical.PHOTOS for e in _PHOTO_EXT}, **{e: Vertical.VIDEOS for e in _VIDEO_EXT}}


def _area(path: str) -> str:
    for prefix in _PREFIXES:
        if path.startswith(prefix):
            path = path[len(prefix):]
            break
    return path.split("/", 1)[0] if "/" in path else ""


def leftover_reason(path: str, *, selected: Collection[Vertical], unit_verticals: Collection[Vertical] = ()) -> str:
    """Why ``path`` was not transferred.

    Args:
        path: the member path (relative to the export root).
        selected: the verticals this transfer moves.
        unit_verticals: for a JSON file ferry can read, the verticals it feeds (empty otherwise).
    """
    moving = ", ".join(sorted(v.value for v in selected)) or "nothing"
    if unit_verticals:
        wanted = ", ".join(sorted(v.value for v in unit_verticals))
        return f"not selected: this file holds {wanted}; this transfer moves {moving} (--types)"
    area = _area(path)
    if area in _AREAS:
        return _AREAS[area]
    ext = posixpath.splitext(path)[1].lower()
    if ext == ".html" or ext == ".htm":
        return "an HTML page: ferry reads the JSON export"
    kind = MEDIA_KIND_BY_EXTENSION.get(ext)
    if kind is not None:
        if kind not in selected:
            return f"not selected: {kind.value} are not part of this transfer, which moves {moving} (--types)"
        return "not referenced by any album, post or story ferry reads"
    if area:
        return f"{area.replace('_', ' ')} is not a vertical ferry moves"
    return "not a file any vertical ferry moves reads"
