"""connectors.oauth against the reference OAuth server on 127.0.0.1 (no HTTP mocks)."""

from __future__ import annotations

import socket

import threading

import httpx
import pytest
from fastapi import FastAPI

from connectors.errors import ConfigError, FatalError, ReauthRequired, RetryableError
from connectors.oauth import (
    LoopbackCallback,
    OAuthClient,
    TokenSet,
    authorize_interactively,
    build_client_config,
    discover,
    issuer_of_metadata_url,
    metadata_urls,
    redirect_uri_allowed,
    s256_challenge,
)
from connectors.registry import OAuthSpec
from ferry.servers.destination.oauth_server import OAuthServer, RegisteredClient
from ferry.servers.threaded import ThreadedServer

SECRET = "client-secret-do-not-leak-1234"


def _serve(server: OAuthServer) -> ThreadedServer:
    app = FastAPI()
    app.include_router(server.router)
    return ThreadedServer(app)


@pytest.fixture(scope="module")
def oauth():
    """(OAuthServer, base URL): one confidential and one public client, auto-approving."""
    server = OAuthServer(
        [
            RegisteredClient("ferry", SECRET, redirect_uris=("http://127.0.0.1/callback",)),
            RegisteredClient("public", None, redirect_uris=("http://127.0.0.1/callback",)),
        ]
    )
    with _serve(server) as http:
        yield server, http.url


def _client(base: str, **overrides) -> OAuthClient:
    options = dict(
        client_id="ferry",
        client_secret=SECRET,
        authorization_endpoint=f"{base}/oauth/authorize",
        token_endpoint=f"{base}/oauth/token",
        revocation_endpoint=f"{base}/oauth/revoke",
        scopes=["media:write"],
    )
    options.update(overrides)
    return OAuthClient(build_client_config(**options))


def _browser(url: str) -> None:
    """Stand-in for the user's browser: follow the authorize redirect to the loopback server."""
    response = httpx.get(url, follow_redirects=True, timeout=10)
    assert response.status_code in (200, 400), response.text


def _login(base: str, **overrides) -> TokenSet:
    return authorize_interactively(_client(base, **overrides), open_url=_browser, timeout=10)


# -- pure parts ------------------------------------------------------------------------------------


def test_pkce_s256_matches_rfc7636_appendix_b():
    assert s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_metadata_urls_insert_the_issuer_path():
    assert metadata_urls("https://as.example/tenant1") == [
        "https://as.example/.well-known/oauth-authorization-server/tenant1",
        "https://as.example/.well-known/openid-configuration/tenant1",
        "https://as.example/tenant1/.well-known/openid-configuration",
    ]
    assert metadata_urls("https://as.example/") == [
        "https://as.example/.well-known/oauth-authorization-server",
        "https://as.example/.well-known/openid-configuration",
    ]
    assert issuer_of_metadata_url("https://as.example/.well-known/oauth-authorization-server/tenant1") == "https://as.example/tenant1"
    assert issuer_of_metadata_url("https://as.example/tenant1/.well-known/openid-configuration") == "https://as.example/tenant1"
    assert issuer_of_metadata_url("https://as.example/tenant1") is None


def test_redirect_allowlist_rules():
    assert redirect_uri_allowed("http://127.0.0.1:5555/callback", ["http://127.0.0.1/callback"])
    assert redirect_uri_allowed("http://127.0.0.1:5555/callback", ["http://127.0.0.1:5555/callback"])
    assert not redirect_uri_allowed("http://127.0.0.1:5556/callback", ["http://127.0.0.1:5555/callback"])
    assert not redirect_uri_allowed("http://127.0.0.1:5555/other", ["http://127.0.0.1/callback"])
    assert not redirect_uri_allowed("http://evil.example:5555/callback", ["http://127.0.0.1/callback"])


def test_token_set_parses_string_expiry_and_keeps_refresh_token():
    tokens = TokenSet.from_response({"access_token": "a" * 10, "token_type": "Bearer", "expires_in": "3600"}, previous_refresh_token="r" * 10)
    assert tokens.refresh_token.get_secret_value() == "r" * 10
    assert not tokens.expires_within(60)
    assert "a" * 10 not in repr(tokens) and "r" * 10 not in str(tokens)


# -- discovery ---------------------------------------------------------------------------------------


def test_discovery_from_issuer(oauth):
    server, base = oauth
    metadata = discover(base)
    assert metadata.issuer == base
    assert metadata.token_endpoint == f"{base}/oauth/token"
    config = build_client_config(client_id="ferry", client_secret=SECRET, metadata=metadata, spec=OAuthSpec(scopes=("x",)))
    assert config.revocation_endpoint == f"{base}/oauth/revoke" and config.scopes == ("x",)


def test_discovery_inserts_path_and_falls_back_to_openid():
    server = OAuthServer([RegisteredClient("ferry", SECRET)], prefix="/tenant1", serve_rfc8414=False, serve_openid=True)
    with _serve(server) as http:
        metadata = discover(f"{http.url}/tenant1")
        assert metadata.issuer == f"{http.url}/tenant1"
        assert metadata.authorization_endpoint == f"{http.url}/tenant1/oauth/authorize"


def test_discovery_rejects_an_issuer_mismatch():
    server = OAuthServer([RegisteredClient("ferry", SECRET)], issuer="https://impostor.example")
    with _serve(server) as http:
        with pytest.raises(ConfigError, match="impostor.example.*RFC 8414"):
            discover(http.url)
        with pytest.raises(ConfigError, match="issuer"):
            discover(f"{http.url}/.well-known/oauth-authorization-server")


def test_discovery_reports_what_it_tried(oauth):
    _, base = oauth
    with pytest.raises(ConfigError, match="tried .*/nothing-here"):
        discover(f"{base}/nothing-here")


# -- the authorization code dance ----------------------------------------------------------------


def test_full_login_with_pkce_through_the_loopback(oauth):
    server, base = oauth
    tokens = _login(base)
    assert server.registry.validate(tokens.access_token.get_secret_value()) == "test-user"
    assert tokens.scope == ("media:write",)
    assert server.token_requests[-1] == ("authorization_code", "client_secret_basic")


def test_public_client_login(oauth):
    server, base = oauth
    tokens = _login(base, client_id="public", client_secret=None)
    assert server.registry.validate(tokens.access_token.get_secret_value())
    assert server.token_requests[-1] == ("authorization_code", "none")


def test_authorization_url_carries_state_and_s256(oauth):
    _, base = oauth
    request = _client(base).authorization_request("http://127.0.0.1:1/callback")
    query = httpx.URL(request.url).params
    assert query["code_challenge_method"] == "S256"
    assert query["code_challenge"] == s256_challenge(request.code_verifier.get_secret_value())
    assert query["state"] == request.state and len(request.code_verifier.get_secret_value()) >= 43
    assert request.code_verifier.get_secret_value() not in repr(request)


def test_redirect_uri_not_in_allowlist_is_rejected_before_anything_is_sent(oauth):
    with pytest.raises(ConfigError, match="not in the allowed redirect URIs"):
        LoopbackCallback(port=0, allowed_redirect_uris=["http://127.0.0.1:1/callback"])


def test_server_refuses_unregistered_redirect_without_redirecting(oauth):
    _, base = oauth
    request = _client(base).authorization_request("http://127.0.0.1:1/elsewhere")
    response = httpx.get(request.url, follow_redirects=False)
    assert response.status_code == 400 and "location" not in response.headers


def test_wrong_state_is_refused_and_the_login_keeps_waiting(oauth):
    """A forged callback (wrong or missing state, even one carrying error=) gets 400; the real one still logs in."""
    _, base = oauth
    client = _client(base)
    seen = {}

    def attacker_then_browser(url: str) -> None:
        target = httpx.URL(httpx.get(url, follow_redirects=False).headers["location"])
        callback = target.copy_with(query=None)
        seen["forged"] = [
            httpx.get(target.copy_merge_params({"state": "forged"})).status_code,
            httpx.get(callback, params={"code": "stolen"}).status_code,
            httpx.get(callback, params={"error": "access_denied", "state": "nope"}).status_code,
        ]
        seen["real"] = httpx.get(target).status_code  # the provider's redirect arrives afterwards

    tokens = authorize_interactively(client, open_url=attacker_then_browser, timeout=10)
    assert seen == {"forged": [400, 400, 400], "real": 200}
    assert tokens.access_token.get_secret_value()


def test_wrong_state_callbacks_are_counted_in_the_timeout_message():
    with LoopbackCallback() as callback:
        callback.expect_state("right")
        assert httpx.get(callback.redirect_uri, params={"code": "c", "state": "wrong"}).status_code == 400
        with pytest.raises(ConfigError, match="1 callback\\(s\\) with a wrong state were refused"):
            callback.wait(0.05)
        assert callback.ignored == 1


def test_denied_authorization_is_reported(oauth):
    server = OAuthServer([RegisteredClient("ferry", SECRET)], auto_approve=False)
    with _serve(server) as http:
        client = _client(http.url)

        def deny(url: str) -> None:
            page = httpx.get(url)
            assert "Approve" in page.text
            params = dict(httpx.URL(url).params)
            answer = httpx.post(url.split("?")[0], data={**params, "decision": "deny"}, follow_redirects=True)
            assert answer.status_code == 400

        with pytest.raises(ConfigError, match="access_denied"):
            authorize_interactively(client, open_url=deny, timeout=10)


def test_wrong_verifier_is_invalid_grant(oauth):
    _, base = oauth
    client = _client(base)
    with LoopbackCallback() as callback:
        request = client.authorization_request(callback.redirect_uri)
        callback.expect_state(request.state)
        _browser(request.url)
        code = callback.wait(10).code
    tampered = type(request)(request.url, request.state, type(request.code_verifier)("x" * 50), request.redirect_uri)
    with pytest.raises(ReauthRequired, match="invalid_grant"):
        client.exchange_code(tampered, code)
    with pytest.raises(ReauthRequired, match="invalid_grant"):  # codes are single-use
        client.exchange_code(request, code)


# -- refresh and revocation ------------------------------------------------------------------------


def test_refresh_rotates_and_old_refresh_token_dies(oauth):
    server, base = oauth
    client = _client(base)
    first = _login(base)
    second = client.refresh(first.refresh_token)
    assert second.refresh_token.get_secret_value() != first.refresh_token.get_secret_value()
    assert server.registry.validate(second.access_token.get_secret_value())
    with pytest.raises(ReauthRequired, match="invalid_grant"):
        client.refresh(first.refresh_token)  # replaying a rotated token kills the grant (RFC 9700)
    assert server.registry.validate(second.access_token.get_secret_value()) is None


def test_dtp_style_client_secret_post_refresh(oauth):
    """SPEC §8.1: DTP posts grant_type, client_id, client_secret, refresh_token in the body."""
    server, base = oauth
    tokens = _login(base)
    answer = httpx.post(
        f"{base}/oauth/token",
        content=f"grant_type=refresh_token&client_id=ferry&client_secret={SECRET}&refresh_token={tokens.refresh_token.get_secret_value()}",
        headers={"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["refresh_token"] != tokens.refresh_token.get_secret_value()
    assert server.token_requests[-1] == ("refresh_token", "client_secret_post")
    post = _client(base, token_endpoint_auth_method="client_secret_post")
    post.refresh(body["refresh_token"])
    assert server.token_requests[-1] == ("refresh_token", "client_secret_post")


@pytest.mark.parametrize("error,status", [("invalid_grant", 400), ("session_invalidated", 401)])
def test_refresh_failures_map_to_reauth_required(oauth, error, status):
    server, base = oauth
    tokens = _login(base)
    server.fail_next_refresh(error)
    with pytest.raises(ReauthRequired, match=error) as caught:
        _client(base).refresh(tokens.refresh_token)
    assert tokens.refresh_token.get_secret_value() not in str(caught.value)
    assert SECRET not in str(caught.value)


def test_bad_client_secret_is_a_config_error(oauth):
    _, base = oauth
    tokens = _login(base)
    with pytest.raises(ConfigError, match="invalid_client") as caught:
        _client(base, client_secret="wrong-secret-xyz").refresh(tokens.refresh_token)
    assert "wrong-secret-xyz" not in str(caught.value)


def test_revoke_with_hints_and_unknown_tokens(oauth):
    server, base = oauth
    client = _client(base)
    tokens = _login(base)
    access, refresh = tokens.access_token.get_secret_value(), tokens.refresh_token.get_secret_value()
    before = len(server.registry.revocation_hints)
    assert client.revoke(tokens.refresh_token, "refresh_token") is True
    assert client.revoke(tokens.access_token, "access_token") is True
    assert client.revoke("never-issued", "access_token") is True  # RFC 7009: 200 for unknown tokens
    assert server.registry.revocation_hints[before:] == ["refresh_token", "access_token", "access_token"]
    assert server.revocation_count(refresh) == 1 and server.revocation_count(access) == 1
    assert server.registry.validate(access) is None


def test_revoke_503_is_retryable_with_retry_after(oauth):
    server, base = oauth
    server.fail_next_revoke(503, retry_after=7)
    with pytest.raises(RetryableError) as caught:
        _client(base).revoke("whatever", "access_token")
    assert caught.value.retry_after == 7


def test_unreachable_token_endpoint_is_retryable():
    with socket.socket() as sock:  # a port that was just free: nothing listens there now
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    client = _client(f"http://127.0.0.1:{dead}")
    with pytest.raises(RetryableError):
        client.refresh("r" * 20)


def test_non_json_token_answer_is_fatal(oauth):
    _, base = oauth
    client = _client(base, token_endpoint=f"{base}/.well-known/nothing")
    with pytest.raises(FatalError):
        client.refresh("r" * 20)


def test_client_repr_hides_secret(oauth):
    _, base = oauth
    client = _client(base)
    assert SECRET not in repr(client) and SECRET not in repr(client.config) and SECRET not in str(client.config.model_dump())


def test_loopback_ignores_other_paths_and_answers_once():
    with LoopbackCallback() as callback:
        callback.expect_state("s1")
        assert httpx.get(f"http://127.0.0.1:{callback.port}/favicon.ico").status_code == 404
        assert httpx.get(callback.redirect_uri, params={"code": "c1", "state": "s1"}).status_code == 200
        assert httpx.get(callback.redirect_uri, params={"code": "c2", "state": "s1"}).status_code == 409
        assert callback.wait(5).code.get_secret_value() == "c1"


def test_loopback_timeout_is_a_config_error():
    with LoopbackCallback() as callback:
        with pytest.raises(ConfigError, match="no authorization arrived"):
            callback.wait(0.05)


def test_concurrent_logins_get_distinct_ports(oauth):
    _, base = oauth
    results: list[TokenSet] = []
    threads = [threading.Thread(target=lambda: results.append(_login(base))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({t.access_token.get_secret_value() for t in results}) == 3


def test_public_names_are_curated():
    import types

    import connectors.oauth as package

    public = {n for n, v in vars(package).items() if not n.startswith("_") and not isinstance(v, types.ModuleType)}
    assert public - {"annotations"} == set(package.__all__)


def test_token_registry_validate_and_expire():
    from ferry.servers.destination.tokens import TokenRegistry

    registry = TokenRegistry(access_lifetime=60)
    answer = registry.issue("alice", client_id="c", scope=("x",))
    assert registry.validate(answer["access_token"]) == "alice"
    assert registry.validate("unknown") is None
    registry.expire_access_tokens()
    assert registry.validate(answer["access_token"]) is None
    rotated = registry.rotate(answer["refresh_token"], client_id="c")
    assert registry.validate(rotated["access_token"]) == "alice"
    assert registry.rotate(answer["refresh_token"], client_id="c") is None  # replay: grant revoked
    assert registry.validate(rotated["access_token"]) is None
    assert "at_" not in repr(registry)
