"""The interactive login: loopback receiver + authorization URL + code exchange, in one call."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ._client import OAuthClient
from ._loopback import DEFAULT_REDIRECT_URIS, LoopbackCallback, choose_redirect
from ._tokens import TokenSet

__all__ = ["authorize_interactively"]


def authorize_interactively(
    client: OAuthClient,
    *,
    open_url: Callable[[str], object],
    port: int | None = None,
    path: str | None = None,
    allowed_redirect_uris: Sequence[str] = DEFAULT_REDIRECT_URIS,
    scopes: Sequence[str] | None = None,
    timeout: float = 300.0,
) -> TokenSet:
    """Run the authorization code flow with PKCE through a loopback redirect.

    Starts the receiver on 127.0.0.1 (``port`` and ``path``, or what the allowlist's registered
    redirect URI names: :func:`choose_redirect`; checking the redirect URI against it), builds
    the authorization URL with a fresh ``state`` and verifier, hands the URL to ``open_url``
    (print it, open a browser, or — in tests — follow it with httpx), waits for the redirect,
    checks ``state`` and exchanges the code.

    Raises:
        ConfigError: redirect URI not allowed, state mismatch, provider refused, timeout.
        ReauthRequired: the token endpoint rejected the code or verifier (invalid_grant).
        RetryableError: the token endpoint was unreachable or answered 429/5xx.
    """
    port, path = choose_redirect(allowed_redirect_uris, port=port, path=path)
    with LoopbackCallback(port=port, path=path, allowed_redirect_uris=allowed_redirect_uris) as callback:
        request = client.authorization_request(callback.redirect_uri, scopes=scopes)
        callback.expect_state(request.state)
        open_url(request.url)
        result = callback.wait(timeout)
    return client.exchange_code(request, result.code)
