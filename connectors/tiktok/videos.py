"""VIDEOS vertical: the user's own posted videos (an album "TikTok" holding Video items).

Where they are: ``Post → Posts → VideoList`` (current schema) or ``Video → Videos → VideoList``
(older; the link may be called ``VideoLink``). Each entry has ``Date`` and ``Link``.

Bytes: TikTok gives links, not files. An entry whose link is an ``http(s)`` URL becomes a
:class:`Video` whose bytes the exporter streams from that link when asked; any other link
("N/A", empty) yields no Video, only the metadata (the SOCIAL_POSTS vertical and the ``Post``
section blob still carry it). A link that answers a web page instead of a video fails that
item alone (ItemError), see ``TikTokExporter.open_bytes``.

Ids derive from the content (link and date), never from the request id, so the same video gets
the same id in every re-request and every run of a recurring transfer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..models import MediaAlbum, Video, stable_id
from .parse import Schema, TikTokExport, blank, parse_date, path_text

__all__ = ["PostedVideo", "posted_videos", "video_items", "ALBUM_ID", "is_http"]

ALBUM_ID = stable_id("tiktok", "album", "posted-videos")
LINK_PREFIX = "link:"


def is_http(link: str | None) -> bool:
    return bool(link) and link.lower().startswith(("http://", "https://"))


@dataclass(frozen=True)
class PostedVideo:
    """One VideoList entry, normalised across schemas."""

    where: str  # human JSON path, for problem reports
    date: datetime | None
    date_text: str
    link: str | None
    title: str | None
    likes: str | None
    location: str | None

    @property
    def video_id(self) -> str:
        return stable_id("tiktok", "video", self.link or "", self.date_text)

    @property
    def post_id(self) -> str:
        return stable_id("tiktok", "post", self.link or "", self.date_text)


def _list_path(export: TikTokExport) -> tuple[str, ...]:
    if export.schema == Schema.OLDER:
        return ("Video", "Videos", "VideoList")
    return ("Post", "Posts", "VideoList")


def posted_videos(export: TikTokExport) -> list[PostedVideo]:
    """Every posted video, in file order; bad entries go to ``export.problems``.

    Raises:
        FatalError: the VideoList is not a list (names the member and JSON path).
    """
    path = _list_path(export)
    out: list[PostedVideo] = []
    for index, entry in enumerate(export.expect_list(*path)):
        where = path_text(export.member, *path, index)
        if not isinstance(entry, dict):
            export.problems.append((where, f"entry is a {type(entry).__name__}, expected an object; skipped"))
            continue
        link = entry.get("Link", entry.get("VideoLink"))
        link = None if blank(link) else str(link).strip()
        date_text = "" if blank(entry.get("Date")) else str(entry.get("Date")).strip()
        if link is None and not date_text:
            export.problems.append((where, "entry has neither Link nor Date; skipped"))
            continue

        def text(key: str) -> str | None:
            value = entry.get(key)
            return None if blank(value) else str(value)

        out.append(
            PostedVideo(
                where=where,
                date=parse_date(date_text),
                date_text=date_text,
                link=link,
                title=text("Title"),
                likes=text("Likes"),
                location=text("Location"),
            )
        )
    return out


def _file_name(video: PostedVideo) -> str:
    stamp = video.date.strftime("%Y%m%d-%H%M%S") if video.date else "undated"
    return f"tiktok-{stamp}-{video.video_id[:8]}.mp4"


def video_items(export: TikTokExport) -> list[MediaAlbum | Video]:
    """The album (first, parents come first) and one Video per downloadable link."""
    videos = [
        Video(
            id=v.video_id,
            album_id=ALBUM_ID,
            title=v.title,
            description=v.title,
            mime_type="video/mp4",
            taken_time=v.date,
            uploaded_time=v.date,
            ref=LINK_PREFIX + (v.link or ""),
            file_name=_file_name(v),
        )
        for v in posted_videos(export)
        if is_http(v.link)
    ]
    if not videos:
        return []
    return [MediaAlbum(id=ALBUM_ID, name="TikTok", description="Videos posted on TikTok"), *videos]
