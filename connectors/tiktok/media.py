"""What a post's media is, told from its bytes, and which zip members are a post's media.

**Photo or video.** A TikTok post is a video or a photo post, and its link serves an ``.mp4`` or
a ``.jpg`` with nothing in the export saying which. Names and labels lie (a CDN may label any
file ``application/octet-stream``; ferry once saved JPEG bytes as ``.mp4``), so :func:`sniff`
reads the first bytes: JPEG, PNG, GIF, WebP, HEIC/HEIF/AVIF (ISO BMFF ``ftyp`` brands), MP4/MOV
and WebM/Matroska. Only when the bytes say nothing is the ``Content-Type`` header used.

**Media inside the zip.** An export may also carry media files next to the JSON. Each is paired
with the post it belongs to (:func:`pair_members`), by an exact match of its file name (without
extension) or of the digits in it against the post's link file name, TikTok post id or creation
time (``20250301100000``, however punctuated). A paired file is the post's bytes (read from the
zip, nothing fetched) and is not exported again as a blob: each file is delivered once. A name
that fits several posts, or a post several names, is not guessed: those files stay blobs.
"""

from __future__ import annotations

import enum
import re
from collections import defaultdict
from collections.abc import Iterable
from urllib.parse import urlsplit

from ..mediatypes import mime_type
from .entries import PostEntry
from .parse import ZipMember

__all__ = ["MediaKind", "MediaType", "SNIFF_BYTES", "sniff", "member_mime", "is_media_name", "pair_members"]

#: Bytes of a file's start that :func:`sniff` needs.
SNIFF_BYTES = 64

_MEDIA_SUFFIXES = (".mp4", ".mov", ".m4v", ".webm", ".jpg", ".jpeg", ".png", ".gif", ".webp", ".heic", ".heif", ".avif")


class MediaKind(enum.StrEnum):
    """Which item a post's media becomes."""

    VIDEO = "video"
    PHOTO = "photo"


class MediaType(enum.StrEnum):
    """The media types a post's bytes may have, with their kind and file extension."""

    JPEG = "image/jpeg"
    PNG = "image/png"
    GIF = "image/gif"
    WEBP = "image/webp"
    HEIC = "image/heic"
    AVIF = "image/avif"
    MP4 = "video/mp4"
    MOV = "video/quicktime"
    WEBM = "video/webm"

    @property
    def kind(self) -> MediaKind:
        return MediaKind.PHOTO if self.value.startswith("image/") else MediaKind.VIDEO

    @property
    def extension(self) -> str:
        return _EXTENSIONS[self]


_EXTENSIONS = {
    MediaType.JPEG: ".jpg",
    MediaType.PNG: ".png",
    MediaType.GIF: ".gif",
    MediaType.WEBP: ".webp",
    MediaType.HEIC: ".heic",
    MediaType.AVIF: ".avif",
    MediaType.MP4: ".mp4",
    MediaType.MOV: ".mov",
    MediaType.WEBM: ".webm",
}

#: ISO base media file ``ftyp`` major brands (bytes 8-12).
_IMAGE_BRANDS = {b"heic": MediaType.HEIC, b"heix": MediaType.HEIC, b"hevc": MediaType.HEIC, b"heim": MediaType.HEIC,
                 b"heis": MediaType.HEIC, b"mif1": MediaType.HEIC, b"msf1": MediaType.HEIC, b"avif": MediaType.AVIF}
_QUICKTIME_BRANDS = {b"qt  "}


def sniff(head: bytes, content_type: str | None = None) -> MediaType | None:
    """The media type of a file from its first bytes, else from ``content_type``; None if neither tells.

    Magic numbers come first: a header saying ``video/mp4`` over JPEG bytes is a photo.
    """
    if head.startswith(b"\xff\xd8\xff"):
        return MediaType.JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return MediaType.PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return MediaType.GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return MediaType.WEBP
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _IMAGE_BRANDS:
            return _IMAGE_BRANDS[brand]
        return MediaType.MOV if brand in _QUICKTIME_BRANDS else MediaType.MP4
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free"):
        return MediaType.MOV
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return MediaType.WEBM
    declared = (content_type or "").split(";")[0].strip().lower()
    try:
        return MediaType(declared)
    except ValueError:
        return None


def is_media_name(name: str) -> bool:
    return name.lower().endswith(_MEDIA_SUFFIXES)


def member_mime(name: str, head: bytes) -> str:
    """MIME type of a zip member exported as a blob: its bytes, then its name, then octet-stream."""
    sniffed = sniff(head)
    if sniffed is not None:
        return sniffed.value
    return mime_type(name)


def _stem(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[0] if "." in base else base


def _digits(text: str) -> str:
    return "".join(re.findall(r"\d+", text))


def _keys_of(entry: PostEntry) -> set[str]:
    keys: set[str] = set()
    if entry.link:
        path = urlsplit(entry.link).path
        if is_media_name(path):
            keys.add(_stem(path).lower())
    if entry.post_id:
        keys.add(entry.post_id)
    stamp = _digits(entry.date_text)
    if len(stamp) >= 12:
        keys.add(stamp)
    return keys


def pair_members(entries: Iterable[PostEntry], members: Iterable[ZipMember]) -> dict[str, ZipMember]:
    """Media id -> the zip member holding that post's media, for unambiguous matches only."""
    owners: dict[str, set[str]] = defaultdict(set)
    for entry in entries:
        for key in _keys_of(entry):
            owners[key].add(entry.media_id)
    candidates: dict[str, list[ZipMember]] = defaultdict(list)
    for member in members:
        if not is_media_name(member.name):
            continue
        stem = _stem(member.name)
        matched = {owner for key in {stem.lower(), _digits(stem)} if key for owner in owners.get(key, ())}
        if len(matched) == 1:
            candidates[matched.pop()].append(member)
    return {media_id: found[0] for media_id, found in candidates.items() if len(found) == 1}
