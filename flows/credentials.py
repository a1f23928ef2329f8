"""The credential store: OAuth tokens encrypted at rest, shared safely between workers.

Rows are :class:`~flows.store.tables.Credential`, written only through
:class:`~flows.store.credential_rows.CredentialRows` (its table of allowed status changes); the
ciphertext (Fernet, :mod:`flows.crypto`) holds a versioned :class:`~flows.token_payload.TokenPayload`
(tokens and client secret), the clear columns only what ``ferry auth list`` shows (connector,
label, the provider's user id, status, expiries) and the public client config.

Concurrency, the reason this module exists (DTP keeps refreshed tokens in memory and loses them;
rclone's ``oauthutil.TokenSource`` re-reads its config before refreshing):

* A refresh runs with the credential row locked (:meth:`CredentialRows.locked`) and first
  re-reads the row: if another worker already refreshed (the access token is no longer the
  rejected one, or no longer expiring), its token is used and the token endpoint is not called.
  So a rotating server sees each refresh token exactly once, and the rotated one is stored
  before the lock is released. Every write also compare-and-swaps ``Credential.version``.
* A refresh that fails for good (invalid_grant, session_invalidated) moves the credential and
  every waiting job using it to NEEDS_REAUTH with the reason, instead of failing items, but only
  once the access token is of no use: a *proactive* refresh (the token still valid, inside the
  skew) that is refused raises :class:`RefreshRefused` and changes nothing, and
  :class:`~flows.token_source.DbTokenSource` keeps serving the still-valid token until it really
  expires (or the destination answers 401).
* Access that ends at a known time (``grant_expires_at``, from an expiry notice or the
  provider's answer, :mod:`flows.expiry`) ends there: the first token use after it moves the
  credential and its jobs to NEEDS_REAUTH with "access ended at T", instead of letting the
  provider answer an opaque 403.
* Revocation is crash-safe (REVOKING before the provider is called, REVOKED after it answered):
  :mod:`flows.revocation`.

Every message that needs a new authorization names the command that fixes it
(:func:`flows.reauth.reconnect_hint`). Nothing here logs or raises a token or the client secret.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from connectors.errors import ReauthRequired
from connectors.oauth import ClientConfig, OAuthClient, TokenSet

from .crypto import TokenCipher
from .reauth import reconnect_hint
from .store.credential_rows import GONE, CredentialRows, CredentialUsers
from .store.tables import Credential, CredentialStatus, as_utc, utcnow
from .token_payload import TokenPayload

__all__ = [
    "CredentialInfo",
    "CredentialStore",
    "CredentialUsers",
    "REFRESH_SKEW_SECONDS",
    "RefreshRefused",
    "access_ended",
]

log = logging.getLogger(__name__)

#: Refresh this many seconds before the access token expires.
REFRESH_SKEW_SECONDS = 60.0


class RefreshRefused(ReauthRequired):
    """A proactive refresh was refused for good, but the stored access token is still valid.

    Nothing was changed: the credential stays ACTIVE and the token may be used until
    ``valid_until`` (None: no known expiry, use it until the provider answers 401).
    """

    def __init__(self, message: str, *, token: TokenSet):
        super().__init__(message)
        self.token = token
        self.valid_until = token.expires_at


def access_ended(ends_at: datetime) -> str:
    """The reason a credential and its transfers carry once the user's access has ended."""
    return f"access ended at {as_utc(ends_at):%Y-%m-%d %H:%M} UTC"


@dataclass(frozen=True)
class CredentialInfo:
    """What may be shown about a credential: never a token, never the secret."""

    id: str
    connector: str
    label: str | None
    account: str | None
    status: CredentialStatus
    status_reason: str | None
    scopes: tuple[str, ...]
    version: int
    access_expires_at: datetime | None
    refresh_expires_at: datetime | None
    last_refreshed_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime
    config: Mapping[str, Any]
    grant_expires_at: datetime | None = None
    grant_source: str | None = None
    grant_checked_at: datetime | None = None
    grant_reminded_days: float | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_row(cls, row: Credential) -> CredentialInfo:
        return cls(
            id=row.id,
            connector=row.connector,
            label=row.label,
            account=row.account,
            status=CredentialStatus(row.status),
            status_reason=row.status_reason,
            scopes=tuple(row.scopes or ()),
            version=row.version,
            access_expires_at=row.access_expires_at,
            refresh_expires_at=row.refresh_expires_at,
            last_refreshed_at=row.last_refreshed_at,
            revoked_at=row.revoked_at,
            created_at=row.created_at,
            config=dict(row.config or {}),
            grant_expires_at=as_utc(row.grant_expires_at),
            grant_source=row.grant_source,
            grant_checked_at=as_utc(row.grant_checked_at),
            grant_reminded_days=row.grant_reminded_days,
            updated_at=as_utc(row.updated_at),
        )


def _token_of(value: Mapping[str, Any] | TokenSet) -> TokenSet:
    return value if isinstance(value, TokenSet) else TokenSet.from_response(value)


class CredentialStore:
    """Encrypted OAuth credentials in the job store.

    Args:
        engine: the job store's engine (SQLite or PostgreSQL).
        cipher: encrypts and decrypts the token payloads (:func:`flows.crypto.cipher_from_settings`).
        refresh_skew: refresh this many seconds before the access token expires.
        timeout: seconds per request to token, revocation and user-info endpoints.
        http_options: extra ``httpx.Client`` arguments for those requests (``verify``, ``proxy``).
    """

    def __init__(
        self,
        engine: Engine,
        cipher: TokenCipher,
        *,
        refresh_skew: float = REFRESH_SKEW_SECONDS,
        timeout: float = 20.0,
        http_options: Mapping[str, Any] | None = None,
    ):
        self.engine = engine
        self.rows = CredentialRows(engine)
        self.cipher = cipher
        self.refresh_skew = refresh_skew
        self.timeout = timeout
        self.http_options = dict(http_options or {})

    @classmethod
    def from_settings(cls, settings, **options: Any) -> CredentialStore:
        from .context import open_context
        from .crypto import cipher_from_settings

        return cls(open_context(settings).engine, cipher_from_settings(settings), **options)

    def __repr__(self) -> str:
        return f"CredentialStore({self.engine.url!r})"

    # -- reading ----------------------------------------------------------------------------------

    def get(self, credential_id: str) -> CredentialInfo:
        """The credential with this id (or unique id prefix); ConfigError when there is none."""
        return CredentialInfo.from_row(self.rows.get(credential_id))

    def list(self, *, connector: str | None = None, status: CredentialStatus | None = None) -> list[CredentialInfo]:
        """All credentials, newest first, optionally of one connector or status."""
        return [CredentialInfo.from_row(r) for r in self.rows.list(connector=connector, statuses=[status] if status else None)]

    def users(self, credential_id: str) -> CredentialUsers:
        """Who still needs the credential (what keeps :meth:`revoke_if_unused` from revoking)."""
        return self.rows.users(credential_id)

    def token_source(self, credential_id: str, *, skew: float | None = None, clock: Callable[[], datetime] | None = None):
        """A :class:`connectors.auth.TokenSource` for connectors (checks the id exists now)."""
        from .token_source import DbTokenSource

        info = self.get(credential_id)
        return DbTokenSource(self, info.id, skew=self.refresh_skew if skew is None else skew, clock=clock)

    def client_for(self, credential_id: str) -> OAuthClient:
        """The OAuth client the credential was issued to (secret decrypted from the row)."""
        row = self.rows.get(credential_id)
        return self.client(row, self.payload(row))

    # -- writing ----------------------------------------------------------------------------------

    def create(
        self,
        connector: str,
        token: Mapping[str, Any] | TokenSet,
        client: ClientConfig,
        *,
        label: str | None = None,
        account: str | None = None,
    ) -> CredentialInfo:
        """Store a new ACTIVE credential from a token endpoint answer (or a :class:`TokenSet`).

        ``account`` is the provider's user id (expiry notices and removal webhooks name it);
        without it, the one the token answer carried is used.
        """
        tokens = _token_of(token)
        row = Credential(
            connector=connector,
            label=label,
            account=account or tokens.account,
            token_ciphertext=self.encrypt(TokenPayload(token=tokens, client_secret=client.client_secret)),
            scopes=list(tokens.scope or client.scopes),
            config=client.public_dict(),
            access_expires_at=tokens.expires_at,
            refresh_expires_at=tokens.refresh_expires_at,
        )
        self.rows.add(row)
        log.info("stored credential %s for %s", row.id, connector)
        return CredentialInfo.from_row(row)

    def replace_tokens(
        self,
        credential_id: str,
        token: Mapping[str, Any] | TokenSet,
        *,
        client: ClientConfig | None = None,
        account: str | None = None,
    ) -> CredentialInfo:
        """Re-authorization in place: new tokens (and optionally client), same id, status ACTIVE.

        A new grant: what was known about the old one's end (notices, reminders sent) is
        forgotten, and the provider's user id is recorded again (the user may have reconnected
        with another account that still has access). Jobs moved to NEEDS_REAUTH keep that state
        until they are resumed (:func:`flows.reauth.resume_after_reauth`).

        Raises:
            IllegalCredentialTransition: the credential is being revoked or revoked.
        """
        tokens = _token_of(token)
        with self.rows.locked(credential_id) as (session, row):
            payload = self.payload(row)
            secret = client.client_secret if client is not None else payload.client_secret
            values: dict[str, Any] = {
                "token_ciphertext": self.encrypt(TokenPayload(token=tokens, client_secret=secret)),
                "scopes": list(tokens.scope or row.scopes),
                "revoked_at": None,
                "access_expires_at": tokens.expires_at,
                "refresh_expires_at": tokens.refresh_expires_at,
                "grant_expires_at": None,
                "grant_source": None,
                "grant_reminded_days": None,
            }
            if client is not None:
                values["config"] = client.public_dict()
            if account or tokens.account:
                values["account"] = account or tokens.account
            written = self.rows.transition(row.id, CredentialStatus.ACTIVE, None, session=session, **values)
            if written is None:  # impossible under the lock
                raise RuntimeError(f"credential {row.id} changed while locked; tokens not replaced")
            session.commit()
        log.info("replaced the tokens of credential %s", written.id)
        return CredentialInfo.from_row(written)

    def mark_needs_reauth(self, credential_id: str, reason: str, *, expected_version: int | None = None) -> builtins.list[str]:
        """Move the credential (if ACTIVE) and every waiting job using it to NEEDS_REAUTH.

        RUNNING jobs are left to their runner (as in :func:`flows.reauth.credential_died`): its
        next token use raises ReauthRequired, and it saves its cursor and stops itself.
        With ``expected_version``, nothing changes when the row moved on meanwhile (someone
        re-authorized). Returns the ids of the jobs moved. Idempotent.
        """
        moved = self.rows.needs_reauth(credential_id, reason, expected_version=expected_version)
        if moved is not None:
            log.warning("credential %s needs a new authorization (%s); jobs moved: %s", credential_id, reason, ", ".join(moved) or "none")
        return moved or []

    def set_account(self, credential_id: str, account: str | None) -> None:
        """Record the provider's user id (what expiry notices and removal webhooks name)."""
        self.rows.set_account(credential_id, account)

    # -- revocation (flows/revocation.py) ---------------------------------------------------------

    def revoke_if_unused(self, credential_id: str) -> bool:
        """Revoke (RFC 7009) when no non-final job and no recurring transfer uses the credential.

        Returns True only for the one call that revoked it. See :func:`flows.revocation.revoke`.
        """
        return self.revoke(credential_id, force=False)

    def revoke(self, credential_id: str, *, force: bool = False) -> bool:
        """Revoke at the provider and delete the tokens; see :func:`flows.revocation.revoke`."""
        from .revocation import revoke

        return revoke(self, credential_id, force=force)

    def finish_revocation(self, credential_id: str) -> bool:
        """Finish a revocation left REVOKING (a crash, an unreachable provider); see :mod:`flows.revocation`."""
        from .revocation import finish

        return finish(self, credential_id)

    # -- tokens -----------------------------------------------------------------------------------

    def current_token(self, credential_id: str, *, now: datetime | None = None) -> TokenSet:
        """The stored token of an ACTIVE credential (no refresh). ReauthRequired otherwise."""
        return self.usable_token(credential_id, now=now)[0]

    def usable_token(self, credential_id: str, *, now: datetime | None = None) -> tuple[TokenSet, datetime | None]:
        """The stored token and when the user's access ends (None: not known).

        Raises:
            ReauthRequired: the credential is not ACTIVE, holds no token, or its access ended
                (then it and its waiting jobs become NEEDS_REAUTH with "access ended at T").
        """
        row = self.rows.get(credential_id)
        ended = self._ended(row, now or utcnow())
        if ended is not None:
            raise ended
        return self._active_token(row), as_utc(row.grant_expires_at)

    def refresh_token(
        self,
        credential_id: str,
        *,
        rejected: str | None = None,
        skew: float | None = None,
        force: bool = False,
        now: datetime | None = None,
    ) -> TokenSet:
        """Refresh under the row lock unless another worker already did (see the module docstring).

        Refreshes when the stored access token is ``rejected`` or, without ``rejected``, when it
        expires within ``skew`` seconds of ``now`` (or always, with ``force``: keep-alive
        refreshes of tokens without a known expiry); otherwise returns the stored token untouched.

        Raises:
            RefreshRefused: a proactive refresh (no ``rejected``) was refused for good while the
                stored access token is still valid at ``now``; nothing changed.
            ReauthRequired: the credential is not ACTIVE, its access ended, or the refresh failed
                for good and the token is of no further use (expired, or ``rejected`` by the
                API): the credential and its jobs are then NEEDS_REAUTH.
            RetryableError: the token endpoint failed transiently (nothing changed).
        """
        skew = self.refresh_skew if skew is None else skew
        now = now or utcnow()
        failure: ReauthRequired | None = None
        with self.rows.locked(credential_id) as (session, row):
            cid, version = row.id, row.version
            ended = self._ended(row, now, mark=False)
            if ended is None:
                tokens = self._active_token(row)
                needed = tokens.access_token.get_secret_value() == rejected if rejected is not None else force or tokens.expires_within(skew, now=now)
                if not needed:
                    return tokens
                if tokens.refresh_token is None:
                    failure = ReauthRequired(f"credential {cid[:8]} has no refresh token")
                else:
                    payload = self.payload(row)
                    try:
                        fresh = self.client(row, payload).refresh(tokens.refresh_token)
                    except ReauthRequired as exc:
                        failure = ReauthRequired(f"credential {cid[:8]}: {exc}")
                    else:
                        self.rows.save_tokens(
                            session,
                            row,
                            ciphertext=self.encrypt(payload.with_token(fresh)),
                            access_expires_at=fresh.expires_at,
                            refresh_expires_at=fresh.refresh_expires_at,
                        )
                        session.commit()
                        log.info("refreshed credential %s", cid)
                        return fresh
            session.rollback()
        if ended is not None:  # marked outside the lock: marking takes the write lock itself
            self._ended(self.rows.get(cid), now)
            raise ended
        if rejected is None and not tokens.expires_within(0, now=now):
            until = f"until {tokens.expires_at:%Y-%m-%d %H:%M:%S} UTC" if tokens.expires_at else "until the provider rejects it"
            log.warning("%s; the access token stays in use %s", failure, until)
            raise RefreshRefused(f"{failure} (the access token stays valid {until}); {reconnect_hint(cid)}", token=tokens)
        message = str(failure)
        if rejected is None and tokens.expires_at is not None:
            message += f"; the access token expired at {tokens.expires_at:%Y-%m-%d %H:%M:%S} UTC"
        self.mark_needs_reauth(cid, message, expected_version=version)
        raise ReauthRequired(f"{message}; {reconnect_hint(cid)}")

    # -- internals shared with flows/revocation.py and flows/expiry.py -----------------------------

    def payload(self, row: Credential) -> TokenPayload:
        """The decrypted payload of ``row``, whatever version it was written in."""
        what = f"credential {row.id}"
        return TokenPayload.read(self.cipher.decrypt(row.token_ciphertext, what=what), what=what)

    def encrypt(self, payload: TokenPayload) -> str:
        """The ciphertext of ``payload`` in the current payload version."""
        return self.cipher.encrypt(payload.dump())

    def client(self, row: Credential, payload: TokenPayload) -> OAuthClient:
        config = ClientConfig.model_validate({**(row.config or {}), "client_secret": payload.secret_value})
        return OAuthClient(config, timeout=self.timeout, http_options=self.http_options)

    def _ended(self, row: Credential, now: datetime, *, mark: bool = True) -> ReauthRequired | None:
        """ReauthRequired when the user's access has ended (marking it, unless ``mark`` is false)."""
        ends = as_utc(row.grant_expires_at)
        if ends is None or ends > now or CredentialStatus(row.status) != CredentialStatus.ACTIVE:
            return None
        reason = access_ended(ends)
        if mark:
            self.mark_needs_reauth(row.id, reason)
        return ReauthRequired(f"credential {row.id[:8]}: {reason}; {reconnect_hint(row.id)}")

    def _active_token(self, row: Credential) -> TokenSet:
        status = CredentialStatus(row.status)
        if status in GONE:
            raise ReauthRequired(f"credential {row.id[:8]} is {status.value}; run `ferry auth login {row.connector}` for a new one")
        if status != CredentialStatus.ACTIVE:
            why = f": {row.status_reason}" if row.status_reason else ""
            raise ReauthRequired(f"credential {row.id[:8]} is {status.value}{why}; {reconnect_hint(row.id)}")
        token = self.payload(row).token
        if token is None:
            raise ReauthRequired(f"credential {row.id[:8]} holds no token; {reconnect_hint(row.id)}")
        return token

