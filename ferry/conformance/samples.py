"""Sample items for ``ferry conformance``: one of every Generic Importer payload type.

They are ferry items serialized by :mod:`connectors.generic.wire`, i.e. exactly what ferry (and
DTP) put on the wire. Every name carries the run id, so a second run against the same destination
sends new items rather than repeats (repeats are tested on purpose, separately).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from connectors.models import (
    Attendee,
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
    Video,
)

__all__ = ["Sample", "samples", "volume_item", "sample_bytes"]

_WHEN = datetime(2024, 11, 27, 13, 16, 32, tzinfo=UTC)
#: A tiny valid JPEG-ish header plus filler; content does not matter to the contract.
_JPEG = b"\xff\xd8\xff\xe0" + b"ferry-conformance" + b"\xff\xd9"


@dataclass(frozen=True)
class Sample:
    """One check's item: a label for the table and the ferry item to send."""

    label: str
    item: Item


def sample_bytes(item: Item) -> bytes:
    """The bytes sent for a Photo/Video/File sample (different per item, so hashes differ)."""
    return _JPEG + item.id.encode()


def samples(run: str) -> list[Sample]:
    """The payload-type samples, parents first, for run id ``run``."""
    album = MediaAlbum(id=f"album-{run}", name=f"Conformance album {run}", description="ferry conformance")
    folder = f"/ferry-conformance-{run}"
    calendar = Calendar(id=f"calendar-{run}", name="Conformance calendar", description=None)
    return [
        Sample("Album (JSON to /media)", album),
        Sample(
            "Video (multipart to /media)",
            Video(id=f"video-{run}", album_id=album.id, title=f"clip-{run}.mp4", ref="-", file_name=f"clip-{run}.mp4",
                  mime_type="video/mp4", uploaded_time=_WHEN, favorite=True),
        ),
        Sample(
            "Photo (multipart to /media)",
            Photo(id=f"photo-{run}", album_id=album.id, title=f"photo-{run}.jpg", description="a photo", ref="-",
                  file_name=f"photo-{run}.jpg", mime_type="image/jpeg", uploaded_time=_WHEN),
        ),
        Sample(
            "Photo with nulls and an unknown albumId",
            Photo(id=f"photo-nulls-{run}", album_id=f"no-such-album-{run}", title=None, ref="-",
                  file_name=f"nulls-{run}.jpg", mime_type="image/jpeg", taken_time=_WHEN),
        ),
        Sample("Folder (JSON to /blobs)", Folder(id=f"folder-{run}", path=folder)),
        Sample(
            "File with dateModified (multipart to /blobs)",
            File(id=f"file-{run}", folder=folder, name=f"notes-{run}.txt", mime_type="text/plain",
                 modified=datetime(2020, 2, 1, 1, 2, 3, tzinfo=UTC), ref="-"),
        ),
        Sample(
            "File without dateModified (multipart to /blobs)",
            File(id=f"file-nodate-{run}", folder=folder, name=f"nodate-{run}.bin", ref="-"),
        ),
        Sample("Calendar (JSON to /calendar)", calendar),
        Sample(
            "CalendarEvent (JSON to /calendar)",
            CalendarEvent(id=f"event-{run}", calendar_id=calendar.id, title=f"Event {run}", notes="notes",
                          location="Event Place", start=_WHEN, end=_WHEN.replace(hour=15),
                          attendees=(Attendee(display_name="a", email="a@example.com"), Attendee(optional=True))),
        ),
        Sample(
            "SocialActivity (JSON to /social-posts)",
            SocialPost(id=f"post-{run}", published=_WHEN, type="NOTE", title="Hello", content=f"run {run}",
                       actor_name="ferry", location=Location(name="foo", latitude=10.0, longitude=10.0),
                       attachments=(SocialAttachment(type="IMAGE", url="https://example.com/x.jpg", name="x"),)),
        ),
    ]  # fmt: skip


def volume_item(run: str, index: int) -> Photo:
    """The ``index``-th small photo of the failure-rate batch."""
    return Photo(
        id=f"volume-{run}-{index}", album_id=None, title=f"volume-{run}-{index:04d}.jpg", ref="-",
        file_name=f"volume-{run}-{index:04d}.jpg", mime_type="image/jpeg", uploaded_time=_WHEN,
    )  # fmt: skip
