"""Byte-exact serialization: ferry items -> the envelopes DTP sends (fixtures copied from the contract)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from connectors.generic.jsonenc import dumps, java_double
from connectors.generic.wire import envelope_bytes, file_mime_type, format_time
from connectors.models import (
    Attendee,
    Calendar,
    CalendarEvent,
    File,
    Folder,
    Location,
    MediaAlbum,
    Photo,
    SocialAttachment,
    SocialPost,
    Video,
)
from tests.generic_support import FIXTURES, compact_fixture

WHEN = datetime(2024, 11, 27, 13, 16, 32, tzinfo=UTC)


def test_album_matches_the_wire_bytes_exactly():
    album = MediaAlbum(id="album123", name="Album 123", description="Album description")
    assert envelope_bytes(album) == (FIXTURES / "album.wire.json").read_bytes().strip()


@pytest.mark.parametrize(
    ("fixture", "item"),
    [
        ("album.json", MediaAlbum(id="album123", name="Album 123", description="Album description")),
        (
            "photo.json",
            Photo(id="p", album_id="album123", title="bar.jpeg", description="Bar description", ref="r",
                  file_name="ignored.jpeg", mime_type="image/jpeg", uploaded_time=WHEN),
        ),
        (
            "video.json",
            # a non-UTC upload time is converted to UTC, as DTP's serializer does
            Video(id="v", album_id="album123", title="foo.mp4", description="Foo description", ref="r",
                  file_name="foo.mp4", uploaded_time=WHEN.astimezone(timezone(timedelta(hours=2)))),
        ),
        ("folder.json", Folder(id="f", path="/root/foo")),
        ("file.json", File(id="f", folder="/root", name="foo.mp4", modified=datetime(2020, 2, 1, 1, 2, 3, tzinfo=UTC), ref="r")),
        ("file-no-date.json", File(id="f", folder="/root", name="bar.txt", ref="r")),
        ("calendar.json", Calendar(id="calendar123", name="Calendar 123", description="Calendar description")),
        (
            "calendar-event.json",
            CalendarEvent(id="e", calendar_id="calendar123", title="Event 1", notes="Event notes", location="Event Place",
                          start=WHEN, end=WHEN + timedelta(hours=2),
                          attendees=(Attendee(display_name="attendee1", email="attendee1@example.com"),
                                     Attendee(display_name="attendee2", email="attendee2@example.com", optional=True))),
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_payloads_match_the_contract_examples(fixture, item):
    assert envelope_bytes(item) == compact_fixture(fixture)


def test_social_activity_matches_the_example_except_the_actor_id_ferry_does_not_know():
    document = json.loads((FIXTURES / "social-activity.json").read_text())
    document["payload"]["metadata"]["actor"]["id"] = None  # ferry's SocialPost has no actor id (documented)
    expected = json.dumps(document, separators=(",", ":")).encode()
    post = SocialPost(
        id="456", published=WHEN, type="NOTE", title="Hello world!", content="Hi there", actor_name="Steve",
        location=Location(name="foo", latitude=10.0, longitude=10.0),
        attachments=(SocialAttachment(type="IMAGE", url="foo.com", name="Foo"),),
    )  # fmt: skip
    assert envelope_bytes(post) == expected


def test_missing_times_and_nullable_keys():
    photo = Photo(id="p", ref="r", file_name="x.jpg", taken_time=datetime(2021, 5, 6, 7, 8, 9, 500000))
    payload = json.loads(envelope_bytes(photo))["payload"]
    assert payload == {
        "@type": "Photo", "name": "x.jpg", "description": None, "albumId": None,
        "uploadedTime": "2021-05-06T07:08:09.5Z",
        "favoriteInfo": {"@type": "FavoriteInfo", "lastUpdateTime": "2021-05-06T07:08:09.5Z", "favorite": False},
    }  # fmt: skip
    bare = json.loads(envelope_bytes(Photo(id="q", ref="r", file_name="y.jpg")))["payload"]
    assert bare["uploadedTime"] == "1970-01-01T00:00:00Z"  # DTP would crash; ferry sends the epoch
    event = json.loads(envelope_bytes(CalendarEvent(id="e", rrule="FREQ=DAILY", all_day=True, start=datetime(2024, 1, 2))))
    assert event["payload"]["recurrenceRule"] is None and event["payload"]["endTime"] is None
    assert event["payload"]["startTime"] == {"@type": "CalendarEventModel$CalendarEventTime", "dateTime": "2024-01-02T00:00:00Z", "dateOnly": True}
    post = json.loads(envelope_bytes(SocialPost(id="s")))["payload"]
    assert post["metadata"] == {"@type": "SocialActivityMetadata", "actor": None}
    assert post["activity"]["attachments"] == [] and post["activity"]["location"] is None


def test_time_formats():
    assert format_time(WHEN) == "2024-11-27T13:16:32Z"
    assert format_time(WHEN.replace(microsecond=120000)) == "2024-11-27T13:16:32.12Z"
    assert format_time(WHEN.replace(microsecond=120000), instant=True) == "2024-11-27T13:16:32.120Z"
    assert format_time(WHEN.replace(microsecond=123456), instant=True) == "2024-11-27T13:16:32.123456Z"
    plus_one = datetime(2020, 2, 1, 1, 2, 3, tzinfo=timezone(timedelta(hours=1)))
    assert format_time(plus_one) == "2020-02-01T01:02:03+01:00"
    assert format_time(plus_one, utc=True) == "2020-02-01T00:02:03Z"
    assert format_time(datetime(2020, 2, 1, tzinfo=timezone(timedelta(hours=-5, minutes=-30)))) == "2020-02-01T00:00:00-05:30"


def test_json_encoding_follows_jackson():
    assert [java_double(v) for v in (10.0, 0.001, 1e-4, 1e7, 1234567.0, -2.5, 0.0)] == [
        "10.0", "0.001", "1.0E-4", "1.0E7", "1234567.0", "-2.5", "0.0",
    ]  # fmt: skip
    assert dumps({"a": "é\x1f\n\"\\/", "b": [True, None, 3]}) == '{"a":"é\\u001F\\n\\"\\\\/","b":[true,null,3]}'.encode()
    with pytest.raises(ValueError):
        java_double(float("nan"))


def test_unparseable_mime_types_become_octet_stream():
    def mime(value):
        return file_mime_type(File(id="f", name="n", ref="r", mime_type=value))

    assert mime("image/jpeg") == "image/jpeg"
    assert mime("invalid_mimetype") == "application/octet-stream"
    assert mime("text/plain; charset=utf-8") == "text/plain; charset=utf-8"
    assert mime("bad type/x") == "application/octet-stream"
