"""Hostile TikTok downloads, built at test time (no binaries committed), served by the fake.

Each builder returns a :class:`HostileDownload`: the zip's bytes (give them to
``FakeTikTok.raw_zip``) and what a correct reader must do: name each bad member or entry
(``expect``: subject fragment -> message fragment) and still deliver ``good_media`` photos and
videos, or refuse the whole download with a one-line reason (``refused``).

The bombs use :class:`tests.hostile.archives.RawZip` (headers written by hand, deflate blocks
repeated), so a 2.2 GB member costs about 2 MB to build and to serve.
"""

from __future__ import annotations

import json
import stat
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from .archives import JPEG, MiB, RawZip, _add_bomb, symlink_member
from connectors.readlimits import DEFAULT_MAX_MEMBERS

__all__ = ["HostileDownload", "bad_entries", "member_bombs", "main_json_bomb", "huge_main_json", "too_many_members", "MP4"]

MAIN = "user_data_tiktok.json"
MP4 = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8


@dataclass
class HostileDownload:
    data: bytes
    expect: dict[str, str] = field(default_factory=dict)
    good_media: int = 0
    refused: str | None = None
    note: str = ""


def _zip(build) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "download.zip"
        with RawZip(path) as z:
            build(z)
        return path.read_bytes()


def _good_posts(z: RawZip, count: int = 3) -> list[bytes]:
    """``count`` good posts whose media are in the zip (paired by date), as raw JSON entries."""
    entries = []
    for i in range(count):
        date = f"2025-03-0{i + 1} 10:00:00"
        photo = i % 2 == 1
        name = f"Posts/2025030{i + 1}100000.{'jpg' if photo else 'mp4'}"
        z.add_bytes(name, JPEG if photo else MP4, deflate=False)
        entries.append(json.dumps({"Date": date, "Link": "N/A", "Title": f"good {i} ✅"}).encode())
    return entries


def bad_entries() -> HostileDownload:
    """Posts and sections mixing good entries with every kind of bad one; hostile members beside.

    Bad: an entry nested 100,000 deep, a 5,001-digit number, a lone surrogate, NaN, a string where
    an entry should be, a section nested 100,000 deep, a symlink member, a directory member posing
    as a video, a name leaving the export folder. Good: 3 posts with media (2 videos, 1 photo).
    """

    def build(z: RawZip) -> None:
        good = _good_posts(z)
        posts = [
            good[0],
            b'{"Date": "2025-04-01 10:00:00", "Title": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            b'{"Date": "2025-04-02 10:00:00", "Likes": ' + b"9" * 5001 + b"}",
            good[1],
            b'{"Date": "2025-04-03 10:00:00", "Title": "broken \\ud800 text"}',
            b'{"Date": "2025-04-04 10:00:00", "Likes": NaN}',
            b'"a string where a post should be"',
            good[2],
        ]
        doc = (
            b'{"Post": {"Posts": {"VideoList": [' + b", ".join(posts) + b"]}},"
            b'"Your Activity": {"Searches": {"SearchList": [{"SearchTerm": "cats"}]}, "Watch History": '
            + b"[" * 100_000 + b"]" * 100_000 + b"},"
            b'"Profile And Settings": {"Profile Info": {"ProfileMap": {"userName": "hostile"}}}}'
        )
        z.add_bytes(MAIN, doc)
        symlink_member(z, "Posts/20250405100000.mp4")
        z.add_bytes("Posts/dir.mp4", b"", deflate=False, mode=stat.S_IFDIR | 0o755)
        z.add_bytes("../../escape.txt", b"outside", deflate=False)

    expect = {
        "VideoList → 1": "levels deep",
        "VideoList → 2": "5001 digits",
        "VideoList → 4": "lone surrogate",
        "VideoList → 5": "NaN",
        "VideoList → 6": "expected an object",
        "Your Activity → Watch History": "levels deep",
        "Posts/20250405100000.mp4": "symbolic link",
        "Posts/dir.mp4": "directory",
        "../../escape.txt": "unsafe member name",
    }
    return HostileDownload(_zip(build), expect, good_media=3, note="bad entries and members among good ones")


def member_bombs(inflated: int = 2200 * MiB) -> HostileDownload:
    """Two members inflating to ``inflated`` bytes (one admits it, one's headers claim 2 KB)."""

    def build(z: RawZip) -> None:
        good = _good_posts(z)
        z.add_bytes(MAIN, b'{"Post": {"Posts": {"VideoList": [' + b", ".join(good) + b"]}}}")
        _add_bomb(z, "Other/bomb.txt", b"", inflated, b"")
        _add_bomb(z, "Other/liar.txt", b"", inflated, b"", claimed=2048)

    expect = {"Other/bomb.txt": "zip bomb", "Other/liar.txt": "cannot read"}
    return HostileDownload(_zip(build), expect, good_media=3, note=f"members inflating to {inflated >> 20} MiB")


def main_json_bomb(inflated: int = 2200 * MiB) -> HostileDownload:
    """The main document itself inflates to ``inflated`` bytes: the download is refused by name."""

    def build(z: RawZip) -> None:
        _add_bomb(z, MAIN, b'{"Post": {"Posts": {"VideoList": [], "x": "', inflated, b'"}}}')

    return HostileDownload(_zip(build), refused="zip bomb", note=f"main JSON inflating to {inflated >> 20} MiB")


def huge_main_json(size: int = 200 * MiB) -> HostileDownload:
    """The main document is one ``size``-byte string, stored: over the JSON cap, never read whole."""

    def build(z: RawZip) -> None:
        prefix, suffix = b'{"Post": {"Posts": {"VideoList": [{"Date": "2025-01-01 00:00:00", "Title": "', b'"}]}}}'
        chunk = b"0123456789abcdef" * (MiB // 16)
        blocks = (size - len(prefix) - len(suffix)) // MiB
        crc = zlib.crc32(prefix)
        for _ in range(blocks):
            crc = zlib.crc32(chunk, crc)
        crc = zlib.crc32(suffix, crc)
        total = len(prefix) + blocks * MiB + len(suffix)
        z.add(MAIN, iter([prefix, *([chunk] * blocks), suffix]), crc=crc, compressed=total, size=total, deflated=False)

    return HostileDownload(_zip(build), refused="the limit for JSON files", note=f"a {size >> 20} MiB main JSON")


def too_many_members(count: int = 300_000, limit: int = DEFAULT_MAX_MEMBERS) -> HostileDownload:
    """``count`` empty members besides a valid export: refused before any index is built by an
    exporter whose ``max_members`` is ``limit`` (below ``count``)."""

    def build(z: RawZip) -> None:
        z.add_bytes(MAIN, b'{"Post": {"Posts": {"VideoList": []}}}')
        empty = zlib.crc32(b"")
        for i in range(count):
            z.add(f"spam/{i}.txt", [], crc=empty, compressed=0, size=0, deflated=False)

    return HostileDownload(_zip(build), refused=f"more than {limit:,}", note=f"{count:,} members")
