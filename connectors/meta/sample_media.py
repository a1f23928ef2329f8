"""Deterministic, streamable fake media for the sample archive: real JPEG and MP4 containers.

A sample photo is a valid 8x8 grey baseline JPEG whose bulk is pseudo-random bytes inside COM
(comment) segments, so it has the right magic bytes, decodes in image tools, and can be any
size. A sample video is an ``ftyp`` box followed by an ``mdat`` box of pseudo-random bytes
(right magic and box structure; not playable). Bytes come from ``random.Random(key)``, so the
same key gives the same bytes on every machine, and they are produced in chunks: memory stays
flat whatever the size.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator

__all__ = ["jpeg_chunks", "jpeg_size", "mp4_chunks", "mp4_size", "JPEG_MIN_SIZE", "MP4_MIN_SIZE"]

_CHUNK = 1 << 20
_COM_MAX = 65533  # payload bytes per COM segment (segment length field is 16 bits incl. itself)

_JPEG_HEAD = bytes.fromhex("FFD8" "FFE000104A46494600010100000100010000")
_JPEG_TAIL = (
    bytes.fromhex("FFDB004300") + b"\x01" * 64  # quantisation table 0: all ones
    + bytes.fromhex("FFC0000B080008000801011100")  # SOF0: 8x8, one component
    + bytes.fromhex("FFC4001400") + b"\x01" + b"\x00" * 15 + b"\x00"  # DC table: one 1-bit code, symbol 0
    + bytes.fromhex("FFC4001410") + b"\x01" + b"\x00" * 15 + b"\x00"  # AC table: one 1-bit code, EOB
    + bytes.fromhex("FFDA000801010000" "3F00")  # SOS
    + bytes.fromhex("3F")  # DC diff 0, EOB, padded with ones
    + bytes.fromhex("FFD9")
)
JPEG_MIN_SIZE = len(_JPEG_HEAD) + len(_JPEG_TAIL)

_FTYP = struct.pack(">I4s4sI8s", 24, b"ftyp", b"isom", 0x200, b"isommp41")
MP4_MIN_SIZE = len(_FTYP) + 16


def _random_stream(rng: random.Random, size: int) -> Iterator[bytes]:
    while size > 0:
        n = min(size, _CHUNK)
        yield rng.randbytes(n)
        size -= n


def jpeg_size(requested: int) -> int:
    """The size :func:`jpeg_chunks` really writes for ``requested`` (segments need ≥4 bytes)."""
    payload = max(0, requested - JPEG_MIN_SIZE)
    if 0 < payload < 4:
        payload = 4
    return JPEG_MIN_SIZE + payload


def jpeg_chunks(size: int, key: str) -> Iterator[bytes]:
    """Yield a valid JPEG of ``jpeg_size(size)`` bytes, deterministic for ``key``."""
    rng = random.Random(key)
    payload = jpeg_size(size) - JPEG_MIN_SIZE
    yield _JPEG_HEAD
    while payload > 0:
        # Split so that every segment keeps room for its 4-byte header.
        take = min(payload, _COM_MAX + 4)
        if 0 < payload - take < 4:
            take -= 4
        yield b"\xff\xfe" + struct.pack(">H", take - 2)
        yield from _random_stream(rng, take - 4)
        payload -= take
    yield _JPEG_TAIL


def mp4_size(requested: int) -> int:
    return max(requested, MP4_MIN_SIZE)


def mp4_chunks(size: int, key: str) -> Iterator[bytes]:
    """Yield an ``ftyp`` + ``mdat`` MP4 of ``mp4_size(size)`` bytes, deterministic for ``key``."""
    rng = random.Random(key)
    total = mp4_size(size)
    body = total - len(_FTYP) - 16
    yield _FTYP
    yield struct.pack(">I4sQ", 1, b"mdat", body + 16)  # 64-bit "largesize" form works at any size
    yield from _random_stream(rng, body)
