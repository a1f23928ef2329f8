"""SOCIAL_POSTS vertical: each posted video as a post (title, date, link, location).

Unlike VIDEOS this keeps every entry, links or not, so a video whose bytes cannot be fetched is
still transferred as metadata. The attachment's ``media_id`` names the Video item carrying the
bytes when there is one. Ids are content-derived (see :mod:`.videos`).
"""

from __future__ import annotations

from ..models import Location, SocialAttachment, SocialPost
from .parse import TikTokExport
from .videos import is_http, posted_videos

__all__ = ["post_items"]


def post_items(export: TikTokExport) -> list[SocialPost]:
    posts: list[SocialPost] = []
    for v in posted_videos(export):
        attachment = SocialAttachment(
            type="VIDEO",
            url=v.link,
            name=v.title,
            media_id=v.video_id if is_http(v.link) else None,
        )
        posts.append(
            SocialPost(
                id=v.post_id,
                published=v.date,
                type="POST",
                title=v.title,
                content=v.title,
                url=v.link if is_http(v.link) else None,
                attachments=(attachment,),
                location=Location(name=v.location) if v.location else None,
            )
        )
    return posts
