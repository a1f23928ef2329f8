"""How much of an archive ferry agrees to read: the caps that keep a hostile export bounded.

Shared by every connector that reads exports (Meta's archives, TikTok's download zip).

Why: an export is input from outside. A 2 MB zip member can inflate to 2.2 GB (a zip bomb), its
headers can claim 2 KB while it inflates to gigabytes, a zip can list millions of members, and
a JSON file can be one 200 MB string. Each cap below turns one of these into a named problem or
item error instead of a MemoryError, whatever the zip headers claim: members are read through a
counting stream (:class:`BoundedReader`) that stops at the cap.

Options (``-o meta.KEY=VALUE``, ``-o tiktok.KEY=VALUE``; see :class:`ReadLimitOptions`):

``max_json_mb``   biggest JSON member read, in MB of 10^6 bytes (default :data:`DEFAULT_MAX_JSON_MB`).
``max_ratio``     biggest decompression ratio of a zip member (default :data:`DEFAULT_MAX_RATIO`);
                  checked once a member has inflated past :data:`RATIO_GRACE_BYTES`.
``max_members``   most files an export may hold, over all parts (default :data:`DEFAULT_MAX_MEMBERS`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import IO

from pydantic import Field

from .options import ConnectorOptions

__all__ = [
    "ReadLimits",
    "LimitExceeded",
    "BoundedReader",
    "WrappedStream",
    "DEFAULT_MAX_JSON_MB",
    "DEFAULT_MAX_RATIO",
    "DEFAULT_MAX_MEMBERS",
    "RATIO_GRACE_BYTES",
    "READ_CHUNK",
    "human_bytes",
    "read_all",
    "ReadLimitOptions",
]

#: sizes are decimal, like every figure ferry prints: 1 MB = 10^6 bytes
MB = 1_000_000
#: A real Meta JSON file is a few MB; 64 MB leaves room for a decade of posts in one file.
DEFAULT_MAX_JSON_MB = 64
#: JSON deflates 5-20x and media about 1x; a zip bomb inflates hundreds or thousands of times.
DEFAULT_MAX_RATIO = 200
#: Every member costs memory in the index (~1 KB with zipfile's own record).
DEFAULT_MAX_MEMBERS = 250_000
#: Small members may legitimately compress very well (a 40 KB run of spaces); judge ratio past this.
RATIO_GRACE_BYTES = 4 * MB
#: Bytes asked of a zip member per read: zipfile inflates at most this much per call.
READ_CHUNK = 1 << 16


def human_bytes(size: int) -> str:
    """``2.2 GB``, ``64 MB``, ``2 KB``: sizes as people read them (decimal units, like the options
    and everything else ferry prints)."""
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if size >= scale:
            value = size / scale
            return f"{value:.1f} {unit}" if value < 10 and value != int(value) else f"{value:.0f} {unit}"
    return f"{size} bytes"


@dataclass(frozen=True)
class ReadLimits:
    """The caps in force for one exporter (plain values, from the connector options)."""

    max_json_bytes: int = DEFAULT_MAX_JSON_MB * MB
    max_ratio: float = DEFAULT_MAX_RATIO
    max_members: int = DEFAULT_MAX_MEMBERS

    def ratio_exceeded(self, produced: int, compressed: int) -> bool:
        """True when ``produced`` bytes out of ``compressed`` is beyond the ratio limit."""
        return produced > RATIO_GRACE_BYTES and produced > self.max_ratio * max(compressed, 1)


class LimitExceeded(Exception):
    """A member went past a cap; ``str(exc)`` says which and is fit to show a person."""


class WrappedStream(io.RawIOBase):
    """A raw stream over another one: readable, and closing it closes the wrapped stream.

    The base of the guards that stand between a member's bytes and an importer
    (:class:`BoundedReader` here, :func:`connectors.zipsafety.item_stream`): a subclass reads
    ``self._raw`` in its ``readinto`` and hands the bytes over with :meth:`_deliver`.
    """

    def __init__(self, raw: IO[bytes] | io.RawIOBase):
        self._raw = raw

    def readable(self) -> bool:
        return True

    @staticmethod
    def _deliver(buffer, data: bytes) -> int:
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


class BoundedReader(WrappedStream):
    """A counting stream over a member: never yields more than ``limit`` bytes, nor a bomb's.

    Reads from the wrapped stream in chunks of at most :data:`READ_CHUNK`, so zipfile never
    inflates more than that per call (``ZipExtFile.read()`` with no size inflates the whole
    member before it checks the size the headers claim). Raises :class:`LimitExceeded` as soon
    as the output passes ``limit`` or inflates beyond ``limits.max_ratio`` times
    ``compressed`` bytes, whatever the headers say.

    Args:
        raw: the member stream (zip member or plain file).
        limit: most bytes allowed out (None: no size cap, ratio only).
        compressed: bytes the member occupies in the zip (None: a plain file, no ratio check).
        limits: the ratio limit.
        what: how the limit is named in the message ("JSON files", "this member").
    """

    def __init__(self, raw: IO[bytes], *, limit: int | None, compressed: int | None, limits: ReadLimits, what: str):
        super().__init__(raw)
        self._limit = limit
        self._compressed = compressed
        self._limits = limits
        self._what = what
        self.produced = 0

    def readinto(self, buffer) -> int:
        want = min(len(buffer), READ_CHUNK)
        if self._limit is not None:
            want = min(want, self._limit - self.produced + 1)  # one byte more tells "over the cap"
        data = self._raw.read(want)
        self.produced += len(data)
        if self._limit is not None and self.produced > self._limit:
            raise LimitExceeded(f"is larger than {human_bytes(self._limit)}, the limit for {self._what} (option max_json_mb)")
        if self._compressed is not None and self._limits.ratio_exceeded(self.produced, self._compressed):
            raise LimitExceeded(
                f"inflates more than {self._limits.max_ratio:g} times its compressed size of "
                f"{human_bytes(self._compressed)} (a zip bomb?); not read further (option max_ratio)"
            )
        return self._deliver(buffer, data)


def read_all(stream: io.RawIOBase) -> bytearray:
    """Read a (bounded) stream to its end into one buffer, a chunk at a time."""
    out = bytearray()
    chunk = memoryview(bytearray(READ_CHUNK))
    while True:
        n = stream.readinto(chunk)
        if not n:
            return out
        out += chunk[:n]


class ReadLimitOptions(ConnectorOptions):
    """The caps as options of a connector that reads archives (meta, tiktok inherit them)."""

    max_json_mb: int = Field(DEFAULT_MAX_JSON_MB, ge=1, description="biggest JSON document read, in MB (10^6 bytes)")
    max_ratio: float = Field(
        DEFAULT_MAX_RATIO, ge=1.0, description="biggest decompression ratio of a zip member (a zip bomb inflates far more)"
    )
    max_members: int = Field(DEFAULT_MAX_MEMBERS, ge=1, description="most files an export may hold, over all parts")

    def read_limits(self) -> ReadLimits:
        return ReadLimits(max_json_bytes=self.max_json_mb * MB, max_ratio=self.max_ratio, max_members=self.max_members)
