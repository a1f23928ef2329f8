"""Which files are photos or videos, and their MIME types, from one fixed table (every connector's).

Why a table of our own: :mod:`mimetypes` reads ``/etc/mime.types``, which differs between
machines, and whether a file is a Photo or a Video must not (it decides which items a page
holds). The system table is consulted only for the MIME type of other files.
"""

from __future__ import annotations

import mimetypes

__all__ = ["media_kind", "mime_type", "known_mime_type"]

_PHOTO = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "jpe": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "heic": "image/heic",
    "heif": "image/heif",
    "avif": "image/avif",
    "tif": "image/tiff",
    "tiff": "image/tiff",
    "bmp": "image/bmp",
    "dng": "image/x-adobe-dng",
    "cr2": "image/x-canon-cr2",
    "cr3": "image/x-canon-cr3",
    "nef": "image/x-nikon-nef",
    "arw": "image/x-sony-arw",
    "orf": "image/x-olympus-orf",
    "raf": "image/x-fuji-raf",
    "rw2": "image/x-panasonic-rw2",
}
_VIDEO = {
    "mp4": "video/mp4",
    "m4v": "video/x-m4v",
    "mov": "video/quicktime",
    "avi": "video/x-msvideo",
    "mkv": "video/x-matroska",
    "webm": "video/webm",
    "3gp": "video/3gpp",
    "3g2": "video/3gpp2",
    "mts": "video/mp2t",
    "m2ts": "video/mp2t",
    "wmv": "video/x-ms-wmv",
    "mpg": "video/mpeg",
    "mpeg": "video/mpeg",
}


#: Other types whose answer must not depend on the machine (TikTok's JSON sections, text files).
_DOCUMENT = {"json": "application/json", "txt": "text/plain"}


def _extension(name: str) -> str:
    return name.rpartition(".")[2].lower() if "." in name else ""


def media_kind(name: str) -> str | None:
    """``"photo"``, ``"video"`` or None for a file name."""
    ext = _extension(name)
    if ext in _PHOTO:
        return "photo"
    if ext in _VIDEO:
        return "video"
    return None


def known_mime_type(name: str) -> str | None:
    """The MIME type of a file name: the table's, else the system's guess, else None."""
    ext = _extension(name)
    known = _PHOTO.get(ext) or _VIDEO.get(ext) or _DOCUMENT.get(ext)
    if known:
        return known
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed


def mime_type(name: str) -> str:
    """The MIME type of a file name (``application/octet-stream`` when unknown)."""
    return known_mime_type(name) or "application/octet-stream"
