"""Sample items for every vertical, and a byte source for them, shared by the importer kit.

The samples are built to hit the awkward cases an importer meets: two albums with the same name,
two photos with the same file name in one album, a photo whose size the source does not know,
media without an album, an all-day event, a recurring event with attendees, an event without a
calendar, nested folders. Every item is deterministic (fixed ids, times and bytes).

:class:`KitSource` plays the exporter's part of :class:`~connectors.base.ImportContext`: it serves
each byte item's payload and can be told to fail chosen items (missing bytes, or a stream that
breaks half-way), which is how the kit checks per-item failure handling.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timezone
from typing import IO

from ..base import ImportContext
from ..errors import ItemError
from ..models import (
    Attendee,
    CONTAINER_KINDS,
    Calendar,
    CalendarEvent,
    File,
    Folder,
    Item,
    Location,
    MediaAlbum,
    Photo,
    SocialAttachment,
    SocialPost,
    Vertical,
    Video,
    stable_id,
)
from ..progress import NullProgress, Progress

__all__ = ["sample_pages", "payload", "KitSource", "BrokenStream", "CONTAINER_KINDS", "parent_id_of"]

_T0 = datetime(2021, 7, 4, 9, 30, tzinfo=timezone.utc)


def _ref(name: str, length: int) -> str:
    return f"kit/{length}/{name}"


def payload(ref: str) -> bytes:
    """The deterministic bytes behind a sample ref (``kit/<length>/<name>``)."""
    length = int(ref.split("/", 2)[1])
    block = hashlib.sha256(ref.encode()).digest()
    return (block * (length // len(block) + 1))[:length]


def _sid(*parts: object) -> str:
    return stable_id("kit", *parts)


def _photo(n: int, album: MediaAlbum | None, file_name: str, length: int, *, announce: bool = True, **meta) -> Photo:
    return Photo(
        id=_sid("photo", n),
        album_id=album.id if album else None,
        title=meta.pop("title", file_name),
        mime_type="image/jpeg" if file_name.endswith(".jpg") else "image/png",
        size=length if announce else None,
        ref=_ref(file_name, length),
        file_name=file_name,
        **meta,
    )


def _media_pages(vertical: Vertical) -> list[list[Item]]:
    summer = MediaAlbum(id=_sid("album", 1), name="Summer 2020", description="Beach week")
    twin = MediaAlbum(id=_sid("album", 2), name="Summer 2020")  # same name, other album
    clips = MediaAlbum(id=_sid("album", 3), name="Clips/Travel")  # a slash in the name
    p1 = _photo(
        1, summer, "IMG_0001.jpg", 3000,
        description="Sunset", taken_time=_T0, favorite=True,
        location=Location(name="Pier", latitude=52.1, longitude=4.3),
    )  # fmt: skip
    p2 = _photo(2, summer, "IMG_0001.jpg", 1234)  # same file name in the same album
    p3 = _photo(3, twin, "IMG_0002.jpg", 777, announce=False)  # size unknown to the source
    p4 = _photo(4, None, "loose.png", 64)  # no album
    v1 = Video(
        id=_sid("video", 1), album_id=clips.id, title="clip.mp4", mime_type="video/mp4",
        size=70_000, ref=_ref("clip.mp4", 70_000), file_name="clip.mp4", taken_time=_T0,
    )  # fmt: skip
    v2 = Video(
        id=_sid("video", 2), album_id=clips.id, title="second.mov", mime_type="video/quicktime",
        size=5, ref=_ref("second.mov", 5), file_name="second.mov",
    )  # fmt: skip
    if vertical == Vertical.PHOTOS:
        return [[summer, twin, p1], [p2, p3, p4]]
    if vertical == Vertical.VIDEOS:
        return [[clips, v1], [v2]]
    return [[summer, clips, p1, v1], [p2, v2, p4]]


def _posts() -> list[list[Item]]:
    photo_id = _sid("photo", 1)
    first = SocialPost(
        id=_sid("post", 1), published=_T0, title="Holiday", content="At the pier",
        attachments=(
            SocialAttachment(type="IMAGE", name="IMG_0001.jpg", media_id=photo_id),
            SocialAttachment(type="LINK", url="https://example.org/pier"),
        ),
        location=Location(name="Pier"), actor_name="Kit Tester",
    )  # fmt: skip
    note = SocialPost(id=_sid("post", 2), type="NOTE", content="no date on this one")
    return [[first], [note]]


def _calendar() -> list[list[Item]]:
    work = Calendar(id=_sid("calendar", 1), name="Work", description="Office")
    standup = CalendarEvent(
        id=_sid("event", 1), calendar_id=work.id, title="Stand-up", notes="Daily", location="Room 1",
        start=_T0, end=_T0.replace(hour=10), rrule="FREQ=WEEKLY;COUNT=3",
        attendees=(Attendee(display_name="Ada", email="ada@example.org"), Attendee(email="bob@example.org", optional=True)),
        rsvp="joined",
    )  # fmt: skip
    holiday = CalendarEvent(
        id=_sid("event", 2), calendar_id=work.id, title="Holiday", all_day=True,
        start=datetime.combine(date(2021, 8, 2), datetime.min.time()), end=datetime.combine(date(2021, 8, 3), datetime.min.time()),
    )  # fmt: skip
    loose = CalendarEvent(id=_sid("event", 3), title="No calendar", start=_T0)
    return [[work, standup], [holiday, loose]]


def _blobs() -> list[list[Item]]:
    docs = Folder(id=_sid("folder", "docs"), path="/docs")
    sub = Folder(id=_sid("folder", "docs/sub"), path="/docs/sub")
    a = File(id=_sid("file", 1), folder="/docs", name="a.txt", mime_type="text/plain", size=11, ref=_ref("a.txt", 11), modified=_T0)
    b = File(id=_sid("file", 2), folder="/docs/sub", name="b.bin", size=70_000, ref=_ref("b.bin", 70_000))
    top = File(id=_sid("file", 3), folder="/", name="top.txt", size=None, ref=_ref("top.txt", 3))
    return [[docs, sub, a], [b, top]]


def sample_pages(vertical: Vertical) -> list[list[Item]]:
    """Two pages of sample items of ``vertical``; containers come before their children."""
    vertical = Vertical(vertical)
    if vertical in (Vertical.PHOTOS, Vertical.VIDEOS, Vertical.MEDIA):
        return _media_pages(vertical)
    if vertical == Vertical.SOCIAL_POSTS:
        return _posts()
    if vertical == Vertical.CALENDAR:
        return _calendar()
    return _blobs()


def parent_id_of(item: Item, pages: Iterable[Iterable[Item]]) -> str | None:
    """The id of the container ``item`` belongs to (album, calendar or folder), if any."""
    for attr in ("album_id", "calendar_id"):
        value = getattr(item, attr, None)
        if value:
            return value
    if isinstance(item, (File, Folder)):
        parent = item.folder if isinstance(item, File) else item.path.rsplit("/", 1)[0] or "/"
        for page in pages:
            for other in page:
                if isinstance(other, Folder) and other.path == parent and other.id != item.id:
                    return other.id
    return None


class BrokenStream(io.RawIOBase):
    """A stream that serves ``data`` and raises OSError after ``fail_after`` bytes (a dropped link)."""

    def __init__(self, data: bytes, fail_after: int):
        self._data = data
        self._pos = 0
        self._fail_after = fail_after

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._pos >= self._fail_after:
            raise OSError("simulated source failure half-way through the stream")
        end = min(len(self._data), self._fail_after, self._pos + len(buffer))
        n = end - self._pos
        buffer[:n] = self._data[self._pos : end]
        self._pos = end
        return n


class KitSource:
    """Serves the sample payloads; ``missing`` / ``broken`` refs fail on open / half-way.

    Args:
        missing: refs whose ``open_bytes`` raises :class:`~connectors.errors.ItemError`.
        broken: refs whose stream raises OSError after half of its bytes.
    """

    def __init__(self, *, missing: Iterable[str] = (), broken: Iterable[str] = ()):
        self.missing = set(missing)
        self.broken = set(broken)
        self.opened: list[str] = []

    def open_bytes(self, item: Item) -> IO[bytes]:
        ref = getattr(item, "ref")
        self.opened.append(ref)
        if ref in self.missing:
            raise ItemError(item.id, f"kit: the bytes of {ref} are missing")
        data = payload(ref)
        if ref in self.broken:
            return io.BufferedReader(BrokenStream(data, max(1, len(data) // 2)))
        return io.BytesIO(data)

    def context(
        self, *, parents: Mapping[str, str] | None = None, progress: Progress | None = None, job_id: str = "kit-job"
    ) -> ImportContext:
        """An ImportContext as the framework would build it, with this source's bytes."""
        return ImportContext(
            open_bytes=self.open_bytes,
            job_id=job_id,
            export_service="kit",
            progress=progress or NullProgress(),
            parents=dict(parents or {}),
        )
