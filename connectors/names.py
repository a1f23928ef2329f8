"""Safe, deterministic names for what ferry writes: the one file-name sanitiser.

Why: names come from other services (album titles with slashes, file names with colons or
hundreds of characters) and must work on every file system and object store ferry writes to,
including Windows disks and S3 keys. Collisions are resolved by a suffix derived from the item
id, never by a counter, so the same item gets the same name on every run and machine. Every
connector, the staging area and the reference servers name files through :func:`safe_segment`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from datetime import datetime

__all__ = ["safe_segment", "safe_path", "name_candidates", "tagged_name", "dated_name"]

_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
_MAX_BYTES = 180  # leaves room for " (<id>)", ".json" and ".partial-xxxxxxxx" under 255


def _truncate(name: str, limit: int) -> str:
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext.encode()) > 16 or not stem:
        stem, ext, dot = name, "", ""
    budget = limit - len((dot + ext).encode())
    encoded = stem.encode("utf-8")[:budget]
    return encoded.decode("utf-8", "ignore") + dot + ext


def safe_segment(name: str | None, *, fallback: str = "_") -> str:
    """Return ``name`` usable as one path segment (NFC, no separators or control characters).

    Trailing dots and spaces go (Windows drops them), reserved device names get a ``_`` prefix,
    names that are empty or ``.``/``..`` become ``fallback``, long names are cut at a byte limit
    keeping the extension.
    """
    cleaned = unicodedata.normalize("NFC", name or "")
    cleaned = _UNSAFE.sub("_", cleaned).strip().rstrip(". ")
    if not cleaned or cleaned in (".", ".."):
        cleaned = fallback
    if cleaned.split(".", 1)[0].upper() in _WINDOWS_RESERVED:
        cleaned = "_" + cleaned
    if len(cleaned.encode("utf-8")) > _MAX_BYTES:
        cleaned = _truncate(cleaned, _MAX_BYTES)
    return cleaned


def safe_path(path: str) -> str:
    """Return a '/'-separated relative path with every segment made safe (no empty segments)."""
    return "/".join(safe_segment(part) for part in path.replace("\\", "/").split("/") if part.strip())


def tagged_name(name: str, tag: str) -> str:
    """``name`` with `` (<tag>)`` before its extension: ``IMG.jpg`` -> ``IMG (3f2a1b9c).jpg``."""
    return _with_tag(name, tag)


def _with_tag(name: str, tag: str) -> str:
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        return f"{name} ({tag})"
    return f"{stem} ({tag}).{ext}"


def name_candidates(name: str, item_id: str) -> Iterator[str]:
    """Yield the names to try for an item, best first: ``name``, ``name (<8 hex>)``, ``name (<id>)``.

    The suffixes come from the item id, so every run tries the same names in the same order.
    """
    yield name
    yield _with_tag(name, item_id[:8])
    yield _with_tag(name, item_id)


def dated_name(when: datetime | None, item_id: str, extension: str) -> str:
    """``<YYYY-MM-DD>_<id><extension>`` (``undated_<id>`` without a date): sorts by time, unique by id."""
    prefix = when.date().isoformat() if when is not None else "undated"
    return f"{prefix}_{safe_segment(item_id)}{extension}"
