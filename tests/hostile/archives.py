"""Hostile Meta archives, built at test time in seconds and a few MB of disk.

Each generator writes one zip into ``out`` (a folder the test owns) and returns a
:class:`HostileArchive` that says what a correct reader must do: which subjects it must name
(``expect``: subject -> a fragment of the message) and how many good photos it must still deliver.

The zip bombs are not compressed at test time: a raw-deflate block of 1 MiB of spaces, ended
with a full flush, is byte-aligned and independent, so repeating it N times *is* a valid deflate
stream of N MiB; :class:`RawZip` writes the headers by hand, which is also how the "lying
headers" variant claims a size the data does not have.
"""

from __future__ import annotations

import json
import os
import stat
import struct
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "HostileArchive",
    "RawZip",
    "JPEG",
    "ALBUM",
    "POSTS",
    "ratio_bomb",
    "lying_header_bomb",
    "too_many_members",
    "huge_json_string",
    "hostile_entries",
    "symlink_member",
    "write_all",
]

MiB = 1 << 20
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4 + b"\xff\xd9"
FB = "your_facebook_activity/"
ALBUM = FB + "posts/album/{n}.json"
POSTS = FB + "posts/your_posts_1.json"
MEDIA = FB + "posts/media/Good_1/{name}"


@dataclass
class HostileArchive:
    """What was built and what a reader must report.

    Attributes:
        path: the zip.
        expect: subject -> fragment of the problem or item error naming it.
        good_photos: photo files that must still be delivered.
        note: one line for tables (bench) and test ids.
    """

    path: Path
    expect: dict[str, str] = field(default_factory=dict)
    good_photos: int = 0
    note: str = ""


class RawZip:
    """A zip written header by header (no zip64: members and offsets stay under 4 GiB)."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(path, "wb")
        self._central: list[bytes] = []

    def add(
        self,
        name: str,
        chunks: Iterable[bytes],
        *,
        crc: int,
        compressed: int,
        size: int,
        deflated: bool,
        mode: int = stat.S_IFREG | 0o644,
        claimed_size: int | None = None,
    ) -> None:
        """Write one member whose (already compressed) bytes are ``chunks``.

        ``claimed_size`` is the uncompressed size written in both headers (default: ``size``).
        """
        header_size = size if claimed_size is None else claimed_size
        raw_name = name.encode()
        offset = self._fh.tell()
        method = 8 if deflated else 0
        self._fh.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc, compressed, header_size, len(raw_name), 0))
        self._fh.write(raw_name)
        for chunk in chunks:
            self._fh.write(chunk)
        self._central.append(
            struct.pack(
                "<4s6H3L5H2L", b"PK\x01\x02", (3 << 8) | 20, 20, 0, method, 0, 0x21, crc, compressed, header_size,
                len(raw_name), 0, 0, 0, 0, mode << 16, offset,
            )
            + raw_name
        )

    def add_bytes(self, name: str, data: bytes, *, deflate: bool = True, mode: int = stat.S_IFREG | 0o644) -> None:
        body = _raw_deflate(data) if deflate else data
        self.add(name, [body], crc=zlib.crc32(data), compressed=len(body), size=len(data), deflated=deflate, mode=mode)

    def close(self) -> None:
        start = self._fh.tell()
        for record in self._central:
            self._fh.write(record)
        size = self._fh.tell() - start
        count = len(self._central)
        if count >= 0xFFFF:  # zip64 end record + locator for the entry count
            z64 = self._fh.tell()
            self._fh.write(struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, size, start))
            self._fh.write(struct.pack("<4sLQL", b"PK\x06\x07", 0, z64, 1))
            self._fh.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, size, start, 0))
        else:
            self._fh.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, size, start, 0))
        self._fh.close()

    def __enter__(self) -> "RawZip":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _raw_deflate(data: bytes) -> bytes:
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    return comp.compress(data) + comp.flush()


def _meta(value: object) -> bytes:
    """JSON the way Meta writes it: every UTF-8 byte of a string as its own escape."""

    def damage(v):
        if isinstance(v, str):
            return v.encode("utf-8").decode("latin-1")
        if isinstance(v, list):
            return [damage(x) for x in v]
        if isinstance(v, dict):
            return {damage(k): damage(x) for k, x in v.items()}
        return v

    return json.dumps(damage(value)).encode("ascii")


def _good_album(z: RawZip, n: int, names: list[str]) -> None:
    """An album of ``names`` (JPEGs) that must arrive whatever else the archive holds."""
    photos = [{"uri": MEDIA.format(name=name), "creation_timestamp": 1_600_000_000 + i, "title": "Dobrá alba ✅"} for i, name in enumerate(names)]
    z.add_bytes(ALBUM.format(n=n), _meta({"name": "Dobré fotky ✅", "photos": photos}))
    for name in names:
        z.add_bytes(MEDIA.format(name=name), JPEG, deflate=False)


def _bomb_stream(prefix: bytes, total: int, suffix: bytes) -> tuple[int, int, int, Iterator[bytes]]:
    """A raw deflate stream of ``prefix + spaces + suffix`` (about ``total`` bytes).

    Returns ``(crc, size, compressed size, compressed chunks)``.
    """
    spaces = b" " * MiB

    def flushed(data: bytes, mode: int) -> bytes:
        comp = zlib.compressobj(9, zlib.DEFLATED, -15)
        return comp.compress(data) + comp.flush(mode)

    head, block, tail = flushed(prefix, zlib.Z_FULL_FLUSH), flushed(spaces, zlib.Z_FULL_FLUSH), flushed(suffix, zlib.Z_FINISH)
    blocks = max(0, (total - len(prefix) - len(suffix)) // MiB)
    crc = zlib.crc32(prefix)
    for _ in range(blocks):
        crc = zlib.crc32(spaces, crc)
    crc = zlib.crc32(suffix, crc)
    size = len(prefix) + blocks * MiB + len(suffix)
    compressed = len(head) + blocks * len(block) + len(tail)
    return crc, size, compressed, iter([head, *([block] * blocks), tail])


def _add_bomb(z: RawZip, name: str, prefix: bytes, total: int, suffix: bytes, *, claimed: int | None = None) -> int:
    crc, size, compressed, body = _bomb_stream(prefix, total, suffix)
    z.add(name, body, crc=crc, compressed=compressed, size=size, deflated=True, claimed_size=claimed)
    return compressed


def ratio_bomb(out: Path, inflated: int = 2200 * MiB) -> HostileArchive:
    """An album JSON of ~2 MB that inflates to ``inflated`` bytes, beside a good album."""
    path = out / "facebook-ratiobomb-2026-01-01-x.zip"
    with RawZip(path) as z:
        _add_bomb(z, ALBUM.format(n=0), b'{"name": "Bomb", "photos": [', inflated, b"]}")
        _good_album(z, 1, ["ok_1.jpg", "ok_2.jpg"])
    return HostileArchive(path, {ALBUM.format(n=0): "zip bomb"}, 2, f"album JSON inflating to {inflated >> 20} MiB")


def lying_header_bomb(out: Path, inflated: int = 2200 * MiB) -> HostileArchive:
    """The same album JSON, whose headers claim it inflates to 2 KB."""
    path = out / "facebook-lyingbomb-2026-01-01-x.zip"
    with RawZip(path) as z:
        _add_bomb(z, ALBUM.format(n=0), b'{"name": "Bomb", "photos": [', inflated, b"]}", claimed=2048)
        _good_album(z, 1, ["ok_1.jpg"])
    return HostileArchive(path, {ALBUM.format(n=0): "cannot read"}, 1, f"headers claim 2 KB, inflates to {inflated >> 20} MiB")


def too_many_members(out: Path, count: int = 300_000) -> HostileArchive:
    """A zip of ``count`` empty members (a valid export besides): refused before it is indexed."""
    path = out / "facebook-manymembers-2026-01-01-x.zip"
    with RawZip(path) as z:
        _good_album(z, 0, ["ok_1.jpg"])
        empty_crc = zlib.crc32(b"")
        for i in range(count):
            z.add(f"{FB}messages/inbox/spam/{i}.txt", [], crc=empty_crc, compressed=0, size=0, deflated=False)
    return HostileArchive(path, {path.name: "more than"}, 0, f"{count:,} members")


def huge_json_string(out: Path, size: int = 200 * MiB) -> HostileArchive:
    """A posts file holding one ``size``-byte string (stored, so the ratio limit does not fire)."""
    path = out / "facebook-hugestring-2026-01-01-x.zip"
    prefix = b'[{"timestamp": 1600000000, "data": [{"post": "'
    suffix = b'"}]}]'
    chunk = (b"0123456789abcdef" * (MiB // 16))
    blocks = (size - len(prefix) - len(suffix)) // MiB
    crc = zlib.crc32(prefix)
    for _ in range(blocks):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(suffix, crc)
    total = len(prefix) + blocks * MiB + len(suffix)
    with RawZip(path) as z:
        z.add(POSTS, iter([prefix, *([chunk] * blocks), suffix]), crc=crc, compressed=total, size=total, deflated=False)
        _good_album(z, 0, ["ok_1.jpg", "ok_2.jpg"])
    return HostileArchive(path, {POSTS: "limit for JSON files"}, 2, f"one {size >> 20} MiB JSON string")


def symlink_member(z: RawZip, name: str, target: str = "/etc/passwd") -> None:
    """A member whose mode bits say symbolic link; its data is the link text."""
    z.add_bytes(name, target.encode(), deflate=False, mode=stat.S_IFLNK | 0o777)


def hostile_entries(out: Path) -> HostileArchive:
    """One posts file and albums mixing good entries with every kind of bad one.

    Bad: a post nested 100,000 levels deep, a 5,001-digit number, a lone surrogate, NaN, wrong
    types (a string where a post should be, ``photos`` as a string), a photo that is a symlink
    member and a directory member posing as a photo. Good: 3 posts with a photo each, and an album of 2.
    """
    path = out / "facebook-entries-2026-01-01-x.zip"
    good = [{"timestamp": 1_600_000_000 + i, "data": [{"post": f"Dobrý příspěvek {i} 👍"}],
             "attachments": [{"data": [{"media": {"uri": MEDIA.format(name=f"post_{i}.jpg"), "creation_timestamp": 1_600_000_000}}]}]}
            for i in range(3)]
    parts = [
        _meta(good[0]),
        b'{"timestamp": 1600000100, "data": [{"post": ' + b"[" * 100_000 + b"]" * 100_000 + b"}]}",
        b'{"timestamp": ' + b"9" * 5001 + b', "data": [{"post": "big number"}]}',
        _meta(good[1]),
        b'{"timestamp": 1600000200, "data": [{"post": "broken \\ud800 text"}]}',
        b'{"timestamp": NaN, "data": [{"post": "not a number"}]}',
        b'"a string where a post should be"',
        _meta(good[2]),
    ]
    with RawZip(path) as z:
        z.add_bytes(POSTS, b"[" + b", ".join(parts) + b"]")
        for i in range(3):
            z.add_bytes(MEDIA.format(name=f"post_{i}.jpg"), JPEG, deflate=False)
        z.add_bytes(ALBUM.format(n=0), _meta({"name": "Špatné typy", "photos": "not a list"}))
        _good_album(z, 1, ["ok_1.jpg", "ok_2.jpg"])
        z.add_bytes(ALBUM.format(n=2), _meta({"name": "Odkazy", "photos": [
            {"uri": MEDIA.format(name="link.jpg"), "creation_timestamp": 1}, {"uri": MEDIA.format(name="dir.jpg"), "creation_timestamp": 1}]}))
        symlink_member(z, MEDIA.format(name="link.jpg"))
        z.add_bytes(MEDIA.format(name="dir.jpg"), b"", deflate=False, mode=stat.S_IFDIR | 0o755)
    expect = {
        f"{POSTS}[1]": "levels deep",
        f"{POSTS}[2]": "5001 digits",
        f"{POSTS}[4]": "lone surrogate",
        f"{POSTS}[5]": "NaN",
        f"{POSTS}[6]": "a string, expected an object",
        ALBUM.format(n=0): "photos is a string",
        "link.jpg": "symbolic link",
        "dir.jpg": "directory",
    }
    return HostileArchive(path, expect, 5, "bad entries among good ones")


def write_all(out: Path, *, small: bool = False) -> list[HostileArchive]:
    """Every hostile archive (``small``: bombs of 64 MiB instead of 2.2 GB, for quick runs)."""
    os.makedirs(out, exist_ok=True)
    size = 300 * MiB if small else 2200 * MiB
    return [
        ratio_bomb(out, size),
        lying_header_bomb(out, size),
        huge_json_string(out, 100 * MiB if small else 200 * MiB),
        too_many_members(out),
        hostile_entries(out),
    ]
