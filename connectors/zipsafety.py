"""Looking at a zip before trusting it: member count, member names, member kinds and ratios.

Shared by the connectors that read export zips (Meta's archives, TikTok's download). Nothing
here opens a member: each check reads the end record or a member's header, so a zip holding a
million members, a symlink, a FIFO or a bomb is named before anything is inflated.

* :func:`zip_entry_count` reads the member count from the end record (zip64 too), before
  :class:`zipfile.ZipFile` builds its index of every member (~1 KB of memory each).
* :func:`safe_relpath` refuses names that could leave the export root (``..``, absolute paths,
  drive letters, backslashes, NUL).
* :func:`member_refusal` says why a member must not be opened: its mode bits say symlink,
  directory, FIFO, socket or device, or its headers claim a ratio beyond the limit.
* :func:`item_stream` is the one way a connector hands a member's bytes to an importer: read
  errors (CRC mismatch, truncation, a cap of :mod:`connectors.readlimits`) become an
  :class:`~connectors.errors.ItemError` naming the member, so one broken member fails one item.
"""

from __future__ import annotations

import io
import os
import re
import struct
import zipfile
from typing import IO

from .errors import ItemError
from .readlimits import LimitExceeded, ReadLimits, WrappedStream, human_bytes
from .specialfiles import special_kind

__all__ = ["zip_entry_count", "safe_relpath", "member_refusal", "item_stream"]

_DRIVE = re.compile(r"^[A-Za-z]:")


def zip_entry_count(source: str | os.PathLike[str] | IO[bytes]) -> int | None:
    """Members a zip declares in its end record (zip64 too), read before zipfile indexes them.

    ``source`` is a path or a seekable binary file (left open, position moved). None when the
    end record cannot be found; zipfile then gives its own error.
    """
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as opened:
            return zip_entry_count(opened)
    fh: IO[bytes] = source
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    tail_start = max(0, size - (1 << 16) - 22)
    fh.seek(tail_start)
    tail = fh.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        return None
    count = struct.unpack("<H", tail[at + 10 : at + 12])[0]
    locator = at - 20
    if count == 0xFFFF and locator >= 0 and tail[locator : locator + 4] == b"PK\x06\x07":
        offset = struct.unpack("<Q", tail[locator + 8 : locator + 16])[0]
        fh.seek(offset)
        record = fh.read(56)
        if record[:4] == b"PK\x06\x06" and len(record) == 56:
            count = struct.unpack("<Q", record[32:40])[0]
    return count


def safe_relpath(name: str) -> str | None:
    """Return ``name`` as a clean relative '/' path, or None if it could escape the export root.

    Rejected: absolute paths, drive letters, backslashes, ``..`` segments and NUL characters.
    ``.`` and empty segments are dropped (``a//./b`` becomes ``a/b``).
    """
    if not name or "\\" in name or "\x00" in name or name.startswith("/") or _DRIVE.match(name):
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        return None
    return "/".join(parts)


def member_refusal(info: zipfile.ZipInfo, limits: ReadLimits) -> str | None:
    """Why a zip member must not be opened (a symlink, a FIFO, a directory, a bomb), or None."""
    mode = info.external_attr >> 16
    kind = special_kind(mode) if mode and info.create_system == 3 else None  # 3: Unix mode bits
    if kind is not None:
        return f"is {kind} in the zip, not a file; not opened"
    if limits.ratio_exceeded(info.file_size, info.compress_size):
        return (
            f"claims {human_bytes(info.file_size)} from {human_bytes(info.compress_size)} compressed, more than "
            f"{limits.max_ratio:g} times (a zip bomb?); not read (option max_ratio)"
        )
    return None


def item_stream(raw: IO[bytes] | io.RawIOBase, item_id: str, where: str) -> io.BufferedReader:
    """A buffered stream over an opened member whose read errors are ItemErrors naming ``where``."""
    return io.BufferedReader(_ItemErrors(raw, item_id, where), buffer_size=1 << 16)


class _ItemErrors(WrappedStream):
    """Turns a member's read errors into :class:`ItemError` (see :func:`item_stream`)."""

    def __init__(self, raw: IO[bytes] | io.RawIOBase, item_id: str, where: str):
        super().__init__(raw)
        self._item_id, self._where = item_id, where

    def readinto(self, buffer) -> int:
        try:
            data = self._raw.read(len(buffer))
        except LimitExceeded as exc:
            raise ItemError(self._item_id, f"{self._where} {exc}") from exc
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as exc:
            raise ItemError(self._item_id, f"cannot read {self._where}: {exc}") from exc
        return self._deliver(buffer, data)
