"""Credential upkeep for recurring transfers, in process: maintenance, expiry notices, reconnect.

The OAuth provider is ferry's reference destination (ferry/servers/destination) on 127.0.0.1; the job
store is SQLite. The deployment-level behaviour (suspended runs resumed by a re-login) is in
test_deployments_stack.py.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from flows.context import open_context

from tests.store_support import put_in_state, rewrite_state
from sqlalchemy import update
from sqlmodel import Session

from tests.prefect_stack import FERNET_KEY


@pytest.fixture
def env(tmp_path, monkeypatch):
    from ferry.servers.destination.app import create_app
    from ferry.servers.threaded import ThreadedServer
    from flows.settings import load_settings

    monkeypatch.setenv("FERRY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FERRY_SECRET_KEY", FERNET_KEY)
    app = create_app(str(tmp_path / "dest"))
    with ThreadedServer(app) as server:
        yield load_settings(), app, server


def _login(settings, server, label="main"):
    from ferry.cli.auth import run_login

    return run_login(
        settings,
        "generic",
        client_id="ferry",
        metadata_url=f"{server.url}/.well-known/oauth-authorization-server",
        open_url=lambda url: httpx.get(url, follow_redirects=True, timeout=10),
        label=label,
    )


def _set(engine, credential_id, **values):
    from flows.store import Credential

    with Session(engine) as session:
        session.exec(update(Credential).where(Credential.id == credential_id).values(**values))
        session.commit()


def test_maintenance_refreshes_keeps_alive_flags_dead_and_revokes_unused(env):
    from flows.credentials import CredentialStore
    from flows.maintenance import maintain_credentials
    from flows.recurring import create_recurring
    from flows.store import CredentialStatus, JobState, JobStore, utcnow

    settings, app, server = env
    store = CredentialStore.from_settings(settings)
    soon, idle, dead, unused = (_login(settings, server, label) for label in ("soon", "idle", "dead", "unused"))
    destination = f"generic:{server.url}/dtp"
    for n, cred in enumerate((soon, idle, dead)):
        create_recurring(f"r{n}", "folder:/tmp", destination, ["blobs"], schedule="interval: 3600", destination_credential_id=cred.id, ctx=open_context(settings))
    waiting = JobStore(store.engine).create(source="folder:/tmp", destination=destination, types=["blobs"], destination_credential_id=dead.id)
    put_in_state(JobStore(store.engine), waiting.id, JobState.PAUSED, "destination full")
    now = utcnow()
    _set(store.engine, soon.id, access_expires_at=now + timedelta(hours=3))
    _set(store.engine, idle.id, access_expires_at=now + timedelta(days=30), last_refreshed_at=now - timedelta(days=8))
    _set(store.engine, dead.id, access_expires_at=now + timedelta(hours=1))
    app.state.oauth.access_token_lifetime = 7 * 86400  # refreshed tokens last beyond the next pass
    before = app.state.oauth.refresh_count

    # "soon" and "idle" refresh fine; the provider refuses "dead" for good (a test knob on the
    # provider, armed right before that credential's turn)
    original = store.refresh_token

    def refresh(credential_id, **kw):
        if credential_id == dead.id:
            app.state.oauth.fail_next_refresh("invalid_grant")
        return original(credential_id, **kw)

    store.refresh_token = refresh
    report = {row.credential: row for row in maintain_credentials(store, refresh_within=timedelta(hours=26), keepalive=timedelta(days=7))}
    assert report[soon.id].action == "refreshed" and "access token expires" in report[soon.id].why
    assert report[idle.id].action == "refreshed" and "keep-alive" in report[idle.id].why
    # refused while its access token still works: not dead yet, transfers keep using the token
    assert report[dead.id].action == "refresh-refused" and "invalid_grant" in report[dead.id].why
    assert "stays valid until" in report[dead.id].why and f"ferry reconnect {dead.id[:8]}" in report[dead.id].why
    assert report[unused.id].action == "revoked"
    assert app.state.oauth.refresh_count == before + 3
    assert store.get(dead.id).status == CredentialStatus.ACTIVE
    assert JobStore(store.engine).get(waiting.id).state == JobState.PAUSED
    # once the token has expired (the next pass, two hours on), it is dead and its jobs wait for a re-login
    later = {row.credential: row for row in maintain_credentials(store, now=utcnow() + timedelta(hours=2))}
    assert later[dead.id].action == "dead" and "invalid_grant" in later[dead.id].why
    assert store.get(dead.id).status == CredentialStatus.NEEDS_REAUTH
    assert JobStore(store.engine).get(waiting.id).state == JobState.NEEDS_REAUTH  # paused, with the reason
    assert "invalid_grant" in JobStore(store.engine).get(waiting.id).state_reason
    assert store.get(unused.id).status == CredentialStatus.REVOKED
    # a second pass changes nothing that is fine, and never revokes twice
    again = {row.credential: row.action for row in maintain_credentials(store)}
    assert again[unused.id] == "revoked-earlier" and again[soon.id] == "ok" and again[dead.id] == "dead"


@pytest.mark.stack  # reconnecting resumes paused runs through the Prefect API: a temporary Prefect server starts
def test_expiry_notice_feeds_reconnect_which_replaces_tokens_in_place(env, tmp_path):
    from typer.testing import CliRunner

    from ferry.servers.threaded import ThreadedServer

    from ferry.cli import app as cli
    from ferry.cli.reconnect import expiring_credentials, reconnect_one
    from ferry.servers.expiry_notices import NOTICE_PATH, create_expiry_app
    from flows.credentials import CredentialStore
    from flows.store import JobStore

    settings, app, server = env
    store = CredentialStore.from_settings(settings)
    cred = _login(settings, server)
    other = _login(settings, server, label="other")
    _set(store.engine, cred.id, account="user-42")
    job = JobStore(store.engine).create(source="folder:/tmp", destination=f"generic:{server.url}/dtp", types=["blobs"], destination_credential_id=cred.id)
    expire = int((store.get(cred.id).created_at + timedelta(days=10)).timestamp())
    auth = {"Authorization": "Bearer s3cret"}
    with ThreadedServer(create_expiry_app(store.engine, "s3cret")) as notices:
        url = notices.url + NOTICE_PATH
        assert httpx.post(url, json={"account": "user-42", "migration_expire_time": expire}).status_code == 401
        assert httpx.post(url, json={"account": "user-42"}, headers=auth).status_code == 422
        unknown = httpx.post(url, json={"account": "nobody", "expires_at": expire}, headers=auth)
        assert unknown.status_code == 200 and unknown.json()["updated"] == []  # logged; the sender must not retry for ever
        answer = httpx.post(url, json={"account": "user-42", "migration_expire_time": expire}, headers=auth)
        again = httpx.post(url, json={"account": "user-42", "migration_expire_time": expire}, headers=auth)
    assert answer.status_code == 200 and answer.json()["updated"] == [cred.id]
    assert again.status_code == 200 and again.json() == {**answer.json(), "updated": [], "unchanged": [cred.id]}  # idempotent

    assert [c["id"] for c in expiring_credentials(store.engine, 30 * 86400)] == [cred.id]
    assert expiring_credentials(store.engine, 5 * 86400) == []
    listed = CliRunner().invoke(cli, ["reconnect", "--expiring-within", "30d", "--list-only", "--json"])
    assert listed.exit_code == 0 and cred.id in listed.output and other.id not in listed.output

    old_token = store.current_token(cred.id).access_token.get_secret_value()
    assert reconnect_one(settings, cred.id, open_url=lambda url: httpx.get(url, follow_redirects=True, timeout=10)) == []
    info = store.get(cred.id)
    assert info.id == cred.id and info.version > cred.version  # same credential, new tokens
    assert store.current_token(cred.id).access_token.get_secret_value() != old_token
    assert expiring_credentials(store.engine, 30 * 86400) == []  # the notice belonged to the old grant
    assert JobStore(store.engine).get(job.id).destination_credential_id == cred.id  # history intact


def test_recurring_runs_share_a_ledger_resume_unfinished_and_skip_when_paused(tmp_path, monkeypatch, prefect_api, no_flow_heartbeat):
    from connectors.errors import ConfigError
    from flows.recurring import RecurringStore, create_recurring, parse_schedule, recurring_transfer
    from flows.store import JobState, RecurringState, get_engine
    from flows.settings import load_settings

    monkeypatch.setenv("FERRY_DATA_DIR", str(tmp_path / "data"))
    assert parse_schedule(every="6h") == "interval: 21600" and parse_schedule(cron="0 2 * * *") == "cron: 0 2 * * *"
    for bad in (dict(), dict(cron="0 2 * *"), dict(every="5s"), dict(every="soon"), dict(cron="0 2 * * *", every="1h")):
        with pytest.raises(ConfigError):
            parse_schedule(**bad)
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    for i in range(3):
        (src / f"f{i}.bin").write_bytes(bytes([i]) * 100)
    settings = load_settings()
    rec = create_recurring("files", f"folder:{src}", f"folder:{dst}", ["blobs"], schedule="interval: 60", ctx=open_context(settings))
    first = recurring_transfer(rec.id)
    assert first.state == "COMPLETE" and first.imported == 3 and first.recurring_id == rec.id
    (src / "f1.bin").write_bytes(b"changed" * 10)
    (src / "f9.bin").write_bytes(b"new")
    second = recurring_transfer(rec.id)
    assert second.state == "COMPLETE" and second.imported == 2 and second.job_id != first.job_id
    assert any(f.read_bytes() == b"changed" * 10 for f in dst.rglob("*.bin"))  # the changed version delivered

    store = RecurringStore(get_engine(settings.resolved_database_url))
    # an unfinished run is resumed by the next round, not replaced by a new job
    rewrite_state(store.jobs, second.job_id, JobState.FAILED, "simulated crash")
    third = recurring_transfer(rec.id)
    assert third.job_id == second.job_id and third.state == "COMPLETE"
    store.update(rec.id, state=RecurringState.PAUSED)
    assert recurring_transfer(rec.id).state == "SKIPPED"
    assert [j.id for j in store.runs(rec.id)] == [second.job_id, first.job_id]


def test_one_credential_that_cannot_be_read_does_not_stop_maintenance(env):
    from cryptography.fernet import Fernet

    from flows.credentials import CredentialStore
    from flows.crypto import TokenCipher
    from flows.maintenance import maintain_credentials
    from flows.recurring import create_recurring
    from flows.store import utcnow

    settings, app, server = env
    store = CredentialStore.from_settings(settings)
    good, bad = _login(settings, server, "good"), _login(settings, server, "bad")
    for n, cred in enumerate((good, bad)):
        create_recurring(f"k{n}", "folder:/tmp", f"generic:{server.url}/dtp", ["blobs"], schedule="interval: 3600", destination_credential_id=cred.id, ctx=open_context(settings))
    other_key = TokenCipher([Fernet.generate_key()], origin="a key file from another machine")
    _set(store.engine, bad.id, token_ciphertext=other_key.encrypt({"v": 2, "token": None}), access_expires_at=utcnow())
    _set(store.engine, good.id, access_expires_at=utcnow())
    report = {row.credential: row for row in maintain_credentials(store)}
    assert report[bad.id].action == "failed" and "cannot decrypt" in report[bad.id].why
    assert report[good.id].action == "refreshed"
