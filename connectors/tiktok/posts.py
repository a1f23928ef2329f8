"""Items made from the user's posts: the album with its Photos and Videos, and the SocialPosts.

* PHOTOS and VIDEOS: one album "TikTok" (listed first in both: parents come first) holding a
  :class:`Photo` or a :class:`Video` per post whose media is known, by what its bytes are
  (:mod:`.media`), never by a guess. The bytes come from the zip when the export carries the file
  (``zip:`` ref), else from the post's link, looked up when the bytes are asked for (``post:``
  ref: the link in the download may have been replaced by a fresh one since the listing).
* SOCIAL_POSTS: every entry, links or not, so a post whose media cannot be fetched is still
  transferred as metadata. An attachment names the Photo/Video item carrying the bytes
  (``media_id``). Signed links are not carried: they expire, and they change every request (a
  post would look changed every round); a permanent link (a share link) is kept.

Ids are the posts' content ids (:mod:`.entries`); file names need no id
(``tiktok-20250301-100000.mp4``), so re-delivered media keep their names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..models import Location, MediaAlbum, Photo, SocialAttachment, SocialPost, Video, stable_id
from .entries import PostEntry, permanent_link
from .media import MediaKind, MediaType
from .parse import ZipMember

__all__ = ["ALBUM_ID", "POST_PREFIX", "ZIP_PREFIX", "PostMedia", "media_items", "post_items"]

ALBUM_ID = stable_id("tiktok", "album", "posted-videos")
POST_PREFIX = "post:"
ZIP_PREFIX = "zip:"


@dataclass(frozen=True)
class PostMedia:
    """What is known about one post's media.

    Attributes:
        entry: the post.
        media_type: what its bytes are (None: not known yet, e.g. the link answered "gone" and
            no fresh link could be had; the item then fails at transfer and a retry may pass).
        member: the zip member holding the bytes, when the export carries them.
    """

    entry: PostEntry
    media_type: MediaType | None
    member: ZipMember | None = None

    @property
    def kind(self) -> MediaKind:
        if self.media_type is not None:
            return self.media_type.kind
        return MediaKind.PHOTO if (self.entry.link or "").lower().split("?")[0].endswith((".jpg", ".jpeg", ".png", ".webp", ".heic")) else MediaKind.VIDEO

    @property
    def ref(self) -> str:
        return ZIP_PREFIX + self.member.name if self.member is not None else POST_PREFIX + self.entry.media_id


def _album() -> MediaAlbum:
    return MediaAlbum(id=ALBUM_ID, name="TikTok", description="Photos and videos posted on TikTok")


def media_items(medias: list[PostMedia], kind: MediaKind) -> list[MediaAlbum | Photo | Video]:
    """The album and one item per post whose media is of ``kind`` (nothing when there is none)."""
    items: list[Photo | Video] = []
    for media in medias:
        if media.kind != kind:
            continue
        entry = media.entry
        media_type = media.media_type or (MediaType.JPEG if kind == MediaKind.PHOTO else MediaType.MP4)
        model = Photo if kind == MediaKind.PHOTO else Video
        items.append(
            model(
                id=entry.media_id,
                album_id=ALBUM_ID,
                title=entry.title,
                description=entry.title,
                mime_type=media_type.value,
                taken_time=entry.date,
                uploaded_time=entry.date,
                size=media.member.size if media.member is not None else None,
                ref=media.ref,
                file_name=entry.stem + media_type.extension,
            )
        )
    return [_album(), *items] if items else []


def post_items(entries: list[PostEntry], medias: Mapping[str, PostMedia]) -> list[SocialPost]:
    """One post per entry; ``medias`` (by media id) says which have a media item, of what kind."""
    posts: list[SocialPost] = []
    for entry in entries:
        media = medias.get(entry.media_id)
        link = permanent_link(entry.link)
        kind = media.kind if media is not None else None
        attachment = SocialAttachment(
            type="IMAGE" if kind == MediaKind.PHOTO else "VIDEO",
            url=link,
            name=entry.title,
            media_id=entry.media_id if media is not None else None,
        )
        posts.append(
            SocialPost(
                id=entry.item_id,
                published=entry.date,
                type="POST",
                title=entry.title,
                content=entry.title,
                url=link,
                attachments=(attachment,),
                location=Location(name=entry.location) if entry.location else None,
            )
        )
    return posts
