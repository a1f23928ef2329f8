"""Where ``ferry conformance`` gets its access tokens: a fixed token, or one it can refresh.

A destination whose tokens live minutes (or a few requests) would fail a long run with a fixed
token; a false failure, since the destination is right to refuse an expired token. So besides a
fixed token the runner takes a refresh token (with the client and token endpoint that can use
it) or a credential stored by ``ferry auth login`` (``flows``' credential store, which persists
rotated refresh tokens); both refresh once on ``401 invalid_token`` through
:class:`connectors.http.RefreshOnce`, like a transfer does.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from pydantic import SecretStr

from connectors.oauth import OAuthClient, TokenSet

__all__ = ["RefreshTokenSource"]

#: Refresh this many seconds before the access token's announced expiry.
SKEW_SECONDS = 30.0


class RefreshTokenSource:
    """A :class:`~connectors.auth.TokenSource` built from a refresh token, kept in memory.

    The first :meth:`access_token` call refreshes (a refresh token alone carries no access
    token); later calls refresh when the token is about to expire. A rotated refresh token
    replaces the old one at once (the server may retire the old one). Thread-safe; never shows
    a token in ``repr``.

    Args:
        client: the OAuth client whose token endpoint accepts ``refresh_token``.
        refresh_token: the refresh token of a test account.
    """

    def __init__(self, client: OAuthClient, refresh_token: SecretStr | str):
        self._client = client
        self._refresh = refresh_token if isinstance(refresh_token, SecretStr) else SecretStr(refresh_token)
        self._tokens: TokenSet | None = None
        self._lock = threading.Lock()
        self.refreshes = 0

    def __repr__(self) -> str:
        return f"RefreshTokenSource({self._client.config.token_endpoint}, <tokens hidden>)"

    def access_token(self) -> str:
        with self._lock:
            if self._tokens is None or self._tokens.expires_within(SKEW_SECONDS, now=datetime.now(UTC)):
                self._renew()
            assert self._tokens is not None
            return self._tokens.access_token.get_secret_value()

    def refresh(self, rejected: str) -> str:
        with self._lock:
            if self._tokens is None or self._tokens.access_token.get_secret_value() == rejected:
                self._renew()
            assert self._tokens is not None
            return self._tokens.access_token.get_secret_value()

    def _renew(self) -> None:
        tokens = self._client.refresh(self._refresh)
        self.refreshes += 1
        if tokens.refresh_token is not None:
            self._refresh = tokens.refresh_token
        self._tokens = tokens
