"""The reference destination itself: strict envelope checks, auth, quota, dedupe, fsspec storage."""

from __future__ import annotations

import json

import fsspec
import httpx
import pytest

from ferry.servers.destination.app import create_app
from ferry.servers.threaded import ThreadedServer
from tests.generic_support import compact_fixture, start_destination

GOOD = {"Authorization": "Bearer good-token", "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def destination(tmp_path_factory):
    with start_destination(tmp_path_factory.mktemp("devserver-dest")) as running:
        yield running


@pytest.fixture
def dest(destination):
    destination.reset()
    return destination


def envelope(fixture: str, **changes) -> dict:
    document = json.loads(compact_fixture(fixture))
    document["payload"].update(changes)
    return document


def post(dest, suffix: str, document, headers=GOOD) -> httpx.Response:
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    return httpx.post(f"{dest.url}/{suffix}", content=body, headers=headers)


@pytest.mark.parametrize(
    ("suffix", "document", "field"),
    [
        ("media", {"@type": "Nope"}, "@type: must be 'GenericPayload'"),
        ("media", {**envelope("album.json"), "apiVersion": 1}, "apiVersion: must be a non-empty string"),
        ("media", envelope("album.json", id=None), "payload.id: must not be null"),
        ("calendar", envelope("album.json"), "payload.@type: 'Album' is not accepted at /calendar"),
        ("media", envelope("photo.json"), "Photo items must be sent as multipart/related"),
        ("calendar", envelope("calendar-event.json", startTime={"@type": "CalendarEventModel$CalendarEventTime", "dateTime": "2024-11-27", "dateOnly": True}),
         "payload.startTime.dateTime: must be an ISO-8601 date-time"),
        ("calendar", envelope("calendar-event.json", attendees=[{"@type": "CalendarAttendeeModel", "email": None, "optional": False}]),
         "payload.attendees[0].displayName: is missing"),
        ("social-posts", {**envelope("social-activity.json")}, None),
        ("blobs", envelope("folder.json", path="no-slash"), "payload.path: must be an absolute"),
    ],
)
def test_envelope_is_validated_strictly_naming_the_field(dest, suffix, document, field):
    response = post(dest, suffix, document)
    if field is None:
        assert response.status_code == 201
        return
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert field in response.json()["error_description"]


def test_every_json_example_is_accepted_and_repeats_are_200(dest):
    for suffix, fixture in [("media", "album.json"), ("blobs", "folder.json"), ("calendar", "calendar.json"),
                            ("calendar", "calendar-event.json"), ("social-posts", "social-activity.json")]:  # fmt: skip
        body = compact_fixture(fixture)
        assert post(dest, suffix, body).status_code in (200, 201)
        assert post(dest, suffix, body).json()["status"] == "duplicate"
    assert json.loads((dest.root / "alice" / "media" / "album123" / "album.json").read_text())["name"] == "Album 123"
    assert (dest.root / "alice" / "blobs" / "root" / "foo" / ".folder.json").exists()
    assert (dest.root / "alice" / "social-posts" / "456.json").exists()


@pytest.mark.parametrize("authorization", [None, "Bearer nope", "Basic Z29vZC10b2tlbg=="])
def test_bad_tokens_get_401_invalid_token(dest, authorization):
    headers = {"Content-Type": "application/json"} | ({"Authorization": authorization} if authorization else {})
    response = post(dest, "media", compact_fixture("album.json"), headers=headers)
    assert response.status_code == 401 and response.json()["error"] == "invalid_token"
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_issued_tokens_validate_until_they_expire(dest):
    issued = dest.tokens.issue("bob", client_id="ferry")
    headers = {**GOOD, "Authorization": f"Bearer {issued['access_token']}"}
    assert post(dest, "media", compact_fixture("album.json"), headers=headers).status_code == 201
    assert dest.api.received[-1].account == "bob"
    dest.tokens.expire_access_tokens()
    assert post(dest, "media", compact_fixture("album.json"), headers=headers).status_code == 401


def test_quota_answers_413_destination_full(dest):
    dest.api.knobs.quota_bytes = 10
    response = post(dest, "calendar", envelope("calendar.json", id="quota-cal"))
    assert response.status_code == 413 and response.json()["error"] == "destination_full"


def test_broken_dedupe_knob_answers_repeats_409(dest):
    dest.api.knobs.break_dedupe = True
    body = envelope("calendar.json", id="dup-cal")
    assert post(dest, "calendar", body).status_code == 201
    assert post(dest, "calendar", body).status_code == 409


def test_idempotency_key_extension_is_off_by_default(dest):
    headers = {**GOOD, "Idempotency-Key": "k-1"}
    assert post(dest, "calendar", envelope("calendar.json", id="idem-1"), headers=headers).status_code == 201
    assert post(dest, "calendar", envelope("calendar.json", id="idem-2"), headers=headers).status_code == 201
    dest.api.knobs.honour_idempotency_key = True
    headers = {**GOOD, "Idempotency-Key": "k-2"}
    assert post(dest, "calendar", envelope("calendar.json", id="idem-3"), headers=headers).status_code == 201
    assert post(dest, "calendar", envelope("calendar.json", id="idem-4"), headers=headers).status_code == 200


def test_other_content_types_get_415(dest):
    response = post(dest, "media", b"x", headers={**GOOD, "Content-Type": "text/plain"})
    assert response.status_code == 415 and response.json()["error"] == "unsupported_media_type"


def test_index_lists_base_url_and_oauth_metadata(dest):
    index = httpx.get(dest.server.url + "/").json()
    assert index["base_url"] == dest.url and index["endpoints"][0] == dest.url + "/media"
    metadata = httpx.get(index["oauth_metadata"]).json()
    assert metadata["token_endpoint"] == dest.server.url + "/oauth/token"


def test_stores_into_s3(s3_bucket):
    bucket, options = s3_bucket
    app = create_app(f"s3://{bucket}/dest", storage_options=options, static_tokens={"t": "carol"}, oauth=False)
    boundary = "bnd"
    body = (b"--bnd\r\nContent-Type: application/json\r\n\r\n" + compact_fixture("file.json")
            + b"\r\n--bnd\r\nContent-Type: video/mp4\r\nContent-Length: 4\r\n\r\nmp4!\r\n--bnd--\r\n")  # fmt: skip
    with ThreadedServer(app) as server:
        headers = {"Authorization": "Bearer t", "Content-Type": f"multipart/related; boundary={boundary}"}
        assert httpx.post(server.url + "/dtp/blobs", content=body, headers=headers).status_code == 201
        assert httpx.post(server.url + "/dtp/blobs", content=body, headers=headers).status_code == 200
    fs = fsspec.filesystem("s3", **options, skip_instance_cache=True)
    assert fs.cat(f"{bucket}/dest/carol/blobs/root/foo.mp4") == b"mp4!"
    assert json.loads(fs.cat(f"{bucket}/dest/carol/blobs/root/foo.mp4.dtp.json"))["contentType"] == "video/mp4"


def test_a_file_sent_again_with_new_bytes_replaces_the_old_version(dest):
    def send(content: bytes) -> httpx.Response:
        document = envelope("file.json", folder="/versions", name="v.txt")
        body = (b"--b\r\nContent-Type: application/json\r\n\r\n" + json.dumps(document).encode()
                + b"\r\n--b\r\nContent-Type: text/plain\r\n\r\n" + content + b"\r\n--b--\r\n")  # fmt: skip
        return httpx.post(f"{dest.url}/blobs", content=body, headers={"Authorization": "Bearer good-token", "Content-Type": "multipart/related; boundary=b"})

    assert send(b"first").status_code == 201
    assert send(b"second").status_code == 200
    assert send(b"second").json()["status"] == "duplicate"
    folder = dest.root / "alice" / "blobs" / "versions"
    assert (folder / "v.txt").read_bytes() == b"second"
    assert sorted(path.name for path in folder.iterdir()) == ["v.txt", "v.txt.dtp.json"]
