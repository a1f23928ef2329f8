"""The one thing connectors know about credentials: a token source.

The credential store lives in ``flows/`` (encrypted, shared between workers); connectors receive
an object with this shape in ``ConnectorContext.auth`` and never see the store, the database or
the refresh token. Neither method's result may be logged.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["TokenSource", "StaticTokenSource"]


@runtime_checkable
class TokenSource(Protocol):
    def access_token(self) -> str:
        """Return a currently valid access token, refreshing first when it is about to expire.

        Raises:
            ReauthRequired: the credential is dead and the user must authorize again.
        """

    def refresh(self, rejected: str) -> str:
        """The destination rejected ``rejected`` (401 invalid_token): return a fresh token.

        Implementations refresh only if ``rejected`` is still the stored token (another worker
        may have rotated it already) and persist rotated refresh tokens atomically.

        Raises:
            ReauthRequired: refresh failed for good (invalid_grant, session_invalidated).
        """


class StaticTokenSource:
    """A fixed token that cannot be refreshed (tests, manual runs)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def access_token(self) -> str:
        return self._token

    def refresh(self, rejected: str) -> str:
        from .errors import ReauthRequired

        raise ReauthRequired("this credential cannot be refreshed; authorize again")

    def __repr__(self) -> str:
        return "StaticTokenSource(<hidden>)"
