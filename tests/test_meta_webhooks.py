"""Meta Webhooks wire format (pure): handshake, X-Hub-Signature-256, entry[].changes[] with expiry changes."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from connectors.meta.webhooks import (
    MetaWebhookRejected,
    handshake_challenge,
    parse_expiry_changes,
    parse_time,
    signature_header,
    verify_signature,
)

APP_SECRET = "meta-app-secret"


def envelope(*changes, entries: int = 1) -> bytes:
    return json.dumps({"object": "user", "entry": [{"id": f"obj-{n}", "time": 1_714_000_000, "changes": list(changes)} for n in range(entries)]}).encode()


def expiry(user_id="4444444444", when="2024-05-04T10:00:00Z", field="migration_expire_time"):
    return {"field": field, "value": {"user_id": user_id, field: when}}


def test_handshake_echoes_the_challenge_only_for_our_token():
    params = {"hub.mode": "subscribe", "hub.verify_token": "vt", "hub.challenge": "1158201444"}
    assert handshake_challenge(params, "vt") == "1158201444"
    assert handshake_challenge({**params, "hub.verify_token": "other"}, "vt") is None
    assert handshake_challenge({**params, "hub.mode": "unsubscribe"}, "vt") is None
    assert handshake_challenge(params, None) is None and handshake_challenge(params, "") is None


def test_signature_over_raw_bytes():
    body = envelope(expiry())
    verify_signature(signature_header(body, APP_SECRET), body, APP_SECRET)
    verify_signature(signature_header(body, APP_SECRET).upper().replace("SHA256=", "sha256="), body, APP_SECRET)
    reformatted = json.dumps(json.loads(body), indent=2).encode()  # same JSON, other bytes
    for header, body_sent, match in [
        (None, body, "missing"),
        ("sha1=abc", body, "not sha256"),
        (signature_header(body, "other-secret"), body, "does not match"),
        (signature_header(body, APP_SECRET), reformatted, "does not match"),
    ]:
        with pytest.raises(MetaWebhookRejected, match=match) as info:
            verify_signature(header, body_sent, APP_SECRET)
        assert APP_SECRET not in str(info.value)


def test_one_and_many_changes_iso_and_unix_seconds():
    (one,), skipped = parse_expiry_changes(envelope(expiry()))
    assert one.user_id == "4444444444" and one.expires_at == datetime(2024, 5, 4, 10, tzinfo=timezone.utc) and skipped == []
    assert one.where == "entry[0].changes[0]" and one.entry_id == "obj-0"
    many, skipped = parse_expiry_changes(envelope(expiry("1"), expiry("2", 1_714_816_800), expiry("3", "1714816800", "user_access_expire_time"), entries=2))
    assert [c.user_id for c in many] == ["1", "2", "3"] * 2 and skipped == []
    assert many[1].expires_at == many[2].expires_at == datetime(2024, 5, 4, 10, tzinfo=timezone.utc)


def test_bad_changes_are_skipped_by_name_and_the_good_ones_kept():
    body = envelope(
        expiry("ok"),
        {"field": "feed", "value": {"item": "post"}},
        expiry(None),
        expiry("late", "next tuesday"),
        expiry("huge", 10**40),
        "not an object",
    )
    changes, skipped = parse_expiry_changes(body)
    assert [c.user_id for c in changes] == ["ok"]
    assert skipped == [
        "entry[0].changes[1]: field 'feed' is not an access-expiry change",
        "entry[0].changes[2].value.user_id: expected the app-scoped user id (a string)",
        "entry[0].changes[3].value.migration_expire_time: 'next tuesday' is neither ISO 8601 nor Unix seconds",
        "entry[0].changes[4].value.migration_expire_time: not a plausible Unix time (seconds between 1970 and 3000 expected)",
        "entry[0].changes[5]: no 'value' object",
    ]


@pytest.mark.parametrize("body", [b"", b"[1, 2", b"[" * 100_000 + b"]" * 100_000, b"1" * 5001, b'{"entry": "x"}', b"[]", b"\xff\xfe"])
def test_not_an_envelope(body):
    with pytest.raises(MetaWebhookRejected):
        parse_expiry_changes(body)


def test_parse_time():
    assert parse_time("2024-05-04T12:00:00+02:00", "t") == datetime(2024, 5, 4, 10, tzinfo=timezone.utc)
    assert parse_time("2024-05-04T10:00:00", "t") == datetime(2024, 5, 4, 10, tzinfo=timezone.utc)
    assert parse_time(1714816800.5, "t").microsecond == 500000
    with pytest.raises(ValueError, match="t: expected a time, got a boolean"):
        parse_time(True, "t")
    with pytest.raises(ValueError, match="got NoneType"):
        parse_time(None, "t")
