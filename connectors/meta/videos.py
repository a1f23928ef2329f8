"""Facebook ``your_videos.json`` and Instagram reels and stories, as parsed work units.

``your_videos.json`` is ``{"videos_v2": [<media>]}`` (older exports: ``"videos"``); its videos
have no album. Instagram reels (``{"ig_reels_media": [{"media": [...]}]}``) and stories
(``{"ig_stories": [<media>]}``) go to synthetic albums "Instagram reels" and "Instagram stories".
Stories may hold photos too; the photo vertical picks those up.
"""

from __future__ import annotations

from typing import Any

from ..models import stable_id
from .media import AlbumSpec, MediaRef
from .photos import Report, media_list

__all__ = ["parse_fb_videos", "parse_ig_reels", "parse_ig_stories", "IG_REELS_ALBUM", "IG_STORIES_ALBUM"]

IG_REELS_ALBUM = AlbumSpec(stable_id("meta", "album", "instagram", "reels"), "Instagram reels")
IG_STORIES_ALBUM = AlbumSpec(stable_id("meta", "album", "instagram", "stories"), "Instagram stories")


def parse_fb_videos(data: Any, member: str, report: Report) -> list[Any]:
    if not isinstance(data, dict):
        report(member, "expected a JSON object with videos_v2")
        return []
    videos = data.get("videos_v2", data.get("videos"))
    return [MediaRef(m, member, None, "video") for m in media_list(videos)]


def parse_ig_reels(data: Any, member: str, report: Report) -> list[Any]:
    groups = data.get("ig_reels_media", data.get("ig_reels")) if isinstance(data, dict) else data
    if not isinstance(groups, list):
        report(member, "expected ig_reels_media as a list")
        return []
    entries: list[Any] = []
    for group in media_list(groups):
        inner = media_list(group.get("media")) if "media" in group else [group]
        entries.extend(MediaRef(m, member, IG_REELS_ALBUM, "video", m.get("title")) for m in inner)
    return entries


def parse_ig_stories(data: Any, member: str, report: Report) -> list[Any]:
    stories = data.get("ig_stories") if isinstance(data, dict) else data
    if not isinstance(stories, list):
        report(member, "expected ig_stories as a list")
        return []
    return [MediaRef(m, member, IG_STORIES_ALBUM, "photo", m.get("title")) for m in media_list(stories)]
