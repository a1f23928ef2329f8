"""flows.credentials + flows.crypto against the reference OAuth server and real databases."""

from __future__ import annotations

import logging
import os
import socket
import stat
import threading

import httpx
import pytest

from tests.store_support import put_in_state
from fastapi import FastAPI
from sqlmodel import Session

from connectors.errors import ConfigError, ReauthRequired, RetryableError
from connectors.oauth import OAuthClient, TokenSet, authorize_interactively, build_client_config
from ferry.servers.destination.oauth_server import OAuthServer, RegisteredClient
from ferry.servers.threaded import ThreadedServer
from flows.settings import load_settings
from flows.credentials import CredentialStore
from flows.token_source import DbTokenSource
from flows.crypto import CredentialKeyError, TokenCipher, cipher_from_settings, load_or_create_key_file
from flows.store import Credential, CredentialStatus, JobState, JobStore, RecurringState, RecurringTransfer, get_engine

SECRET = "client-secret-never-logged-5678"


@pytest.fixture(scope="module")
def oauth():
    server = OAuthServer([RegisteredClient("ferry", SECRET)])
    app = FastAPI()
    app.include_router(server.router)
    with ThreadedServer(app) as http:
        yield server, http.url


@pytest.fixture(autouse=True)
def _reset_knobs(oauth):
    server, _ = oauth
    server.access_token_lifetime = 3600
    server.refresh_delay = 0.0
    yield


def _config(base: str):
    return build_client_config(
        client_id="ferry",
        client_secret=SECRET,
        authorization_endpoint=f"{base}/oauth/authorize",
        token_endpoint=f"{base}/oauth/token",
        revocation_endpoint=f"{base}/oauth/revoke",
        scopes=["media:write"],
    )


def _login(base: str) -> TokenSet:
    def browser(url: str) -> None:
        httpx.get(url, follow_redirects=True, timeout=10)

    return authorize_interactively(OAuthClient(_config(base)), open_url=browser, timeout=10)


@pytest.fixture
def settings(tmp_path):
    return load_settings(data_dir=tmp_path / "data")


@pytest.fixture
def store(settings):
    return CredentialStore.from_settings(settings)


def _new_credential(store: CredentialStore, base: str):
    tokens = _login(base)
    return store.create("generic", tokens, _config(base), label="test"), tokens


# -- the key ----------------------------------------------------------------------------------------


def test_key_file_is_created_0600_and_reused(settings):
    key_file = settings.resolved_key_file
    assert not key_file.exists()
    first = cipher_from_settings(settings)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    second = cipher_from_settings(settings)
    assert second.decrypt(first.encrypt({"a": 1}), what="x") == {"a": 1}
    assert str(key_file) in repr(first)


def test_key_file_open_to_others_is_refused(tmp_path):
    path = tmp_path / "secret.key"
    load_or_create_key_file(path)
    os.chmod(path, 0o644)
    with pytest.raises(CredentialKeyError, match=f"{path}.*chmod 600"):
        load_or_create_key_file(path)


def test_missing_key_file_without_create(tmp_path):
    with pytest.raises(CredentialKeyError, match="does not exist"):
        load_or_create_key_file(tmp_path / "nope.key", create=False)


def test_wrong_key_gives_a_clear_error_without_the_key(oauth, tmp_path):
    server, base = oauth
    get_engine(f"sqlite:///{tmp_path}/shared.db", create=True)  # `ferry db upgrade` made it
    first = load_settings(data_dir=tmp_path / "a", database_url=f"sqlite:///{tmp_path}/shared.db")
    info, _ = _new_credential(CredentialStore.from_settings(first), base)
    other = load_settings(data_dir=tmp_path / "b", database_url=f"sqlite:///{tmp_path}/shared.db")
    store = CredentialStore.from_settings(other)
    assert store.get(info.id).status == CredentialStatus.ACTIVE  # clear columns stay readable
    with pytest.raises(CredentialKeyError) as caught:
        store.token_source(info.id).access_token()
    message = str(caught.value)
    assert str(other.resolved_key_file) in message and info.id in message
    assert other.resolved_key_file.read_text().strip() not in message
    assert first.resolved_key_file.read_text().strip() not in message


def test_secret_key_setting_with_rotation(tmp_path):
    from cryptography.fernet import Fernet

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    blob = cipher_from_settings(load_settings(data_dir=tmp_path, secret_key=old)).encrypt({"t": 1})
    rotated = cipher_from_settings(load_settings(data_dir=tmp_path, secret_key=f"{new},{old}"))
    assert rotated.decrypt(blob, what="x") == {"t": 1}
    assert not (tmp_path / "secret.key").exists()
    with pytest.raises(CredentialKeyError, match="secret_key.*not a valid Fernet key") as caught:
        cipher_from_settings(load_settings(data_dir=tmp_path, secret_key="not-a-key"))
    assert "not-a-key" not in str(caught.value)


def test_only_ciphertext_at_rest(oauth, store):
    _, base = oauth
    info, tokens = _new_credential(store, base)
    with Session(store.engine) as session:
        row = session.get(Credential, info.id)
        dump = repr(row.model_dump())
    for secret in (*tokens.secrets(), SECRET):
        assert secret not in dump


# -- refresh ----------------------------------------------------------------------------------------


def test_token_source_serves_the_stored_token(oauth, store):
    server, base = oauth
    info, tokens = _new_credential(store, base)
    source = store.token_source(info.id[:8])  # unique prefixes work like job ids
    assert isinstance(source, DbTokenSource)
    assert source.access_token() == tokens.access_token.get_secret_value()
    assert [c.id for c in store.list(connector="generic")] == [info.id]
    assert store.get(info.id).scopes == ("media:write",)


def test_expired_token_is_refreshed_proactively(oauth, store):
    server, base = oauth
    server.access_token_lifetime = 30  # inside the 60 s skew: stale as soon as it is issued
    info, tokens = _new_credential(store, base)
    server.access_token_lifetime = 3600
    before = server.refresh_count
    source = store.token_source(info.id)
    fresh = source.access_token()
    assert fresh != tokens.access_token.get_secret_value()
    assert server.registry.validate(fresh) == "test-user"
    assert source.access_token() == fresh and server.refresh_count == before + 1
    row = store.get(info.id)
    assert row.last_refreshed_at is not None and row.version == info.version + 1


def test_refresh_on_401_persists_the_rotation(oauth, store, settings):
    server, base = oauth
    info, tokens = _new_credential(store, base)
    old = store.token_source(info.id).access_token()
    server.expire_access_tokens()
    assert server.registry.validate(old) is None
    new = store.token_source(info.id).refresh(old)
    assert server.registry.validate(new) == "test-user"
    before = server.refresh_count
    # Another worker that was also rejected re-reads the store and does not refresh again.
    other = CredentialStore(get_engine.__wrapped__(settings.resolved_database_url), store.cipher)
    assert other.token_source(info.id).refresh(old) == new
    assert server.refresh_count == before
    stored = store.current_token(info.id)
    assert server.registry.refresh_token_valid(stored.refresh_token.get_secret_value())
    assert stored.refresh_token.get_secret_value() != tokens.refresh_token.get_secret_value()


def _concurrent_refresh(oauth, stores: list[CredentialStore], mode: str):
    server, base = oauth
    if mode == "proactive":
        server.access_token_lifetime = 30
    info, tokens = _new_credential(stores[0], base)
    server.access_token_lifetime = 3600
    old = tokens.access_token.get_secret_value()
    server.refresh_delay = 0.3  # both workers are inside refresh at once
    before = server.refresh_count
    barrier = threading.Barrier(len(stores))
    results: list[str] = []
    errors: list[BaseException] = []

    def worker(store: CredentialStore) -> None:
        source = store.token_source(info.id)
        barrier.wait()
        try:
            results.append(source.refresh(old) if mode == "rejected" else source.access_token())
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert len(set(results)) == 1 and results[0] != old
    assert server.refresh_count == before + 1  # the second worker used the first one's rotation
    server.refresh_delay = 0.0
    stored = stores[1].current_token(info.id)
    assert stored.access_token.get_secret_value() == results[0]
    assert server.registry.refresh_token_valid(stored.refresh_token.get_secret_value())
    # The chain is intact: one more refresh works.
    again = stores[1].token_source(info.id).refresh(results[0])
    assert server.registry.validate(again)


@pytest.mark.parametrize("mode", ["rejected", "proactive"])
def test_two_workers_refreshing_at_once_on_sqlite(oauth, settings, mode):
    url = settings.resolved_database_url
    cipher = cipher_from_settings(settings)
    stores = [CredentialStore(get_engine(url, create=True), cipher), CredentialStore(get_engine.__wrapped__(url), cipher)]
    _concurrent_refresh(oauth, stores, mode)


@pytest.mark.parametrize("mode", ["rejected", "proactive"])
def test_two_workers_refreshing_at_once_on_postgresql(oauth, settings, pg_url, mode):
    cipher = cipher_from_settings(settings)
    stores = [CredentialStore(get_engine(pg_url), cipher), CredentialStore(get_engine.__wrapped__(pg_url), cipher)]
    _concurrent_refresh(oauth, stores, mode)


@pytest.mark.parametrize("error", ["invalid_grant", "session_invalidated"])
def test_dead_refresh_moves_credential_and_jobs_to_needs_reauth(oauth, store, error):
    server, base = oauth
    info, tokens = _new_credential(store, base)
    other, _ = _new_credential(store, base)
    jobs = JobStore(store.engine)
    waiting = jobs.create(source="meta:x", destination="generic:y", types=["photos"], destination_credential_id=info.id)
    paused = jobs.create(source="generic:y", destination="folder:z", types=["photos"], source_credential_id=info.id)
    put_in_state(jobs, paused.id, JobState.PAUSED, "waiting")
    done = jobs.create(source="meta:x", destination="generic:y", types=["photos"], destination_credential_id=info.id)
    put_in_state(jobs, done.id, JobState.COMPLETE)
    unrelated = jobs.create(source="meta:x", destination="generic:y", types=["photos"], destination_credential_id=other.id)
    server.fail_next_refresh(error)
    source = store.token_source(info.id)
    with pytest.raises(ReauthRequired, match=error):
        source.refresh(tokens.access_token.get_secret_value())
    dead = store.get(info.id)
    assert dead.status == CredentialStatus.NEEDS_REAUTH and error in dead.status_reason
    assert jobs.get(waiting.id).state == JobState.NEEDS_REAUTH and error in jobs.get(waiting.id).state_reason
    assert jobs.get(paused.id).state == JobState.NEEDS_REAUTH
    assert jobs.get(done.id).state == JobState.COMPLETE
    assert jobs.get(unrelated.id).state == JobState.NEW
    before = server.refresh_count
    with pytest.raises(ReauthRequired, match="NEEDS_REAUTH"):
        store.token_source(info.id).refresh("anything")
    assert server.refresh_count == before  # a dead credential does not hammer the token endpoint
    # Re-authorization in place keeps the id and reactivates it.
    fresh = _login(base)
    replaced = store.replace_tokens(info.id, fresh)
    assert replaced.id == info.id and replaced.status == CredentialStatus.ACTIVE
    assert store.token_source(info.id).access_token() == fresh.access_token.get_secret_value()


# -- revocation -------------------------------------------------------------------------------------


def test_revoke_exactly_once_when_called_twice(oauth, store):
    server, base = oauth
    info, tokens = _new_credential(store, base)
    before = len(server.registry.revocation_hints)
    assert store.revoke_if_unused(info.id) is True
    assert store.revoke_if_unused(info.id) is False
    access, refresh = tokens.access_token.get_secret_value(), tokens.refresh_token.get_secret_value()
    assert server.revocation_count(access) == 1 and server.revocation_count(refresh) == 1
    assert server.registry.revocation_hints[before:] == ["refresh_token", "access_token"]
    revoked = store.get(info.id)
    assert revoked.status == CredentialStatus.REVOKED and revoked.revoked_at is not None
    with pytest.raises(ReauthRequired, match="REVOKED"):
        store.token_source(info.id).access_token()


def _concurrent_revocation(oauth, stores: list[CredentialStore]) -> None:
    server, base = oauth
    info, tokens = _new_credential(stores[0], base)
    barrier = threading.Barrier(len(stores))
    results: list[bool] = []

    def worker(s: CredentialStore) -> None:
        barrier.wait()
        results.append(s.revoke_if_unused(info.id))

    threads = [threading.Thread(target=worker, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * (len(stores) - 1) + [True]
    assert server.revocation_count(tokens.access_token.get_secret_value()) == 1
    assert server.revocation_count(tokens.refresh_token.get_secret_value()) == 1
    assert stores[-1].get(info.id).status == CredentialStatus.REVOKED


def test_revoke_exactly_once_under_concurrency(oauth, store, settings):
    _concurrent_revocation(oauth, [store] + [CredentialStore(get_engine.__wrapped__(settings.resolved_database_url), store.cipher) for _ in range(3)])


def test_revoke_exactly_once_under_concurrency_on_postgresql(oauth, settings, pg_url):
    cipher = cipher_from_settings(settings)
    _concurrent_revocation(oauth, [CredentialStore(get_engine(pg_url), cipher)] + [CredentialStore(get_engine.__wrapped__(pg_url), cipher) for _ in range(3)])


def test_no_revocation_while_a_job_or_recurring_transfer_uses_it(oauth, store):
    server, base = oauth
    info, tokens = _new_credential(store, base)
    jobs = JobStore(store.engine)
    job = jobs.create(source="meta:x", destination="generic:y", types=["photos"], destination_credential_id=info.id)
    put_in_state(jobs, job.id, JobState.FAILED, "resumable")
    with Session(store.engine) as session:
        recurring = RecurringTransfer(name="nightly", source="meta:x", destination="generic:y", source_credential_id=info.id)
        session.add(recurring)
        session.commit()
        recurring_id = recurring.id
    assert store.revoke_if_unused(info.id) is False
    assert store.users(info.id).job_ids == (job.id,)
    put_in_state(jobs, job.id, JobState.COMPLETE)
    assert store.revoke_if_unused(info.id) is False  # the recurring transfer still needs it
    with Session(store.engine) as session:
        session.get(RecurringTransfer, recurring_id).state = RecurringState.CANCELED
        session.commit()
    assert server.revocation_count(tokens.refresh_token.get_secret_value()) == 0
    assert store.revoke_if_unused(info.id) is True


def test_failed_revocation_stays_revoking_and_is_finished_later(oauth, store):
    server, base = oauth
    info, tokens = _new_credential(store, base)
    server.fail_next_revoke(503, retry_after=2)
    with pytest.raises(RetryableError):
        store.revoke_if_unused(info.id)
    # claimed, but the provider did not answer: never usable again, never "revoked" yet
    assert store.get(info.id).status == CredentialStatus.REVOKING
    assert server.registry.refresh_token_valid(tokens.refresh_token.get_secret_value())
    with pytest.raises(ReauthRequired, match="REVOKING"):
        store.token_source(info.id).access_token()
    assert store.revoke_if_unused(info.id) is False  # a second claim is refused ...
    assert store.finish_revocation(info.id) is True  # ... finishing is what the maintenance flow does
    assert store.finish_revocation(info.id) is False
    assert not server.registry.refresh_token_valid(tokens.refresh_token.get_secret_value())
    assert server.revocation_count(tokens.refresh_token.get_secret_value()) == 1
    revoked = store.get(info.id)
    assert revoked.status == CredentialStatus.REVOKED and revoked.status_reason == "revoked at the provider"
    gone = store.payload(store.rows.get(info.id))
    assert gone.token is None and gone.client_secret is None  # tokens (and the secret) deleted


def test_credential_status_changes_follow_the_table(oauth, store):
    from flows.store.credential_rows import ALLOWED, IllegalCredentialTransition

    server, base = oauth
    info, _ = _new_credential(store, base)
    assert ALLOWED[CredentialStatus.REVOKED] == frozenset()
    assert CredentialStatus.ACTIVE not in ALLOWED[CredentialStatus.REVOKING]
    with pytest.raises(IllegalCredentialTransition, match="is ACTIVE; it cannot become REVOKED"):
        store.rows.transition(info.id, CredentialStatus.REVOKED, "skipping the provider")
    assert store.revoke(info.id, force=True) is True
    with pytest.raises(IllegalCredentialTransition, match="is REVOKED; it cannot become ACTIVE"):
        store.replace_tokens(info.id, _login(base))  # a revoked credential is never revived
    # a stale compare-and-swap changes nothing
    other, _ = _new_credential(store, base)
    assert store.rows.transition(other.id, CredentialStatus.NEEDS_REAUTH, "x", expected_version=other.version - 1) is None
    assert store.get(other.id).status == CredentialStatus.ACTIVE


def test_token_payloads_carry_a_version_and_old_ones_are_read(oauth, store):
    from flows.store import Credential
    from flows.token_payload import PAYLOAD_VERSION

    server, base = oauth
    tokens = _login(base)
    # a row as ferry 0.1 wrote it: {"token", "client_secret"}, no version
    old = Credential(connector="generic", token_ciphertext=store.cipher.encrypt({"token": tokens.to_storage(), "client_secret": SECRET}),
                     scopes=["media:write"], config=_config(base).public_dict(), access_expires_at=tokens.expires_at)
    store.rows.add(old)
    assert store.current_token(old.id).access_token.get_secret_value() == tokens.access_token.get_secret_value()
    assert store.client_for(old.id).config.client_secret.get_secret_value() == SECRET
    server.expire_access_tokens()
    store.token_source(old.id).refresh(tokens.access_token.get_secret_value())  # a write upgrades it
    raw = store.cipher.decrypt(store.rows.get(old.id).token_ciphertext, what="test")
    assert raw["v"] == PAYLOAD_VERSION and raw["client_secret"] == SECRET and raw["token"]["access_token"]
    # one written by a newer ferry is refused in one line
    newer = Credential(connector="generic", token_ciphertext=store.cipher.encrypt({"v": 99, "token": None}), config=_config(base).public_dict())
    store.rows.add(newer)
    with pytest.raises(ConfigError, match="stored by a newer ferry .*version 99.*upgrade ferry"):
        store.current_token(newer.id)


# -- secrets stay secret ----------------------------------------------------------------------------


def test_no_token_or_secret_in_logs_errors_or_reprs(oauth, store, caplog, tmp_path):
    server, base = oauth
    caplog.set_level(logging.DEBUG)
    info, tokens = _new_credential(store, base)
    source = store.token_source(info.id)
    seen = [*tokens.secrets(), SECRET]
    server.expire_access_tokens()
    refreshed = source.refresh(tokens.access_token.get_secret_value())
    seen.append(refreshed)
    seen.extend(store.current_token(info.id).secrets())
    texts = [repr(store), repr(source), repr(info), repr(store.get(info.id)), repr(store.cipher), repr(store.client_for(info.id))]
    server.fail_next_refresh("invalid_grant")
    with pytest.raises(ReauthRequired) as dead:
        source.refresh(refreshed)
    texts.append(str(dead.value))
    store.replace_tokens(info.id, _login(base))
    seen.extend(store.current_token(info.id).secrets())
    store.revoke_if_unused(info.id)
    wrong = CredentialStore(store.engine, TokenCipher([__import__("cryptography.fernet").fernet.Fernet.generate_key()], origin="key file elsewhere"))
    with pytest.raises(CredentialKeyError) as bad_key:
        wrong.client_for(info.id)
    texts.append(str(bad_key.value))
    texts.extend(record.getMessage() for record in caplog.records)
    texts.extend(str(record.exc_info) for record in caplog.records if record.exc_info)
    assert any("refreshed credential" in t for t in texts)  # the logs did say something
    for text in texts:
        for secret in seen:
            assert secret not in text


# -- the CLI ----------------------------------------------------------------------------------------


def test_cli_list_and_revoke(oauth, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from ferry.cli import app

    server, base = oauth
    monkeypatch.setenv("FERRY_DATA_DIR", str(tmp_path / "cli"))
    store = CredentialStore.from_settings(load_settings())
    info, tokens = _new_credential(store, base)
    job = JobStore(store.engine).create(source="meta:x", destination="generic:y", types=["photos"], destination_credential_id=info.id)
    runner = CliRunner()
    listed = runner.invoke(app, ["auth", "list"])
    assert listed.exit_code == 0, listed.output
    assert info.id[:8] in listed.output and "ACTIVE" in listed.output
    as_json = runner.invoke(app, ["auth", "list", "--json"])
    assert info.id in as_json.output
    for secret in (*tokens.secrets(), SECRET):
        assert secret not in listed.output + as_json.output
    refused = runner.invoke(app, ["auth", "revoke", info.id[:8]])
    assert refused.exit_code == 2 and job.id in refused.output
    forced = runner.invoke(app, ["auth", "revoke", info.id, "--force"])
    assert forced.exit_code == 0 and "Revoked" in forced.output
    assert server.revocation_count(tokens.refresh_token.get_secret_value()) == 1
    again = runner.invoke(app, ["auth", "revoke", info.id])
    assert again.exit_code == 0 and "already revoked" in again.output
    missing = runner.invoke(app, ["auth", "revoke", "no-such-id"])
    assert missing.exit_code == 2 and "ferry auth list" in missing.output


def test_login_command_body_discovers_and_stores(oauth, tmp_path):
    from connectors import registry
    from connectors.registry import Capabilities, Connector, OAuthSpec
    from ferry.cli.auth import run_login

    server, base = oauth
    registry.register(Connector(name="oauth-test", title="t", capabilities=Capabilities(), oauth=OAuthSpec(metadata_url=base, scopes=("a", "b"))))
    try:
        settings = load_settings(data_dir=tmp_path / "login")
        info = run_login(
            settings,
            "oauth-test",
            client_id="ferry",
            client_secret=SECRET,
            open_url=lambda url: httpx.get(url, follow_redirects=True),
            label="mine",
            timeout=10,
        )
        assert info.label == "mine" and info.scopes == ("a", "b")
        store = CredentialStore.from_settings(settings)
        assert server.registry.validate(store.token_source(info.id).access_token()) == "test-user"
        with pytest.raises(ConfigError, match="not in the allowed redirect URIs"):
            run_login(settings, "oauth-test", client_id="ferry", client_secret=SECRET, redirect_port=0,
                      allowed_redirect_uris=["http://127.0.0.1:1/callback"], timeout=1)
    finally:
        registry.unregister("oauth-test")


def test_ferry_auth_login_end_to_end(oauth, tmp_path):
    """The real command in a subprocess: print the URL, receive the redirect, store, print the id."""
    import subprocess
    import sys

    server, base = oauth
    env = {k: v for k, v in os.environ.items() if not k.startswith("FERRY_")}
    env.update(FERRY_DATA_DIR=str(tmp_path / "e2e"), DEST_SECRET=SECRET, COLUMNS="300")
    command = [sys.executable, "-c", "from ferry.cli import app; app(prog_name='ferry')", "auth", "login", "generic", "--metadata-url", base, "--client-id", "ferry",
               "--client-secret-env", "DEST_SECRET", "--no-browser", "--label", "e2e", "--timeout", "30"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("http"):
                httpx.get(line.strip(), follow_redirects=True, timeout=10)
                break
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    output = "".join(lines) + out
    assert proc.returncode == 0, output + err
    credential_id = output.split("Stored credential ")[1].split()[0]
    store = CredentialStore.from_settings(load_settings(data_dir=tmp_path / "e2e"))
    tokens = store.current_token(credential_id)
    assert store.get(credential_id).label == "e2e"
    for secret in (*tokens.secrets(), SECRET):
        assert secret not in output + err


def test_forced_refresh_for_tokens_without_expiry(oauth, store):
    server, base = oauth
    tokens = _login(base)
    undated = TokenSet(access_token=tokens.access_token, refresh_token=tokens.refresh_token)  # no expires_at
    info = store.create("generic", undated, _config(base))
    assert store.refresh_token(info.id, skew=10**9) == store.current_token(info.id)  # nothing to go by
    fresh = store.refresh_token(info.id, force=True)
    assert fresh.access_token.get_secret_value() != tokens.access_token.get_secret_value()
    assert server.registry.refresh_token_valid(store.current_token(info.id).refresh_token.get_secret_value())


# -- a refused proactive refresh keeps the still-valid token (issue 10 part 2) ---------------------


class Clock:
    """An injected clock (no sleeps): ``clock.now`` is what the token source believes the time is."""

    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def test_refused_proactive_refresh_keeps_the_valid_token_until_it_expires(oauth, store):
    from datetime import timedelta

    server, base = oauth
    info, tokens = _new_credential(store, base)
    expires = tokens.expires_at
    jobs = JobStore(store.engine)
    job = jobs.create(source="meta:x", destination="generic:y", types=["photos"], destination_credential_id=info.id)
    clock = Clock(expires - timedelta(seconds=30))  # inside the 60 s skew: a proactive refresh is due
    source = store.token_source(info.id, clock=clock)
    server.fail_next_refresh("session_invalidated", times=2)  # the proactive try, and the one after expiry
    before = server.refresh_count
    old = tokens.access_token.get_secret_value()
    assert source.access_token() == old  # refused, but the token has 30 s left: keep using it
    assert server.refresh_count == before + 1
    assert store.get(info.id).status == CredentialStatus.ACTIVE and jobs.get(job.id).state == JobState.NEW
    for seconds in (20, 10, 1):
        clock.now = expires - timedelta(seconds=seconds)
        assert source.access_token() == old
    assert server.refresh_count == before + 1  # the refusal is remembered: the endpoint is not hammered
    clock.now = expires + timedelta(seconds=1)  # now it really expired
    with pytest.raises(ReauthRequired, match="session_invalidated.*expired at"):
        source.access_token()
    assert server.refresh_count == before + 2
    dead = store.get(info.id)
    assert dead.status == CredentialStatus.NEEDS_REAUTH and "expired at" in dead.status_reason
    assert jobs.get(job.id).state == JobState.NEEDS_REAUTH


def test_a_401_with_a_refused_refresh_is_needs_reauth_at_once(oauth, store):
    from datetime import timedelta

    server, base = oauth
    info, tokens = _new_credential(store, base)
    source = store.token_source(info.id, clock=Clock(tokens.expires_at - timedelta(seconds=30)))
    server.fail_next_refresh("invalid_grant", times=2)
    assert source.access_token() == tokens.access_token.get_secret_value()  # proactive: refused, kept
    with pytest.raises(ReauthRequired, match="invalid_grant"):
        source.refresh(tokens.access_token.get_secret_value())  # the destination said 401
    assert store.get(info.id).status == CredentialStatus.NEEDS_REAUTH


def test_transient_refresh_failure_keeps_the_token_and_retries_later(oauth, store, settings):
    from datetime import timedelta

    server, base = oauth
    info, tokens = _new_credential(store, base)
    clock = Clock(tokens.expires_at - timedelta(seconds=50))
    with socket.socket() as sock:  # a port nobody listens on: the token endpoint is unreachable
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]
    _set_token_endpoint(store, info.id, f"http://127.0.0.1:{dead_port}/oauth/token")
    source = store.token_source(info.id, clock=clock)
    assert source.access_token() == tokens.access_token.get_secret_value()
    clock.now += timedelta(seconds=2)  # within the 5 s back-off: no new attempt, same token
    assert source.access_token() == tokens.access_token.get_secret_value()
    _set_token_endpoint(store, info.id, f"{base}/oauth/token")
    clock.now += timedelta(seconds=4)  # back-off over: the refresh succeeds
    fresh = source.access_token()
    assert fresh != tokens.access_token.get_secret_value() and server.registry.validate(fresh) == "test-user"
    assert store.get(info.id).status == CredentialStatus.ACTIVE


def test_transient_refresh_failure_after_expiry_is_retryable(oauth, store):
    from datetime import timedelta

    server, base = oauth
    info, tokens = _new_credential(store, base)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]
    _set_token_endpoint(store, info.id, f"http://127.0.0.1:{dead_port}/oauth/token")
    source = store.token_source(info.id, clock=Clock(tokens.expires_at + timedelta(seconds=1)))
    with pytest.raises(RetryableError):
        source.access_token()
    assert store.get(info.id).status == CredentialStatus.ACTIVE  # a transient failure never kills it


def _set_token_endpoint(store, credential_id, url):
    with Session(store.engine) as session:
        row = session.get(Credential, credential_id)
        row.config = {**row.config, "token_endpoint": url}
        session.add(row)
        session.commit()
