"""TikTok webhooks: signature verification, parsing, dedupe, and the ferry receiver app."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from connectors.tiktok.webhooks import (
    SIGNATURE_HEADER,
    DeliveryDeduper,
    WebhookRejected,
    parse_event,
    signature_header,
    verify_signature,
)
from ferry.cli.webhooks import wakeup_recorder
from ferry.servers.tiktok_webhooks import WEBHOOK_PATH, create_webhook_app
from tests.fakes.server import ThreadedServer
from tests.fakes.tiktok import FakeTikTok

SECRET = "fake-client-secret"
NOW = 1_760_000_000


def ready_body(request_id: int = 42, client_key: str = "fake-client-key") -> bytes:
    envelope = {
        "client_key": client_key,
        "event": "portability.download.ready",
        "create_time": NOW,
        "content": json.dumps({"request_id": request_id}),
    }
    return json.dumps(envelope).encode()


def test_valid_signature():
    body = ready_body()
    assert verify_signature(signature_header(body, SECRET, NOW), body, SECRET, now=NOW + 10) == NOW


@pytest.mark.parametrize(
    ("header", "match"),
    [
        (None, "missing"),
        ("s=abc", "no valid t="),
        (f"t={NOW},s=" + "0" * 64, "does not match"),
        (signature_header(b"other body", SECRET, NOW), "does not match"),
        (signature_header(ready_body(), "wrong-secret", NOW), "does not match"),
        (signature_header(ready_body(), SECRET, NOW - 3600), "3600 s off"),
    ],
)
def test_rejected_signatures(header, match):
    with pytest.raises(WebhookRejected, match=match) as info:
        verify_signature(header, ready_body(), SECRET, now=NOW)
    assert SECRET not in str(info.value)


def test_parse_event_reads_the_json_string_content():
    event = parse_event(ready_body(123))
    assert event.event == "portability.download.ready" and event.request_id == 123
    assert event.dedupe_key == ("portability.download.ready", 123)
    assert event.envelope.user_openid is None  # the official example leaves it out
    with pytest.raises(WebhookRejected, match="no request_id"):
        parse_event(json.dumps({"event": "portability.download.ready", "content": "{}"}).encode())
    with pytest.raises(WebhookRejected, match="not a TikTok event envelope"):
        parse_event(b"[1, 2")


def test_deduper_forgets_the_oldest():
    seen = DeliveryDeduper(capacity=2)
    assert seen.first_time(("e", 1)) and not seen.first_time(("e", 1))
    assert seen.first_time(("e", 2)) and seen.first_time(("e", 3))
    assert seen.first_time(("e", 1))  # evicted


class Calls:
    def __init__(self) -> None:
        self.ready: list[tuple[str, dict]] = []
        self.removed: list[tuple[str, dict]] = []
        self.event = threading.Event()

    def on_ready(self, key: str, payload: dict) -> None:
        self.ready.append((key, payload))
        self.event.set()

    def on_removed(self, key: str, payload: dict) -> None:
        self.removed.append((key, payload))
        self.event.set()


@pytest.fixture
def receiver():
    calls = Calls()
    app = create_webhook_app(
        calls.on_ready,
        {"fake-client-key": SECRET},
        on_authorization_removed=calls.on_removed,
        clock=lambda: NOW,
    )
    # A real server: hooks run after the response, as in production (``calls.event`` says when).
    with ThreadedServer(app) as server, httpx.Client(base_url=server.url) as client:
        yield client, calls


def post(client, body: bytes, header: str | None):
    headers = {SIGNATURE_HEADER: header} if header else {}
    return client.post(WEBHOOK_PATH, content=body, headers=headers)


def test_receiver_accepts_once_and_dedupes(receiver):
    client, calls = receiver
    body = ready_body(77)
    header = signature_header(body, SECRET, NOW)
    assert post(client, body, header).json() == {"status": "accepted"}
    assert calls.event.wait(10)
    assert post(client, body, header).json() == {"status": "duplicate"}  # at-least-once redelivery
    assert post(client, body, signature_header(body, SECRET, NOW + 5)).status_code == 200
    assert [key for key, _ in calls.ready] == ["77"]
    assert calls.ready[0][1]["request_id"] == 77


@pytest.mark.parametrize(
    ("body", "header_of", "status"),
    [
        (ready_body(), lambda b: signature_header(b, "wrong", NOW), 401),
        (ready_body(), lambda b: signature_header(b, SECRET, NOW - 600), 401),
        (ready_body(), lambda b: None, 401),
        (ready_body(client_key="someone-else"), lambda b: signature_header(b, SECRET, NOW), 401),
        (b"not json", lambda b: signature_header(b, SECRET, NOW), 400),
    ],
)
def test_receiver_rejects(receiver, body, header_of, status):
    client, calls = receiver
    assert post(client, body, header_of(body)).status_code == status
    assert calls.ready == []


def test_receiver_bad_signature_does_not_poison_dedupe(receiver):
    client, calls = receiver
    body = ready_body(5)
    assert post(client, body, signature_header(body, "forged", NOW)).status_code == 401
    assert post(client, body, signature_header(body, SECRET, NOW)).json() == {"status": "accepted"}
    assert calls.event.wait(10)
    assert len(calls.ready) == 1


def test_receiver_authorization_removed(receiver):
    client, calls = receiver
    body = json.dumps({
        "client_key": "fake-client-key",
        "event": "authorization.removed",
        "create_time": NOW,
        "user_openid": "open-1",
        "content": json.dumps({"reason": 1}),
    }).encode()
    assert post(client, body, signature_header(body, SECRET, NOW)).json() == {"status": "accepted"}
    assert calls.event.wait(10)
    assert calls.removed == [("open-1", {
        "event": "authorization.removed",
        "client_key": "fake-client-key",
        "user_openid": "open-1",
        "create_time": NOW,
        "reason": 1,
    })]


def test_fake_tiktok_delivers_to_the_real_receiver(tmp_path):
    """End to end over HTTP: the fake signs and posts, the receiver wakes the recorder hook."""
    calls = Calls()
    record = wakeup_recorder(tmp_path / "wakeups.jsonl")

    def on_ready(key: str, payload: dict) -> None:
        record(key, payload)
        calls.on_ready(key, payload)

    app = create_webhook_app(on_ready, {"fake-client-key": SECRET})
    with ThreadedServer(app) as server, FakeTikTok(webhook_url=server.url + WEBHOOK_PATH) as fake:
        access, _ = fake.issue_token(("portability.all.single",))
        added = httpx.post(
            f"{fake.base_url}/v2/user/data/add/",
            json={"data_format": "json", "category_selection_list": ["all_data"]},
            headers={"Authorization": f"Bearer {access}"},
        ).json()
        request_id = added["data"]["request_id"]
        fake.advance(request_id, "downloading")  # delivers the signed webhook
        assert calls.event.wait(10)
        assert fake.deliver_webhook(request_id, times=2) == [200, 200]  # duplicates: still 200
        assert fake.deliver_webhook(request_id, secret="forged") == [401]
    assert fake.webhook_results == [200, 200, 200, 401]
    assert [key for key, _ in calls.ready] == [str(request_id)]
    lines = (tmp_path / "wakeups.jsonl").read_text().splitlines()
    assert [json.loads(line)["wake_key"] for line in lines] == [str(request_id)]


def test_cli_has_serve_webhooks():
    from typer.testing import CliRunner

    from ferry.cli import app

    result = CliRunner().invoke(app, ["serve-webhooks", "--help"])
    assert result.exit_code == 0 and "--client-secret" in result.output
