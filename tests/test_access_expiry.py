"""Access that ends, as Meta announces it: notices, the provider's answer, reminders, the end, reconnect.

Against the fake Meta (tests/fakes/meta.py: OAuth, ``/me``, ``user_access_expire_time``, page
posts, signed Meta Webhooks) and ferry's own notice receiver on 127.0.0.1. Time is injected
(the maintenance flow's ``now`` and the fake's clock); nothing sleeps. The end-to-end test
follows one recurring transfer through notice -> reminder event -> the end -> ``ferry reconnect``
-> the next round, which sends only what is new.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from connectors import registry
from ferry.servers.threaded import ThreadedServer
from flows.credentials import CredentialStore
from flows.settings import load_settings
from flows.store import CredentialStatus, JobState, utcnow
from tests.fakes.meta import FakeMeta, graph_connector
from tests.prefect_stack import FERNET_KEY

ROOT = Path(__file__).resolve().parents[1]
VERIFY_TOKEN = "verify-me-7"


@pytest.fixture
def meta(tmp_path, monkeypatch):
    monkeypatch.setenv("FERRY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FERRY_SECRET_KEY", FERNET_KEY)
    with FakeMeta() as fake:
        registry.register(graph_connector(fake))
        try:
            yield fake
        finally:
            registry.unregister("meta-graph")


def _follow(url: str) -> None:
    assert httpx.get(url, follow_redirects=True, timeout=30).status_code == 200


def _login(fake: FakeMeta):
    from ferry.cli.auth import run_login

    return run_login(load_settings(), "meta-graph", client_id=fake.app_id, client_secret=fake.app_secret, open_url=_follow, label="shop")


def _receiver(engine, fake: FakeMeta, clock=None):
    from ferry.servers.expiry_notices import NOTICE_PATH, ExpirySecrets, create_expiry_app

    app = create_expiry_app(engine, ExpirySecrets(notice_secret="n0tice", app_secret=fake.app_secret, verify_token=VERIFY_TOKEN), clock=clock)
    return ThreadedServer(app), NOTICE_PATH


def _expiring_events(credential_id: str) -> list[dict]:
    from prefect.settings import PREFECT_API_URL

    body = {"filter": {"event": {"name": ["ferry.credential.expiring"]}, "resource": {"id": [f"ferry.credential.{credential_id}"]}, "occurred": {"since": "2000-01-01T00:00:00Z"}}, "limit": 50}
    answer = httpx.post(f"{PREFECT_API_URL.value()}/events/filter", json=body, timeout=30)
    answer.raise_for_status()
    return answer.json()["events"]


def _wait_for_events(credential_id: str, n: int) -> list[dict]:
    from prefect.events.worker import EventsWorker

    EventsWorker.drain_all(timeout=30)
    deadline = time.monotonic() + 180
    while len(found := _expiring_events(credential_id)) < n:
        assert time.monotonic() < deadline, f"{len(found)} of {n} reminder events reached Prefect"
        time.sleep(0.5)
    return found


def test_login_records_the_provider_user_id(meta):
    info = _login(meta)
    assert info.account == "4444444444"  # from /me, as the connector declares
    assert info.config["access_expiry_url"].endswith("/v19.0/me/accounts?fields=id,user_access_expire_time")


def test_meta_webhook_handshake_signature_replay_size_and_unknown_users(meta):
    store = CredentialStore.from_settings(load_settings())
    info = _login(meta)
    server, path = _receiver(store.engine, meta)
    ends = (utcnow() + timedelta(days=20)).replace(microsecond=0)
    with server:
        url = server.url + path
        good = meta.subscribe(url, VERIFY_TOKEN)
        assert good.status_code == 200 and good.text == "1158201444"
        assert meta.subscribe(url, "not-the-token").status_code == 403

        body = meta.expiry_body((info.account, ends.strftime("%Y-%m-%dT%H:%M:%SZ")), ("9999999999", int(ends.timestamp())))
        forged = meta.notify(url, body, secret="someone-else")
        assert forged.status_code == 401 and store.get(info.id).grant_expires_at is None  # never parsed, nothing recorded
        first = meta.notify(url, body)
        assert first.status_code == 200, first.text
        assert first.json()["updated"] == [info.id] and first.json()["unknown_users"] == ["9999999999"]  # unknown: 200, logged
        replay = meta.notify(url, body)
        assert replay.status_code == 200 and replay.json()["updated"] == [] and replay.json()["unchanged"] == [info.id]
        oversized = meta.notify(url, meta.expiry_body((info.account, "2030-01-01T00:00:00Z"), pad_to=2 * 1024 * 1024))
        assert oversized.status_code == 413
        not_envelope = meta.notify(url, b'{"entry": "nope"}')
        assert not_envelope.status_code == 400
        unsigned = httpx.post(url, content=body, timeout=30)
        assert unsigned.status_code == 401
        # the signature is checked on the raw bytes before anything parses them: a forged body
        # that is not even JSON is 401, the same bytes correctly signed are parsed (and refused 400)
        not_json = b"{" * 50_000
        assert meta.notify(url, not_json, secret="someone-else").status_code == 401
        assert meta.notify(url, not_json).status_code == 400
    stored = store.get(info.id)
    assert stored.grant_expires_at == ends and stored.grant_source == "notice"


def test_a_transfer_after_the_end_is_needs_reauth_with_the_time_not_a_403(meta, tmp_path):
    """No maintenance run in between: the first token use after the end stops the transfer."""
    from flows.context import open_context
    from flows.engine import run_job
    from flows.expiry import record_notice
    from flows.requests import create_job

    ctx = open_context()
    info = _login(meta)
    job = create_job(ctx, "meta-graph:", f"folder:{tmp_path / 'dst'}", ["posts"], source_credential_id=info.id)
    ended = (utcnow() - timedelta(minutes=5)).replace(microsecond=0)
    meta.access_ends[info.account] = ended
    assert record_notice(ctx.credentials.rows, ended, account=info.account).updated == (info.id,)
    summary = run_job(ctx, job.id)
    assert summary.state == JobState.NEEDS_REAUTH
    assert f"access ended at {ended:%Y-%m-%d %H:%M} UTC" in summary.reason and f"ferry reconnect {info.id[:8]}" in summary.reason
    assert "403" not in summary.reason
    assert ctx.credentials.get(info.id).status == CredentialStatus.NEEDS_REAUTH


def test_notice_reminder_end_reconnect_and_the_recurring_transfer_resumes(meta, tmp_path, prefect_api, no_flow_heartbeat):
    from flows.context import open_context
    from flows.maintenance import maintain_credentials
    from flows.recurring import create_recurring, recurring_transfer

    ctx = open_context()
    store = ctx.credentials
    info = _login(meta)
    dst = tmp_path / "dst"
    rec = create_recurring("shop-posts", "meta-graph:", f"folder:{dst}", ["posts"], schedule="interval: 86400", source_credential_id=info.id, ctx=ctx)
    first = recurring_transfer(rec.id)
    assert first.state == "COMPLETE" and first.imported == 5

    # 1. Meta announces the end of the user's access: the 30-day reminder goes out at once
    start = utcnow().replace(microsecond=0)
    ends = start + timedelta(days=20)
    meta.access_ends[info.account] = ends
    server, path = _receiver(store.engine, meta, clock=lambda: start)
    with server:
        assert meta.subscribe(server.url + path, VERIFY_TOKEN).status_code == 200
        assert meta.notify(server.url + path, meta.expiry_body((info.account, ends.isoformat()))).json()["updated"] == [info.id]
        assert meta.notify(server.url + path, meta.expiry_body((info.account, ends.isoformat()))).json()["unchanged"] == [info.id]
    [event] = _wait_for_events(info.id, 1)
    assert event["payload"]["days_before"] == 30 and event["payload"]["expires_at"] == ends.isoformat()
    assert event["payload"]["reconnect"] == f"ferry reconnect {info.id[:8]}"
    listed = subprocess.run([sys.executable, "-m", "ferry", "reconnect", "--expiring-within", "30d", "--list-only", "--json"],
                            cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=240)
    assert listed.returncode == 0 and info.id in listed.stdout, listed.stderr

    # 2. daily maintenance, 10 days on: nothing new to remind (the next threshold is 7 days)
    later = start + timedelta(days=10)
    meta.now = later
    report = {r.credential: r for r in maintain_credentials(store, now=later)}
    assert report[info.id].action == "expiring" and "reminded" not in report[info.id].why
    # 3. five days before, Meta answers user_access_expire_time (an hour earlier than the notice):
    #    recorded, and the 7-day reminder goes out, once
    provider_ends = ends - timedelta(hours=1)
    meta.access_ends[info.account] = provider_ends
    meta.now = ends - timedelta(days=5)
    for _ in range(2):
        report = {r.credential: r for r in maintain_credentials(store, now=meta.now)}
    assert store.get(info.id).grant_expires_at == provider_ends and store.get(info.id).grant_source == "provider"
    assert store.get(info.id).grant_reminded_days == 7
    events = _wait_for_events(info.id, 2)
    assert sorted(e["payload"]["days_before"] for e in events) == [7, 30]

    # 4. the end passes: the credential and the transfers using it wait for a re-login, with the time
    meta.now = provider_ends + timedelta(hours=1)
    report = {r.credential: r for r in maintain_credentials(store, now=meta.now)}
    assert report[info.id].action == "dead"
    dead = store.get(info.id)
    assert dead.status == CredentialStatus.NEEDS_REAUTH and dead.status_reason == f"access ended at {provider_ends:%Y-%m-%d %H:%M} UTC"
    skipped = recurring_transfer(rec.id)
    assert skipped.state == "SKIPPED" and f"ferry reconnect {info.id[:8]}" in skipped.reason
    assert len(_expiring_events(info.id)) == 2  # no reminder after the end

    # 5. `ferry reconnect`, as the user runs it, with an account that still has access
    meta.oauth.account = "5555555555"
    meta.add_posts(2)
    meta.now = None
    code, output = _reconnect(info.id[:8])
    assert code == 0, output
    assert "re-authorized as user 5555555555" in output
    back = store.get(info.id)
    assert back.status == CredentialStatus.ACTIVE and back.account == "5555555555" and back.grant_expires_at is None

    # 6. the next round sends only the two new posts
    third = recurring_transfer(rec.id)
    assert third.state == "COMPLETE" and third.imported == 2, third
    files = [p for p in dst.rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert len(files) == 7, sorted(p.name for p in files)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(PYTHONPATH=str(ROOT), COLUMNS="300")
    return env


def _reconnect(credential: str) -> tuple[int, str]:
    """``ferry reconnect ID --no-browser`` in a subprocess, following the printed URL like a browser."""
    proc = subprocess.Popen([sys.executable, "-m", "ferry", "reconnect", credential, "--no-browser", "--timeout", "120"],
                            cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("http"):
                _follow(line.strip())
                break
        out, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, "".join(lines) + out + err
