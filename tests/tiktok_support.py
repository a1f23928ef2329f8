"""Helpers for TikTok tests that run the real flow against the fake service."""

from __future__ import annotations

import pytest

from connectors.oauth import build_client_config
from connectors.tiktok import CONNECTOR as TIKTOK
from flows.credentials import CredentialStore
from flows.settings import load_settings
from tests.fakes.tiktok import FakeTikTok

__all__ = ["ferry_home", "tiktok_credential", "tiktok_options", "files_under"]


@pytest.fixture
def ferry_home(tmp_path, monkeypatch):
    monkeypatch.setenv("FERRY_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def tiktok_credential(fake: FakeTikTok, scopes=("portability.all.single",)) -> str:
    """A stored credential for a fresh grant at the fake, with every endpoint at the fake (so
    ``ferry reconnect`` can authorize it again through the fake's consent page)."""
    access, refresh = fake.issue_token(scopes=scopes)
    store = CredentialStore.from_settings(load_settings())
    client = build_client_config(
        client_id=fake.client_key,
        client_secret=fake.client_secret,
        spec=TIKTOK.oauth,
        authorization_endpoint=f"{fake.base_url}/v2/auth/authorize/",
        token_endpoint=f"{fake.base_url}/v2/oauth/token/",
        revocation_endpoint=f"{fake.base_url}/v2/oauth/revoke/",
        scopes=scopes,
    )
    token = {"access_token": access, "refresh_token": refresh, "token_type": "Bearer", "expires_in": 86400, "scope": ",".join(scopes)}
    return store.create("tiktok", token, client, label="fake tiktok", account="open-1").id


def tiktok_options(fake: FakeTikTok, **extra) -> dict:
    return {"tiktok": {"api_base": fake.base_url, "poll_interval": "0", "max_poll_interval": "0", **extra}}


def files_under(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
