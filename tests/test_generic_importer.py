"""The generic connector against the reference destination on 127.0.0.1: headers, order, how answers are classified.

The connector never waits to retry (the engine does, tests/test_engine_steps.py and
tests/test_generic_engine.py); here each answer must become the right outcome or error.
"""

from __future__ import annotations

import io
import socket
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from connectors import registry
from connectors.auth import StaticTokenSource
from connectors.base import ImportContext, Outcome
from connectors.errors import ConfigError, DestinationFull, ReauthRequired, RetryableError
from connectors.generic.client import GenericClient
from connectors.http import HttpSettings
from connectors.generic.importer import GenericImporter
from connectors.generic.wire import envelope_bytes
from connectors.models import CalendarEvent, File, Folder, MediaAlbum, Photo, Video
from connectors.registry import ConnectorContext
from tests.generic_support import JOB_ID, NeverValidTokens, PatternStream, RecordingClock, RotatingTokens, start_destination

WHEN = datetime(2024, 11, 27, 13, 16, 32, tzinfo=UTC)


@pytest.fixture(scope="module")
def destination(tmp_path_factory):
    with start_destination(tmp_path_factory.mktemp("generic-dest")) as running:
        yield running


@pytest.fixture
def dest(destination):
    destination.reset()
    return destination


@pytest.fixture
def uid():
    return uuid.uuid4().hex[:8]


def make_importer(dest, tokens=None, *, clock=None, concurrency=1, **settings):
    """One request at a time unless asked: these tests check how each answer is classified."""
    client = GenericClient(dest.url, tokens or StaticTokenSource("good-token"), settings=HttpSettings(**settings), clock=clock or RecordingClock())
    return GenericImporter(client, concurrency=concurrency)


def ctx(data: dict[str, bytes] | None = None, **extra) -> ImportContext:
    data = data or {}
    return ImportContext(open_bytes=lambda item: io.BytesIO(data.get(item.id, b"0123456789ab")), job_id=JOB_ID, **extra)


def photo(uid, n, *, album=None, size=None):
    return Photo(id=f"{uid}-p{n}", album_id=album, title=f"{uid}-{n}.jpg", ref="r", file_name=f"{uid}-{n}.jpg",
                 mime_type="image/jpeg", uploaded_time=WHEN, size=size)  # fmt: skip


def test_page_goes_parents_first_with_dtp_headers(dest, uid):
    album = MediaAlbum(id=f"{uid}-a", name="Trip")
    items = [photo(uid, 1, album=album.id), Video(id=f"{uid}-v", album_id=album.id, ref="r", file_name="v.mp4", uploaded_time=WHEN),
             album, File(id=f"{uid}-f", folder=f"/{uid}/sub", name="x.txt", ref="r"), Folder(id=f"{uid}-s", path=f"/{uid}/sub"),
             Folder(id=f"{uid}-r", path=f"/{uid}")]  # fmt: skip
    with make_importer(dest) as importer:
        outcomes = list(importer.import_page(items, ctx(export_service="Google", recurring_id="rec-1")))
    assert [o.status for o in outcomes] == [Outcome.IMPORTED] * 6
    assert [o.item_id for o in outcomes] == [f"{uid}-{k}" for k in ("a", "v", "p1", "r", "s", "f")]
    assert outcomes[0].destination_id == f"media/album/{uid}-a" and outcomes[2].bytes == 12
    received = dest.api.received
    assert [r.payload_type for r in received] == ["Album", "Video", "Photo", "Folder", "Folder", "File"]
    for request in received:
        assert request.header("x-dtp-export-service") == "Google"
        assert request.header("x-dtp-job-id") == JOB_ID
        assert request.header("x-dtp-recurring-job-id") == "rec-1"
        assert request.header("authorization") == "Bearer <redacted>"
        assert request.header("idempotency-key") is None  # extension off by default
        assert request.status == 201
    assert received[0].header("content-type") == "application/json"
    assert received[0].envelope == envelope_bytes(album)
    assert received[2].part_headers == [
        {"Content-Type": "application/json", "Content-Length": str(len(envelope_bytes(items[0])))},
        {"Content-Type": "image/jpeg", "Content-Length": "12"},
    ]
    assert received[2].envelope == envelope_bytes(items[0])
    assert (dest.root / "alice" / "media" / f"{uid}-a" / f"{uid}-1.jpg").read_bytes() == b"0123456789ab"
    assert (dest.root / "alice" / "blobs" / uid / "sub" / "x.txt").exists()


def test_no_recurring_header_and_idempotency_key_when_enabled(dest, uid):
    client = GenericClient(dest.url, StaticTokenSource("good-token"), idempotency_keys=True)
    with GenericImporter(client, export_service="Meta") as importer:
        list(importer.import_page([MediaAlbum(id=f"{uid}-a")], ctx()))
    request = dest.api.received[0]
    assert request.header("x-dtp-recurring-job-id") is None
    assert request.header("x-dtp-export-service") == "Meta"
    assert request.header("idempotency-key") == request.header("x-ferry-item-key") and len(request.header("x-ferry-item-key")) == 32


def test_repeat_is_answered_2xx_and_not_duplicated(dest, uid):
    items = [MediaAlbum(id=f"{uid}-a"), photo(uid, 1, album=f"{uid}-a"), CalendarEvent(id=f"{uid}-e", title="x", start=WHEN)]
    with make_importer(dest) as importer:
        first = list(importer.import_page(items, ctx()))
        second = list(importer.import_page(items, ctx()))
    assert [o.status for o in first] == [Outcome.IMPORTED] * 3
    assert [o.status for o in second] == [Outcome.SKIPPED] * 3  # "already have it" is not an import
    assert [o.destination_id for o in first] == [o.destination_id for o in second]
    assert [r.status for r in dest.api.received] == [201, 201, 201, 200, 200, 200] and len(dest.api.repeats) == 3
    assert len(list((dest.root / "alice" / "media" / f"{uid}-a").iterdir())) == 3  # album.json, photo, sidecar


def test_401_invalid_token_refreshes_once_then_retries(dest, uid):
    tokens = RotatingTokens(dest.tokens)
    dest.tokens.expire_access_tokens()
    with make_importer(dest, tokens) as importer:
        outcomes = list(importer.import_page([MediaAlbum(id=f"{uid}-a"), photo(uid, 1)], ctx()))
    assert [o.status for o in outcomes] == [Outcome.IMPORTED] * 2
    assert tokens.refreshes == 1
    assert [r.status for r in dest.api.received] == [401, 201, 201]
    assert dest.api.received[0].error == "invalid_token"


def test_401_after_refresh_needs_reauth(dest, uid):
    tokens = NeverValidTokens()
    with make_importer(dest, tokens) as importer, pytest.raises(ReauthRequired, match="after a refresh") as caught:
        list(importer.import_page([MediaAlbum(id=f"{uid}-a")], ctx()))
    assert tokens.refreshes == 1 and "bogus" not in str(caught.value)
    assert [r.status for r in dest.api.received] == [401, 401]


def test_413_pauses_and_resume_does_not_resend_done_items(dest, uid):
    dest.api.knobs.quota_bytes = 25_000
    data = {f"{uid}-p{n}": bytes([n]) * 10_000 for n in range(3)}
    items = [photo(uid, n) for n in range(3)]
    done = []
    with make_importer(dest) as importer:
        with pytest.raises(DestinationFull, match="destination_full"):
            for outcome in importer.import_page(items, ctx(data)):
                done.append(outcome)
        assert [o.item_id for o in done] == [f"{uid}-p0", f"{uid}-p1"]
        dest.api.knobs.quota_bytes = None  # the user freed space; the framework resumes with what is left
        left = [item for item in items if item.id not in {o.item_id for o in done}]
        resumed = list(importer.import_page(left, ctx(data)))
    assert [o.status for o in resumed] == [Outcome.IMPORTED]
    sent = [r.envelope for r in dest.api.received]
    assert [sent.count(envelope_bytes(item)) for item in items] == [1, 1, 2]  # p2: refused once, then sent
    assert [r.status for r in dest.api.received] == [201, 201, 413, 201]


@pytest.mark.parametrize("style", ["seconds", "http-date"])
def test_429_is_a_retryable_call_error_carrying_retry_after_and_holding_the_pacer(dest, uid, style):
    dest.api.knobs.rate_limit_next = 1
    dest.api.knobs.retry_after = "3" if style == "seconds" else format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    clock = RecordingClock()
    with make_importer(dest, clock=clock) as importer:
        with pytest.raises(RetryableError, match="429") as caught:
            list(importer.import_page([photo(uid, 1)], ctx()))
        low, high = (2.5, 3.0) if style == "seconds" else (25.0, 30.0)
        assert low <= caught.value.retry_after <= high
        assert clock.delays == []  # the connector itself never waits out a retry...
        outcomes = list(importer.import_page([photo(uid, 2)], ctx()))
    assert outcomes[0].status is Outcome.IMPORTED
    assert len(clock.delays) == 1 and low - 0.5 <= clock.delays[0] <= high  # ...but its pacer holds the next request
    assert [r.status for r in dest.api.received] == [429, 201]


def test_5xx_and_connection_errors_fail_the_item_retryably_without_waiting(dest, uid):

    dest.api.knobs.server_errors_next = 1
    clock = RecordingClock()
    with make_importer(dest, clock=clock) as importer:
        outcome = next(importer.import_page([photo(uid, 1)], ctx()))
    assert outcome.status is Outcome.FAILED and outcome.retryable and clock.delays == []
    assert "Error (503) server_error - Injected server error" in outcome.error
    with socket.socket() as sock:  # a port that is surely closed: bound, never listening
        sock.bind(("127.0.0.1", 0))
        client = GenericClient(f"http://127.0.0.1:{sock.getsockname()[1]}/dtp", StaticTokenSource("t"), clock=clock)
        with GenericImporter(client, concurrency=1) as importer:
            outcome = next(importer.import_page([MediaAlbum(id=f"{uid}-a")], ctx()))
    assert outcome.retryable and "ConnectError" in outcome.error and clock.delays == []


def test_other_4xx_shows_error_description(dest, uid):
    with make_importer(dest) as importer:
        outcome = next(importer.import_page([Folder(id=f"{uid}-f", path="relative/path")], ctx()))
    assert outcome.status is Outcome.FAILED and not outcome.retryable
    assert "Error (400) invalid_request - payload.path: must be an absolute" in outcome.error
    assert outcome.error.startswith("relative/path: ")  # the item's name comes first


def test_malformed_answer_shows_status_and_snippet(dest, uid):
    dest.api.knobs.malformed_next = 1
    with make_importer(dest) as importer:
        outcome = next(importer.import_page([MediaAlbum(id=f"{uid}-a")], ctx()))
    assert outcome.status is Outcome.FAILED and not outcome.retryable
    assert "Unexpected response (400) '<html><body><h1>Oops</h1>not a JSON answer" in outcome.error


def test_size_mismatch_fails_the_item(dest, uid):
    item = photo(uid, 1, size=20)  # announces 20 bytes, the stream has 12
    with make_importer(dest) as importer:
        outcome = next(importer.import_page([item], ctx()))
    assert outcome.status is Outcome.FAILED and "ended after 12 of the announced 20 bytes" in outcome.error
    # the server notices the aborted upload on its own schedule: wait for it, so that its
    # record cannot land in the next test's list
    deadline = time.monotonic() + 10
    while not any(r.error == "client_disconnected" for r in dest.api.received) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [r.error for r in dest.api.received] == ["client_disconnected"]


@pytest.mark.parametrize("known_size", [True, False])
def test_large_upload_streams_with_flat_memory(dest, uid, known_size):
    size = 50 * 1024 * 1024 if known_size else 8 * 1024 * 1024  # unknown sizes are spooled to disk first
    item = File(id=f"{uid}-big", folder=f"/{uid}", name="big.bin", ref="r", size=size if known_size else None)
    context = ImportContext(open_bytes=lambda _: io.BufferedReader(PatternStream(size)), job_id=JOB_ID)
    with make_importer(dest) as importer:
        tracemalloc.start()
        try:
            outcome = next(importer.import_page([item], context))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert outcome.status is Outcome.IMPORTED and outcome.bytes == size
    assert peak < 4 * 1024 * 1024, f"peak traced memory {peak} bytes for a {size}-byte upload"
    stored = dest.root / "alice" / "blobs" / uid / "big.bin"
    assert stored.stat().st_size == size
    assert [r.file_size for r in dest.api.received if r.payload_type == "File"] == [size]


def test_registry_factory_checks_location_options_and_auth(dest):
    connector = registry.get("generic")
    assert connector.make_importer is not None and connector.needs_credentials
    importer = connector.make_importer(ConnectorContext(location=dest.url, options={"export_service": "X", "timeout": "5"}, auth=StaticTokenSource("good-token")))
    assert importer.client.settings.timeout == 5 and importer.export_service == "X"
    importer.close()
    with pytest.raises(ConfigError, match="not an http"):
        connector.make_importer(ConnectorContext(location="ftp://x", auth=StaticTokenSource("t")))
    with pytest.raises(ConfigError, match="needs a credential"):
        connector.make_importer(ConnectorContext(location=dest.url))
    with pytest.raises(ConfigError, match="timeout"):
        connector.make_importer(ConnectorContext(location=dest.url, options={"timeout": "many"}, auth=StaticTokenSource("t")))
    with pytest.raises(ConfigError, match="idempotency_key"):
        connector.make_importer(ConnectorContext(location=dest.url, options={"idempotency_key": "maybe"}, auth=StaticTokenSource("t")))


# -- several requests at once (issue 11 part 5) ---------------------------------------------------


def test_requests_go_out_several_at_once_in_waves_that_keep_parents_first(dest, uid):
    dest.api.knobs.gather = 3  # the destination holds each request until three are in flight
    albums = [MediaAlbum(id=f"{uid}-a{n}", name=f"A{n}") for n in range(3)]
    photos = [photo(uid, n, album=albums[n % 3].id) for n in range(9)]
    roots = [Folder(id=f"{uid}-r{n}", path=f"/{uid}-{n}") for n in range(3)]
    folders = [Folder(id=f"{uid}-d{n}", path=f"/{uid}-{n}/d") for n in range(3)]
    files = [File(id=f"{uid}-f{n}", folder=f"/{uid}-{n % 3}/d", name=f"{n}.txt", ref="r") for n in range(6)]
    page = files + photos + folders + roots + albums  # children first on purpose: the importer orders them
    with make_importer(dest, concurrency=3) as importer:
        outcomes = list(importer.import_page(page, ctx()))
    expected = [i.id for i in albums + photos + roots + folders + files]
    assert [o.item_id for o in outcomes] == expected  # page order, parents first
    assert all(o.status is Outcome.IMPORTED for o in outcomes)
    assert dest.api.most_in_flight == 3
    by_type: dict[str, list] = {}
    for request in dest.api.received:
        by_type.setdefault(request.payload_type or "", []).append(request)
    by_type["Root"] = [r for r in by_type["Folder"] if r.stored_as.count("/") == 2]
    by_type["Folder"] = [r for r in by_type["Folder"] if r not in by_type["Root"]]
    for parents, children in (("Album", "Photo"), ("Root", "Folder"), ("Folder", "File")):
        last_answer = max(r.answered for r in by_type[parents])
        first_child = min(r.arrived for r in by_type[children])
        assert last_answer < first_child, f"a {children} was sent before every {parents} was answered"


def test_a_429_in_a_wave_stops_the_call_after_the_requests_in_flight(dest, uid):
    dest.api.knobs.rate_limit_next = 1
    items = [photo(uid, n) for n in range(8)]
    with make_importer(dest, concurrency=4) as importer:
        done = []
        with pytest.raises(RetryableError, match="429"):
            for outcome in importer.import_page(items, ctx()):
                done.append(outcome)
        answered = {o.item_id for o in done}
        assert 0 < len(answered) < 8 and all(o.status is Outcome.IMPORTED for o in done)
        left = [item for item in items if item.id not in answered]  # what the engine sends again
        again = list(importer.import_page(left, ctx()))
    assert {o.item_id for o in again} | answered == {item.id for item in items}
    assert [r for r in dest.api.received if r.repeat] == []  # nothing was delivered twice
