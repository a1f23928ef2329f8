"""The token source connectors receive: the credential store behind :class:`connectors.auth.TokenSource`."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from connectors.errors import RetryableError
from connectors.oauth import TokenSet

from .credentials import REFRESH_SKEW_SECONDS, CredentialStore, RefreshRefused
from .store.tables import utcnow

__all__ = ["DbTokenSource"]

log = logging.getLogger(__name__)


class DbTokenSource:
    """:class:`connectors.auth.TokenSource` over the credential store, shareable between threads.

    ``access_token()`` serves a cached token until it is within ``skew`` seconds of expiring (or
    the user's access ends, ``grant_expires_at``), then re-reads the store (another worker may
    have refreshed) and refreshes only if still needed. A refused proactive refresh
    (:class:`~flows.credentials.RefreshRefused`) or a transient token-endpoint failure while the
    token is still valid keeps serving that token: the refusal is remembered for that token (no
    second call to the token endpoint for it before it expires), a transient failure is retried
    after its ``retry_after`` (default 5 s). Only an expired token, or ended access, raises.
    ``refresh(rejected)`` is for a 401: it refreshes only if ``rejected`` is still the stored
    token, and a refusal then is final (NEEDS_REAUTH).

    Args:
        clock: the current time (aware UTC); tests inject one instead of sleeping.
    """

    #: Seconds before retrying a proactive refresh that failed transiently (no Retry-After).
    RETRY_SECONDS = 5.0

    def __init__(self, store: CredentialStore, credential_id: str, *, skew: float = REFRESH_SKEW_SECONDS, clock: Callable[[], datetime] | None = None):
        self.store = store
        self.credential_id = credential_id
        self.skew = skew
        self._clock = clock or utcnow
        self._cached: TokenSet | None = None
        self._access_ends: datetime | None = None
        self._hold: tuple[str, datetime | None] | None = None  # (access token, retry at; None = never)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"DbTokenSource(credential={self.credential_id!r})"

    @property
    def scopes(self) -> tuple[str, ...]:
        """The scopes the user granted (lets a connector check consent before any call)."""
        return tuple(self.store.get(self.credential_id).scopes)

    def access_token(self) -> str:
        with self._lock:
            now = self._clock()
            cached = self._cached
            ended = self._access_ends is not None and self._access_ends <= now
            if cached is not None and not ended and not cached.expires_within(self.skew, now=now):
                return cached.access_token.get_secret_value()
            tokens, self._access_ends = self.store.usable_token(self.credential_id, now=now)
            if tokens.expires_within(self.skew, now=now) and not self._holding(tokens, now):
                tokens = self._refresh_proactively(tokens, now)
            self._cached = tokens
            return tokens.access_token.get_secret_value()

    def _holding(self, tokens: TokenSet, now: datetime) -> bool:
        """True while a still-valid token whose refresh failed is served without asking again."""
        if self._hold is None or tokens.expires_within(0, now=now):
            return False
        token, retry_at = self._hold
        return token == tokens.access_token.get_secret_value() and (retry_at is None or now < retry_at)

    def _refresh_proactively(self, tokens: TokenSet, now: datetime) -> TokenSet:
        try:
            fresh = self.store.refresh_token(self.credential_id, skew=self.skew, now=now)
        except RefreshRefused as refused:
            self._hold = (refused.token.access_token.get_secret_value(), None)
            return refused.token
        except RetryableError as exc:
            if tokens.expires_within(0, now=now):
                raise
            wait = exc.retry_after if exc.retry_after is not None else self.RETRY_SECONDS
            self._hold = (tokens.access_token.get_secret_value(), now + timedelta(seconds=wait))
            log.warning("refreshing credential %s failed transiently (%s); using the still-valid token", self.credential_id, exc)
            return tokens
        self._hold = None
        return fresh

    def refresh(self, rejected: str) -> str:
        with self._lock:
            tokens = self.store.refresh_token(self.credential_id, rejected=rejected, skew=self.skew, now=self._clock())
            self._cached = tokens
            self._hold = None
            return tokens.access_token.get_secret_value()
