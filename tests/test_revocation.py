"""Crash-safe revocation: ``kill -9`` between REVOKING and the provider's answer, then finished later.

The provider is the reference OAuth server (it records every revocation) behind a gate that
holds revocation requests: the test knows the ``ferry auth revoke`` process is inside the call,
kills it there, and lets the held request end without revoking anything (what a crash before
the provider acted leaves). The grant must then still be alive at the provider, the credential
REVOKING (never "revoked" while the grant lives), and the next ``ferry auth revoke`` or the
maintenance flow must revoke it at the provider, once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from connectors.oauth import OAuthClient, authorize_interactively, build_client_config
from ferry.servers.destination.oauth_server import OAuthServer, RegisteredClient
from ferry.servers.threaded import ThreadedServer
from flows.credentials import CredentialStore
from flows.settings import load_settings
from flows.store import CredentialStatus
from tests.prefect_stack import FERNET_KEY

ROOT = Path(__file__).resolve().parents[1]
SECRET = "revocation-test-secret"


class RevocationGate:
    """ASGI middleware: while ``hold`` is set, a POST to /oauth/revoke waits here (``arrived`` is
    set) until ``release``, and is then answered 503 without reaching the server."""

    def __init__(self, app):
        self.app = app
        self.hold = threading.Event()
        self.arrived = threading.Event()
        self.release = threading.Event()

    async def __call__(self, scope, receive, send):
        if scope.get("type") == "http" and scope.get("path") == "/oauth/revoke" and self.hold.is_set():
            self.arrived.set()
            while not self.release.is_set():
                await asyncio.sleep(0.02)
            await send({"type": "http.response.start", "status": 503, "headers": [(b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, send)


@pytest.fixture
def provider():
    server = OAuthServer([RegisteredClient("ferry", SECRET)])
    app = FastAPI()
    app.include_router(server.router)
    gate = RevocationGate(app)
    with ThreadedServer(gate) as http:
        yield server, gate, http.url


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FERRY_", "PREFECT_API_URL"))}
    env.update(FERRY_DATA_DIR=str(data_dir), FERRY_SECRET_KEY=FERNET_KEY, PYTHONPATH=str(ROOT), COLUMNS="200")
    return env


def _ferry(*args: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ferry", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _credential(store: CredentialStore, base: str):
    config = build_client_config(
        client_id="ferry", client_secret=SECRET, authorization_endpoint=f"{base}/oauth/authorize",
        token_endpoint=f"{base}/oauth/token", revocation_endpoint=f"{base}/oauth/revoke", scopes=["media:write"],
    )
    tokens = authorize_interactively(OAuthClient(config), open_url=lambda url: httpx.get(url, follow_redirects=True, timeout=10), timeout=30)
    return store.create("generic", tokens, config, label="single-use"), tokens


@pytest.mark.parametrize("finisher", ["ferry auth revoke", "maintenance flow"])
def test_kill_9_inside_the_revocation_call_is_finished_later(provider, tmp_path, monkeypatch, finisher):
    server, gate, base = provider
    monkeypatch.setenv("FERRY_SECRET_KEY", FERNET_KEY)
    data_dir = tmp_path / "data"
    store = CredentialStore.from_settings(load_settings(data_dir=data_dir))
    info, tokens = _credential(store, base)
    refresh = tokens.refresh_token.get_secret_value()

    gate.hold.set()
    victim = _ferry("auth", "revoke", info.id, env=_env(data_dir))
    try:
        assert gate.arrived.wait(240), "ferry auth revoke never called the provider: " + str(victim.communicate(timeout=5) if victim.poll() is not None else "")
        assert store.get(info.id).status == CredentialStatus.REVOKING  # claimed before the call
        victim.send_signal(signal.SIGKILL)
        victim.wait(60)
    finally:
        if victim.poll() is None:
            victim.kill()
    assert victim.returncode == -signal.SIGKILL  # it died inside the call, not after it
    gate.hold.clear()
    gate.release.set()

    # what the crash left: REVOKING, tokens still stored, and the grant alive at the provider
    assert store.get(info.id).status == CredentialStatus.REVOKING
    assert store.payload(store.rows.get(info.id)).token is not None
    assert server.registry.refresh_token_valid(refresh) and server.revocation_count(refresh) == 0

    if finisher == "ferry auth revoke":
        done = _ferry("auth", "revoke", info.id[:8], env=_env(data_dir))
        out, err = done.communicate(timeout=240)
        assert done.returncode == 0, out + err
        assert "finished a revocation left half done" in out
    else:
        from flows.maintenance import maintain_credentials

        report = {row.credential: row for row in maintain_credentials(store)}
        assert report[info.id].action == "revoked" and "left half done" in report[info.id].why

    assert not server.registry.refresh_token_valid(refresh)  # the grant is dead at the provider
    assert server.revocation_count(refresh) == 1
    revoked = store.get(info.id)
    assert revoked.status == CredentialStatus.REVOKED and revoked.revoked_at is not None
    assert store.payload(store.rows.get(info.id)).token is None  # tokens deleted
    again = _ferry("auth", "revoke", info.id, env=_env(data_dir))
    out, _ = again.communicate(timeout=240)
    assert again.returncode == 0 and "already revoked" in out and server.revocation_count(refresh) == 1


def test_a_provider_that_never_answers_leaves_revoking_until_it_does(provider, tmp_path, monkeypatch):
    """The in-process path: the revocation call times out; the credential stays REVOKING."""
    from connectors.errors import RetryableError

    server, gate, base = provider
    monkeypatch.setenv("FERRY_SECRET_KEY", FERNET_KEY)
    settings = load_settings(data_dir=tmp_path / "data")
    store = CredentialStore.from_settings(settings, timeout=1.0)
    info, tokens = _credential(store, base)
    gate.hold.set()
    with pytest.raises(RetryableError, match="ReadTimeout"):
        store.revoke_if_unused(info.id)
    gate.hold.clear()
    gate.release.set()
    assert store.get(info.id).status == CredentialStatus.REVOKING
    assert store.finish_revocation(info.id) is True
    assert not server.registry.refresh_token_valid(tokens.refresh_token.get_secret_value())
