"""Facebook posts (``your_posts*_<n>.json``, ``groups/your_posts_in_groups.json``) and Instagram
``posts_<n>.json``, as parsed work units.

Timeline and Instagram post files are bare arrays; group posts are ``{"group_posts_v2": [...]}``
with the timeline's post shape (the group is named in ``title``). Each post becomes a :class:`~connectors.models.SocialPost` whose media
attachments carry ``media_id`` = the id of the Photo/Video listed by the photos/videos verticals
(the same uri gives the same id). The post's media entries are also returned as
:class:`~connectors.meta.media.MediaRef`, so media that appear only in posts still move.

Images of a note (``attachments[].data[].note.media[]``) are attachments of the post and media
like any other. A post with no content at all (no text, attachment or place: only Meta's
narration such as "Jane updated her status.") is not emitted.

Post ids use a natural key (service, timestamp, text, first media uri) plus an occurrence count
inside the file, so they stay equal across runs and across a later re-export of the same account.
"""

from __future__ import annotations

import posixpath
from typing import Any

from ..models import Location, SocialAttachment, SocialPost, stable_id
from .elements import Report, dict_entries
from ..jsonread import JsonMember
from ..mediatypes import known_mime_type
from .media import MediaRef, epoch, media_id, normalize_uri
from .photos import IG_POSTS_ALBUM, media_list

__all__ = ["parse_fb_posts", "parse_fb_group_posts", "parse_ig_posts"]


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _media_attachment(media: dict[str, Any], default_kind: str) -> SocialAttachment | None:
    rel, _ = normalize_uri(media.get("uri"))
    uri = media.get("uri")
    if rel is None:
        if isinstance(uri, str) and uri.startswith(("http://", "https://")):
            return SocialAttachment(type="LINK", url=uri, name=_str(media.get("title")))
        return None
    mime = known_mime_type(rel) or ""
    kind = "VIDEO" if mime.startswith("video/") or (not mime and default_kind == "video") else "IMAGE"
    return SocialAttachment(
        type=kind,
        name=posixpath.basename(rel),
        content=_str(media.get("description")),
        media_id=media_id(rel),
    )


def _place(place: dict[str, Any]) -> Location:
    coord = place.get("coordinate") if isinstance(place.get("coordinate"), dict) else {}
    lat, lon = coord.get("latitude"), coord.get("longitude")
    ok = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lat, lon))
    return Location(
        name=_str(place.get("name")) or _str(place.get("address")),
        latitude=float(lat) if ok else None,
        longitude=float(lon) if ok else None,
    )


class _Ids:
    """Natural-key ids with an occurrence counter, so identical posts in one file stay distinct."""

    def __init__(self, service: str):
        self.service = service
        self.seen: dict[tuple, int] = {}

    def __call__(self, *key: Any) -> str:
        n = self.seen.get(key, 0)
        self.seen[key] = n + 1
        return stable_id("meta", "post", self.service, *key, n)


def parse_fb_posts(doc: JsonMember, member: str, report: Report) -> list[Any]:
    posts = dict_entries(doc, member, report, (), what="a JSON array of posts")
    return _fb_entries(posts, member, _Ids("facebook"))


def parse_fb_group_posts(doc: JsonMember, member: str, report: Report) -> list[Any]:
    posts = dict_entries(doc, member, report, ("group_posts_v2",), ("group_posts",), (), what="group_posts_v2 as a list")
    return _fb_entries(posts, member, _Ids("facebook-groups"))


def _fb_entries(posts, member: str, ids: _Ids) -> list[Any]:
    entries: list[Any] = []
    for _, post in posts:
        built, refs = _fb_post(post, member, ids)
        if built is not None:
            entries.append(built)
        entries.extend(refs)
    return entries


def _add_media(media: dict[str, Any], member: str, refs: list[MediaRef], attachments: list[SocialAttachment]) -> None:
    refs.append(MediaRef(media, member, None, "photo"))
    attachment = _media_attachment(media, "photo")
    if attachment:
        attachments.append(attachment)


def _fb_post(post: dict[str, Any], member: str, ids: _Ids) -> tuple[SocialPost | None, list[MediaRef]]:
    """The post (None when it has no content) and the media it references."""
    texts = [d["post"] for d in media_list(post.get("data")) if _str(d.get("post"))]
    attachments: list[SocialAttachment] = []
    refs: list[MediaRef] = []
    location: Location | None = None
    post_type = "POST"
    title = _str(post.get("title"))
    for block in media_list(post.get("attachments")):
        for datum in media_list(block.get("data")):
            if isinstance(datum.get("media"), dict):
                _add_media(datum["media"], member, refs, attachments)
            elif isinstance(datum.get("place"), dict):
                location = _place(datum["place"])
            elif isinstance(datum.get("external_context"), dict):
                ctx = datum["external_context"]
                attachments.append(SocialAttachment(type="LINK", url=_str(ctx.get("url")), name=_str(ctx.get("name"))))
            elif isinstance(datum.get("event"), dict):
                event = datum["event"]
                start = epoch(event.get("start_timestamp"))
                attachments.append(
                    SocialAttachment(name=_str(event.get("name")), content=start.isoformat() if start else None)
                )
            elif isinstance(datum.get("note"), dict):
                note = datum["note"]
                post_type = "NOTE"
                title = _str(note.get("title")) or title
                if _str(note.get("text")):
                    texts.append(note["text"])
                for media in media_list(note.get("media")):
                    _add_media(media, member, refs, attachments)
            elif _str(datum.get("text")):
                texts.append(datum["text"])
    content = "\n\n".join(texts) or None
    if content is None and not attachments and location is None:
        return None, refs
    if location is not None and post_type == "POST" and content is None:
        post_type = "CHECKIN"
    first_uri = refs[0].media.get("uri") if refs else None
    built = SocialPost(
        id=ids(post.get("timestamp"), title, content, first_uri),
        published=epoch(post.get("timestamp")),
        type=post_type,
        title=title,
        content=content,
        attachments=tuple(attachments),
        location=location,
    )
    return built, refs


def parse_ig_posts(doc: JsonMember, member: str, report: Report) -> list[Any]:
    ids = _Ids("instagram")
    entries: list[Any] = []
    for _, post in dict_entries(doc, member, report, (), what="a JSON array of Instagram posts"):
        media = media_list(post.get("media"))
        caption = _str(post.get("title")) or (_str(media[0].get("title")) if len(media) == 1 else None)
        stamp = post.get("creation_timestamp") or (media[0].get("creation_timestamp") if media else None)
        refs = [MediaRef(m, member, IG_POSTS_ALBUM, "photo", _str(m.get("title")) or caption) for m in media]
        attachments = [a for a in (_media_attachment(m, "photo") for m in media) if a is not None]
        first_uri = media[0].get("uri") if media else None
        if caption is not None or attachments:
            entries.append(
                SocialPost(
                    id=ids(stamp, caption, first_uri),
                    published=epoch(stamp),
                    content=caption,
                    attachments=tuple(attachments),
                )
            )
        entries.extend(refs)
    return entries
