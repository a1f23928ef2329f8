"""The user's own posts, read from the download and named by what they are, not where they are.

Where they are: ``Post → Posts → VideoList`` (current schema) or ``Video → Videos → VideoList``
(older; the link may be called ``VideoLink``). Each entry has ``Date`` and ``Link`` (a video or a
photo post: the link serves an ``.mp4`` or a ``.jpg``), and ``Title``, ``Likes``, ``Location``...

**Identity.** A post's media link carries a signature made for each data request
(``?x-expires=...&x-signature=...``, and CDN hosts and paths that vary), so an id built from the
link changes every time TikTok is asked: a recurring transfer delivered every old post again
each round. The id is built from what identifies the post itself (:attr:`PostEntry.key`):

1. its creation time (``Date``, to the second), plus
2. TikTok's numeric post id when the link shows one (``/video/7234...``, ``?item_id=...``);
3. with neither, the link's path without its query, else the title, else its position;
4. two posts with the same key (posted in the same second, no id shown) get ``#2``, ``#3`` in
   file order.

Only metadata edits change an item's content (title, location): the ledger then delivers it
again as changed; a new like count changes nothing (it is not carried).

Upgrading from a ferry whose ids came from the link: the ledger of an existing recurring
transfer knows its posts under the old ids, so the first round after the upgrade delivers each
post once more (under the new ids; file names no longer depend on the id, so a folder
destination recognises media files it already holds); every later round delivers only new posts.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import TypeGuard
from urllib.parse import parse_qs, urlsplit

from ..models import stable_id
from .parse import Schema, TikTokExport, blank, parse_date

__all__ = ["PostEntry", "post_entries", "is_http", "stable_link", "permanent_link", "tiktok_post_id"]

_ID_IN_PATH = re.compile(r"/(?:video|photo|v|p)/(\d{8,})")
_ID_PARAMS = ("item_id", "video_id", "aweme_id", "post_id")


def is_http(link: str | None) -> TypeGuard[str]:
    return link is not None and link.lower().startswith(("http://", "https://"))


def stable_link(link: str | None) -> str | None:
    """``link`` without its query and fragment (signatures, expiry), for identity and display.

    A signed link is a capability to the user's media for a while: it is never shown in
    messages or kept in what ferry writes; its stable part is.
    """
    if not is_http(link):
        return link
    parts = urlsplit(link)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def permanent_link(link: str | None) -> str | None:
    """The link when it can be kept (no query: not signed for a while, e.g. a share link), else None."""
    if not is_http(link):
        return None
    parts = urlsplit(link)
    return None if parts.query else link


def tiktok_post_id(link: str | None) -> str | None:
    """TikTok's numeric post id when the link shows one (path or query), else None."""
    if not is_http(link):
        return None
    parts = urlsplit(link)
    found = _ID_IN_PATH.search(parts.path)
    if found:
        return found.group(1)
    query = parse_qs(parts.query)
    for name in _ID_PARAMS:
        values = query.get(name)
        if values and values[0].isdigit():
            return values[0]
    return None


@dataclass(frozen=True)
class PostEntry:
    """One VideoList entry, normalised across schemas.

    Attributes:
        where: JSON path of the entry (problem reports).
        key: the content identity (see the module docstring).
        occurrence: 1, or n for the n-th entry with the same key.
        post_id: TikTok's numeric id when known.
    """

    where: str
    key: tuple[str, ...]
    occurrence: int
    date: datetime | None
    date_text: str
    link: str | None
    post_id: str | None
    title: str | None
    likes: str | None
    location: str | None

    def _parts(self) -> tuple[str, ...]:
        return self.key if self.occurrence == 1 else (*self.key, f"#{self.occurrence}")

    @property
    def media_id(self) -> str:
        """Id of the Photo or Video carrying the post's bytes."""
        return stable_id("tiktok", "media", *self._parts())

    @property
    def item_id(self) -> str:
        """Id of the SocialPost."""
        return stable_id("tiktok", "post", *self._parts())

    @property
    def stem(self) -> str:
        """A file name without extension that needs no id: ``tiktok-20250301-100000[-<id>][-2]``."""
        stamp = self.date.strftime("%Y%m%d-%H%M%S") if self.date else "undated"
        name = f"tiktok-{stamp}" + (f"-{self.post_id}" if self.post_id else "")
        return name + (f"-{self.occurrence}" if self.occurrence > 1 else "")


def list_path(export: TikTokExport) -> tuple[str, ...]:
    if export.schema == Schema.OLDER:
        return ("Video", "Videos", "VideoList")
    return ("Post", "Posts", "VideoList")


def _text(entry: dict, *keys: str) -> str | None:
    for key in keys:
        value = entry.get(key)
        if not blank(value):
            return str(value).strip()
    return None


def post_entries(export: TikTokExport) -> list[PostEntry]:
    """Every posted entry, in file order; bad entries go to ``export.problems`` by JSON path."""
    path = list_path(export)
    seen: Counter[tuple[str, ...]] = Counter()
    out: list[PostEntry] = []
    for index, element in enumerate(export.list_at(*path)):
        where = export.where(*path, index)
        if element.error is not None:
            export.problems.append((where, f"entry cannot be read ({element.error}); skipped"))
            continue
        entry = element.value
        if not isinstance(entry, dict):
            export.problems.append((where, f"entry is a {type(entry).__name__}, expected an object; skipped"))
            continue
        link = _text(entry, "Link", "VideoLink")
        date_text = _text(entry, "Date") or ""
        if link is None and not date_text:
            export.problems.append((where, "entry has neither Link nor Date; skipped"))
            continue
        post_id = tiktok_post_id(link)
        title = _text(entry, "Title")
        key: tuple[str, ...] = (date_text, post_id or "")
        if not date_text and not post_id:
            key = (stable_link(link) or title or f"entry {index}",)
        seen[key] += 1
        out.append(
            PostEntry(
                where=where,
                key=key,
                occurrence=seen[key],
                date=parse_date(date_text),
                date_text=date_text,
                link=link,
                post_id=post_id,
                title=title,
                likes=_text(entry, "Likes"),
                location=_text(entry, "Location"),
            )
        )
    return out
