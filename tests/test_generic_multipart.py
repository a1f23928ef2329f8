"""multipart/related framing: ferry's bytes equal okhttp's, and the reference server parses them back."""

from __future__ import annotations

import io
import json

import httpx
import pytest

from connectors.errors import ItemError
from connectors.generic.multipart import ByteSource, MultipartBody, prepare_source
from connectors.models import Photo
from tests.generic_support import FIXTURES, JOB_ID, compact_fixture, start_destination

BOUNDARY = "1581c5eb-05d0-42fe-bfb3-472151f366cd"


@pytest.fixture(scope="module")
def dest(tmp_path_factory):
    with start_destination(tmp_path_factory.mktemp("multipart-dest")) as running:
        yield running


def example_body() -> MultipartBody:
    data = b"0123456789ab"
    source = ByteSource("p", len(data), lambda: io.BytesIO(data))
    return MultipartBody(compact_fixture("photo.json"), "image/jpeg", source, boundary=BOUNDARY, chunk_size=5)


def test_body_is_byte_identical_to_the_okhttp_example():
    body = example_body()
    expected = (FIXTURES / "photo-request.body.bin").read_bytes()
    assert b"".join(body) == expected
    assert body.content_length == len(expected) == 738
    assert body.content_type == f"multipart/related; boundary={BOUNDARY}"
    assert b"".join(body) == expected  # iterable again, for a retry


def test_random_boundary_is_a_uuid():
    source = ByteSource("p", 0, lambda: io.BytesIO(b""))
    first, second = MultipartBody(b"{}", "a/b", source), MultipartBody(b"{}", "a/b", source)
    assert first.boundary != second.boundary and len(first.boundary) == 36


def test_unknown_size_is_spooled_and_removed(tmp_path):
    item = Photo(id="p", ref="r", file_name="x.jpg")
    with prepare_source(item, lambda _: io.BytesIO(b"x" * 100_000), spool_dir=str(tmp_path)) as source:
        assert source.size == 100_000 and len(list(tmp_path.iterdir())) == 1
        assert sum(len(block) for block in source.chunks()) == 100_000
    assert list(tmp_path.iterdir()) == []


def test_longer_stream_than_announced_is_an_item_error():
    source = ByteSource("p1", 3, lambda: io.BytesIO(b"abcdef"))
    with pytest.raises(ItemError, match="longer than the announced 3 bytes"):
        list(source.chunks())


def test_reference_server_parses_the_example_request_back(dest):
    headers = {
        "Authorization": "Bearer good-token",
        "X-DTP-Export-Service": "Google",
        "X-DTP-Job-Id": JOB_ID,
        "Content-Type": f"multipart/related; boundary={BOUNDARY}",
    }
    body = (FIXTURES / "photo-request.body.bin").read_bytes()
    response = httpx.post(dest.url + "/media", content=body, headers=headers)
    assert response.status_code == 201, response.text
    request = dest.api.received[-1]
    assert request.header("content-length") == "738"
    assert request.part_headers == [
        {"Content-Type": "application/json", "Content-Length": "497"},
        {"Content-Type": "image/jpeg", "Content-Length": "12"},
    ]
    assert request.envelope == compact_fixture("photo.json") and request.file_size == 12
    stored = dest.root / "alice" / "media" / "album123" / "bar.jpeg"
    assert stored.read_bytes() == b"0123456789ab"
    sidecar = json.loads((stored.parent / "bar.jpeg.dtp.json").read_text())
    assert sidecar["contentType"] == "image/jpeg" and sidecar["size"] == 12
    assert sidecar["headers"]["x-dtp-job-id"] == JOB_ID and "authorization" not in sidecar["headers"]


def _post(dest, body: bytes, boundary: str = "b0undary"):
    headers = {"Authorization": "Bearer good-token", "Content-Type": f"multipart/related; boundary={boundary}"}
    return httpx.post(dest.url + "/blobs", content=body, headers=headers)


def _file_envelope(name: str) -> bytes:
    document = json.loads(compact_fixture("file.json"))
    document["payload"]["name"] = name
    return json.dumps(document).encode()


def test_parts_without_content_length_and_a_preamble_are_accepted(dest):
    body = (b"preamble\r\n--b0undary\r\nContent-Type: application/json\r\n\r\n" + _file_envelope("loose.txt")
            + b"\r\n--b0undary\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b0undary--\r\nepilogue")  # fmt: skip
    assert _post(dest, body).status_code == 201
    assert (dest.root / "alice" / "blobs" / "root" / "loose.txt").read_bytes() == b"hello"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"--b0undary\r\nContent-Type: application/json\r\n\r\n{ENV}\r\n--b0undary--\r\n", "part 2 (the file bytes) is missing"),
        (b"--b0undary\r\nContent-Type: application/json\r\n\r\n{ENV}\r\n--b0undary\r\nContent-Type: a/b\r\n\r\nx"
         b"\r\n--b0undary\r\nContent-Type: a/b\r\n\r\ny\r\n--b0undary--\r\n", "exactly two parts"),
        (b"--b0undary\r\nContent-Type: application/json\r\n\r\n{ENV}\r\n--b0undary\r\nContent-Type: a/b\r\n"
         b"Content-Length: 9\r\n\r\nxyz\r\n--b0undary--\r\n", "part 2 Content-Length says 9 but the part has 3 bytes"),
        (b"--b0undary\r\nContent-Type: application/json\r\n\r\n{ENV}\r\n--b0undary\r\nContent-Type: a/b\r\n\r\nxyz", "ended inside part 2"),
        (b"--b0undary\r\nContent-Type: text/plain\r\n\r\n{ENV}\r\n--b0undary--\r\n", "part 1 must be application/json"),
    ],
)
def test_bad_framing_is_a_400_naming_the_problem(dest, body, message):
    response = _post(dest, body.replace(b"{ENV}", _file_envelope("bad.txt")))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request" and message in response.json()["error_description"]
    assert not (dest.root / "alice" / "blobs" / "root" / "bad.txt").exists()
    assert list((dest.root / "alice" / ".incoming").iterdir()) == []  # partial upload removed
