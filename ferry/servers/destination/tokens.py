"""The reference server's token book: which access tokens are valid, for whom, until when.

Shared by the OAuth authorization server (:mod:`ferry.servers.destination.oauth_server`, which issues,
rotates and revokes) and the Generic Importer API (which only calls :meth:`TokenRegistry.validate`
on each ``Authorization: Bearer`` header). In memory and thread-safe; a restart forgets every
token, which is what a test server wants.

Rotation follows RFC 9700 §4.14.2: every refresh retires the refresh token it used, and
presenting a retired one again revokes the whole grant (a replayed refresh token means it
leaked, or a client lost a rotation — exactly the bug ferry's credential store must not have).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

__all__ = ["TokenRegistry"]


@dataclass
class _Grant:
    account: str
    client_id: str
    scope: tuple[str, ...]
    access: set[str] = field(default_factory=set)
    refresh: str | None = None
    revoked: bool = False


class TokenRegistry:
    """Issued tokens, in memory.

    Args:
        access_lifetime: seconds an access token lives (``expires_in``); change it at any time.
        access_uses: requests an access token is good for (None: no limit), a short-lived token
            that does not depend on the clock: the next request gets ``401 invalid_token``.
    """

    def __init__(self, access_lifetime: float = 3600.0, *, access_uses: int | None = None):
        self.access_lifetime = access_lifetime
        self.access_uses = access_uses
        self._uses: Counter[str] = Counter()
        self.revocations: Counter[str] = Counter()  # token -> revocation requests received
        self.revocation_hints: list[str | None] = []  # token_type_hint of each request, in order
        self._lock = threading.Lock()
        self._grants: dict[int, _Grant] = {}
        self._access: dict[str, tuple[int, float]] = {}  # token -> (grant, expires at, epoch s)
        self._refresh: dict[str, int] = {}  # current refresh token -> grant
        self._retired: dict[str, int] = {}  # rotated-away refresh token -> grant

    def __repr__(self) -> str:
        return f"TokenRegistry(grants={len(self._grants)})"

    def validate(self, access_token: str) -> str | None:
        """The account an unexpired, unrevoked access token belongs to, else None (-> 401)."""
        with self._lock:
            found = self._access.get(access_token)
            if found is None:
                return None
            grant_id, expires = found
            grant = self._grants[grant_id]
            if grant.revoked or expires <= time.time():
                return None
            if self.access_uses is not None:
                self._uses[access_token] += 1
                if self._uses[access_token] > self.access_uses:
                    return None
            return grant.account

    def issue(self, account: str, *, client_id: str, scope: tuple[str, ...] = ()) -> dict:
        """Start a grant and return its token response (access + refresh token)."""
        with self._lock:
            grant_id = len(self._grants) + 1
            self._grants[grant_id] = _Grant(account=account, client_id=client_id, scope=tuple(scope))
            return self._mint(grant_id)

    def rotate(self, refresh_token: str, *, client_id: str) -> dict | None:
        """Refresh with rotation: a new access and refresh token, the old refresh token retired.

        Returns None (the caller answers ``invalid_grant``) for unknown, revoked or foreign
        tokens; a retired token additionally revokes its grant.
        """
        with self._lock:
            if refresh_token in self._retired:
                self._revoke_grant(self._retired[refresh_token])
                return None
            grant_id = self._refresh.get(refresh_token)
            if grant_id is None:
                return None
            grant = self._grants[grant_id]
            if grant.revoked or grant.client_id != client_id:
                return None
            del self._refresh[refresh_token]
            self._retired[refresh_token] = grant_id
            return self._mint(grant_id)

    def revoke(self, token: str, token_type_hint: str | None = None) -> None:
        """RFC 7009: revoke an access or refresh token (a refresh token kills its whole grant).

        Unknown tokens are fine (the endpoint still answers 200); every call is counted.
        """
        with self._lock:
            self.revocations[token] += 1
            self.revocation_hints.append(token_type_hint)
            if token in self._refresh:
                self._revoke_grant(self._refresh[token])
            elif token in self._access:
                grant_id, _ = self._access[token]
                self._grants[grant_id].access.discard(token)
                del self._access[token]

    def expire_access_tokens(self) -> None:
        """Make every issued access token expired now (the next API call gets 401)."""
        with self._lock:
            self._access = {token: (grant, 0.0) for token, (grant, _) in self._access.items()}

    def refresh_token_valid(self, refresh_token: str) -> bool:
        """True when ``refresh_token`` is the current, unrevoked one of its grant (tests)."""
        with self._lock:
            grant_id = self._refresh.get(refresh_token)
            return grant_id is not None and not self._grants[grant_id].revoked

    # -- internals (lock held) --------------------------------------------------------------------

    def _mint(self, grant_id: int) -> dict:
        grant = self._grants[grant_id]
        access = "at_" + secrets.token_urlsafe(24)
        refresh = "rt_" + secrets.token_urlsafe(24)
        self._access[access] = (grant_id, time.time() + self.access_lifetime)
        grant.access.add(access)
        grant.refresh = refresh
        self._refresh[refresh] = grant_id
        answer = {"access_token": access, "token_type": "Bearer", "expires_in": int(self.access_lifetime), "refresh_token": refresh}
        if grant.scope:
            answer["scope"] = " ".join(grant.scope)
        return answer

    def _revoke_grant(self, grant_id: int) -> None:
        grant = self._grants[grant_id]
        grant.revoked = True
        for token in grant.access:
            self._access.pop(token, None)
        grant.access.clear()
        if grant.refresh:
            self._refresh.pop(grant.refresh, None)
