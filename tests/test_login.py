"""Logging in as the README says, against providers as strict as the real ones.

* TikTok registers one fixed redirect URI, port included, and its desktop Login Kit wants the PKCE
  challenge hex-encoded: ``ferry auth login tiktok`` (the README's line, in a subprocess) must take
  the port from ``oauth_redirect_uris``, send a hex challenge, and record the user's ``open_id``.
* ``authorization.removed`` (the user disconnected ferry in TikTok), delivered to a running
  ``ferry serve-webhooks``, marks that user's credential dead and its waiting transfers NEEDS_REAUTH.
* Re-authorization messages name the command that fixes them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from connectors.errors import ConfigError
from connectors.oauth import choose_redirect, pkce_challenge
from flows.credentials import CredentialStore
from flows.settings import load_settings
from flows.store import CredentialStatus, JobState, JobStore
from tests.conftest import free_port, wait_for_http
from tests.fakes.tiktok import FakeTikTok
from tests.prefect_stack import FERNET_KEY

ROOT = Path(__file__).resolve().parents[1]
TIKTOK_SECRET = "tiktok-client-secret-4321"


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FERRY_", "PREFECT_API_URL"))}
    env.update(FERRY_DATA_DIR=str(data_dir), FERRY_SECRET_KEY=FERNET_KEY, PYTHONPATH=str(ROOT), COLUMNS="300", **extra)
    return env


def _login_like_the_readme(fake: FakeTikTok, env: dict[str, str], *extra: str) -> tuple[int, str]:
    """``ferry auth login tiktok --client-id ... --client-secret-env ... --scope ...`` (+ the fake's
    endpoints), following the printed URL like a browser would."""
    base = fake.base_url
    command = [
        sys.executable, "-m", "ferry", "auth", "login", "tiktok", "--client-id", fake.client_key, "--client-secret-env", "TIKTOK_SECRET",
        "--scope", "portability.all.single", "--authorize-url", f"{base}/v2/auth/authorize/", "--token-url", f"{base}/v2/oauth/token/",
        "--revoke-url", f"{base}/v2/oauth/revoke/", "--no-browser", "--timeout", "60", *extra,
    ]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("http"):
                answer = httpx.get(line.strip(), follow_redirects=True, timeout=30)
                lines.append(f"[browser: {answer.status_code}]\n")
                break
        out, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, "".join(lines) + out + err


def test_readme_tiktok_login_with_a_registered_redirect_port_and_hex_pkce(tmp_path):
    port = free_port()
    registered = f"http://127.0.0.1:{port}/callback/"
    with FakeTikTok(client_secret=TIKTOK_SECRET, redirect_uris=(registered,)) as fake:
        fake.login_open_id = "open-4711"
        env = _env(tmp_path / "data", TIKTOK_SECRET=TIKTOK_SECRET, FERRY_OAUTH_REDIRECT_URIS=json.dumps([registered]))
        code, output = _login_like_the_readme(fake, env)
        assert code == 0, output
        assert "of user open-4711" in output and TIKTOK_SECRET not in output
        credential_id = output.split("Stored credential ")[1].split()[0]
        store = CredentialStore.from_settings(load_settings(data_dir=tmp_path / "data", secret_key=FERNET_KEY))
        info = store.get(credential_id)
        assert info.account == "open-4711" and info.config["pkce_encoding"] == "hex"
        assert store.current_token(credential_id).access_token.get_secret_value() in fake._access

        # the same provider refuses what ferry used to send: any port but the registered one, and
        # a base64url challenge (its token endpoint checks the verifier against a hex digest)
        refused, output = _login_like_the_readme(fake, env, "--redirect-port", "0")
        assert refused == 2 and "not in the allowed redirect URIs" in output
        other = _env(tmp_path / "data", TIKTOK_SECRET=TIKTOK_SECRET, FERRY_OAUTH_REDIRECT_URIS=json.dumps([registered]))
        refused, output = _login_like_the_readme(fake, other, "--pkce-encoding", "base64url")
        assert refused != 0 and "code_verifier does not match" in output


def test_redirect_is_taken_from_the_registered_uri():
    assert choose_redirect(["http://127.0.0.1:8765/auth/tiktok"]) == (8765, "/auth/tiktok")
    assert choose_redirect(["http://127.0.0.1/callback"]) == (0, "/callback")
    assert choose_redirect(["https://example.com/cb", "http://127.0.0.1:9999/cb"]) == (9999, "/cb")
    assert choose_redirect(["http://127.0.0.1:8765/callback"], port=0) == (0, "/callback")  # explicit 0: any port
    assert choose_redirect(["http://127.0.0.1:1/a", "http://127.0.0.1:2/b"], path="/b") == (2, "/b")
    assert pkce_challenge("abc", "hex") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    with pytest.raises(ConfigError, match="--pkce-encoding 'plain'"):
        from connectors.oauth import build_client_config

        build_client_config(client_id="x", token_endpoint="http://127.0.0.1:1/t", pkce_encoding="plain")


def test_serve_webhooks_marks_a_removed_authorization_dead(tmp_path):
    """``authorization.removed`` to the real ``ferry serve-webhooks``: the credential of that
    open_id (issued to that app) and its waiting jobs become NEEDS_REAUTH; others are untouched."""
    from connectors.oauth import build_client_config
    from connectors.tiktok.webhooks import SIGNATURE_HEADER, signature_header
    from tests.store_support import put_in_state

    data_dir = tmp_path / "data"
    store = CredentialStore.from_settings(load_settings(data_dir=data_dir, secret_key=FERNET_KEY))
    config = build_client_config(client_id="ck", client_secret="cs", token_endpoint="http://127.0.0.1:9/t")
    removed = store.create("tiktok", {"access_token": "a" * 12, "open_id": "open-1"}, config, account="open-1")
    other_user = store.create("tiktok", {"access_token": "b" * 12}, config, account="open-2")
    other_app = store.create("tiktok", {"access_token": "c" * 12}, build_client_config(client_id="ck2", token_endpoint="http://127.0.0.1:9/t"), account="open-1")
    jobs = JobStore(store.engine)
    waiting = jobs.create(source="tiktok:", destination="folder:/tmp/x", types=["videos"], source_credential_id=removed.id)
    put_in_state(jobs, waiting.id, JobState.WAITING, "TikTok is preparing the data")

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ferry", "serve-webhooks", "--port", str(port), "--client-key", "ck", "--client-secret", "cs"],
        cwd=ROOT, env=_env(data_dir), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout=120, proc=proc)
        fake = FakeTikTok(client_key="ck", client_secret="cs")
        body = fake.webhook_body(0, event="authorization.removed")
        headers = {SIGNATURE_HEADER: signature_header(body, "cs", int(time.time())), "Content-Type": "application/json"}
        answer = httpx.post(f"http://127.0.0.1:{port}/webhooks/tiktok", content=body, headers=headers, timeout=30)
        assert answer.status_code == 200 and answer.json()["status"] == "accepted"
        deadline = time.monotonic() + 120
        while store.get(removed.id).status != CredentialStatus.NEEDS_REAUTH:
            assert proc.poll() is None and time.monotonic() < deadline, "the removal never reached the credential store"
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(60)
    dead = store.get(removed.id)
    assert "removed ferry's authorization" in dead.status_reason and "reason 1" in dead.status_reason
    job = jobs.get(waiting.id)
    assert job.state == JobState.NEEDS_REAUTH and "removed ferry's authorization" in job.state_reason
    assert store.get(other_user.id).status == CredentialStatus.ACTIVE
    assert store.get(other_app.id).status == CredentialStatus.ACTIVE  # another app's grant of that user


def test_reauth_messages_name_the_command_that_fixes_them(tmp_path):
    from connectors.errors import ReauthRequired
    from connectors.oauth import build_client_config
    from flows.reauth import with_reconnect_hint

    store = CredentialStore.from_settings(load_settings(data_dir=tmp_path / "data", secret_key=FERNET_KEY))
    info = store.create("generic", {"access_token": "a" * 12}, build_client_config(client_id="x", token_endpoint="http://127.0.0.1:9/t"))
    store.mark_needs_reauth(info.id, "invalid_grant")
    with pytest.raises(ReauthRequired, match=f"run `ferry reconnect {info.id[:8]}`"):
        store.token_source(info.id).access_token()
    tiktok = "TikTok add call: scope_permission_missed; authorize again granting the needed portability scope"
    assert with_reconnect_hint(tiktok, [info.id, None]) == f"{tiktok}; run `ferry reconnect {info.id[:8]}`"
    assert with_reconnect_hint("needs a credential: run `ferry auth login tiktok`", [info.id]).endswith("`ferry auth login tiktok`")
    assert with_reconnect_hint("refused", []) == "refused"  # no credential: nothing to reconnect
