"""The fake TikTok's OAuth side behaves like Login Kit (other tests build on it)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from tests.fakes.tiktok import FakeTikTok


def test_authorize_exchange_refresh_rotates_and_revoke():
    with FakeTikTok() as fake, httpx.Client(base_url=fake.base_url) as http:
        resp = http.get(
            "/v2/auth/authorize/",
            params={
                "client_key": fake.client_key,
                "scope": "portability.activity.single",
                "response_type": "code",
                "redirect_uri": "https://ferry.example/cb",
                "state": "s1",
            },
        )
        assert resp.status_code == 302
        query = parse_qs(urlsplit(resp.headers["location"]).query)
        assert query["state"] == ["s1"]
        form = {"client_key": fake.client_key, "client_secret": fake.client_secret}
        token = http.post(
            "/v2/oauth/token/",
            data={**form, "grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": "https://ferry.example/cb"},
        ).json()
        assert token["scope"] == "portability.activity.single" and token["open_id"] == "open-1"
        refreshed = http.post("/v2/oauth/token/", data={**form, "grant_type": "refresh_token", "refresh_token": token["refresh_token"]}).json()
        assert refreshed["refresh_token"] != token["refresh_token"]
        reused = http.post("/v2/oauth/token/", data={**form, "grant_type": "refresh_token", "refresh_token": token["refresh_token"]})
        assert reused.json()["error"] == "invalid_grant"  # rotated: the old refresh token is dead
        assert http.post("/v2/oauth/revoke/", data={**form, "token": refreshed["access_token"]}).status_code == 200
        check = http.post(
            "/v2/user/data/check/",
            json={"request_id": 1},
            headers={"Authorization": f"Bearer {refreshed['access_token']}"},
        )
        assert check.status_code == 401 and check.json()["error"]["code"] == "access_token_invalid"
        bad = http.post("/v2/oauth/token/", data={**form, "client_secret": "nope", "grant_type": "refresh_token"})
        assert bad.status_code == 401
