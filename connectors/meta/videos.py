"""Facebook videos and archived stories, Instagram reels and stories, as parsed work units.

``your_videos.json`` is ``{"videos_v2": [<media>]}`` (older exports: ``"videos"``); its videos
have no album. Instagram reels (``{"ig_reels_media": [{"media": [...]}]}``) and stories
(``{"ig_stories": [<media>]}``) go to synthetic albums "Instagram reels" and "Instagram stories".
Facebook's ``stories/archived_stories.json`` (``{"archived_stories_v2": [{"timestamp", "title",
"attachments": [{"data": [{"media": <media>}]}]}]}``) goes to "Facebook stories". Stories may hold
photos too; the photo vertical picks those up.
"""

from __future__ import annotations

from typing import Any

from ..models import stable_id
from .elements import Report, dict_entries
from ..jsonread import JsonMember
from .media import AlbumSpec, MediaRef
from .photos import media_list

__all__ = [
    "parse_fb_videos",
    "parse_fb_archived_stories",
    "parse_ig_reels",
    "parse_ig_stories",
    "IG_REELS_ALBUM",
    "IG_STORIES_ALBUM",
    "FB_STORIES_ALBUM",
]

IG_REELS_ALBUM = AlbumSpec(stable_id("meta", "album", "instagram", "reels"), "Instagram reels")
IG_STORIES_ALBUM = AlbumSpec(stable_id("meta", "album", "instagram", "stories"), "Instagram stories")
FB_STORIES_ALBUM = AlbumSpec(stable_id("meta", "album", "facebook", "stories"), "Facebook stories")


def parse_fb_videos(doc: JsonMember, member: str, report: Report) -> list[Any]:
    videos = dict_entries(doc, member, report, ("videos_v2",), ("videos",), what="a JSON object with videos_v2")
    return [MediaRef(m, member, None, "video") for _, m in videos]


def parse_ig_reels(doc: JsonMember, member: str, report: Report) -> list[Any]:
    entries: list[Any] = []
    for _, group in dict_entries(doc, member, report, ("ig_reels_media",), ("ig_reels",), (), what="ig_reels_media as a list"):
        inner = media_list(group.get("media")) if "media" in group else [group]
        entries.extend(MediaRef(m, member, IG_REELS_ALBUM, "video", m.get("title")) for m in inner)
    return entries


def parse_ig_stories(doc: JsonMember, member: str, report: Report) -> list[Any]:
    stories = dict_entries(doc, member, report, ("ig_stories",), (), what="ig_stories as a list")
    return [MediaRef(m, member, IG_STORIES_ALBUM, "photo", m.get("title")) for _, m in stories]


def parse_fb_archived_stories(doc: JsonMember, member: str, report: Report) -> list[Any]:
    entries: list[Any] = []
    stories = dict_entries(doc, member, report, ("archived_stories_v2",), ("archived_stories",), what="archived_stories_v2 as a list")
    for _, story in stories:
        for block in media_list(story.get("attachments")):
            for datum in media_list(block.get("data")):
                media = datum.get("media")
                if isinstance(media, dict):
                    caption = media.get("description") or media.get("title")
                    entries.append(MediaRef(media, member, FB_STORIES_ALBUM, "photo", caption if isinstance(caption, str) else None))
    return entries
