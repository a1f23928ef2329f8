"""The credential store: OAuth tokens encrypted at rest, shared safely between workers.

Rows are :class:`~flows.store.tables.Credential`; the ciphertext (Fernet, see
:mod:`flows.crypto`) holds the tokens and the client secret, the clear columns hold only what
``ferry auth list`` shows (connector, label, status, expiries) and the public client config.

Concurrency, the reason this module exists (DTP keeps refreshed tokens in memory and loses them;
rclone's ``oauthutil.TokenSource`` re-reads its config before refreshing):

* A refresh runs with the credential row locked — ``SELECT ... FOR UPDATE`` on PostgreSQL,
  ``BEGIN IMMEDIATE`` (the database write lock) on SQLite — and first re-reads the row: if
  another worker already refreshed (the access token is no longer the rejected one, or no
  longer expiring), its token is used and the token endpoint is not called. So a rotating
  server sees each refresh token exactly once, and the rotated one is stored before the lock
  is released. Every write also compare-and-swaps ``Credential.version``.
* A refresh that fails for good (invalid_grant, session_invalidated) moves the credential and
  every non-final job using it to NEEDS_REAUTH with the reason, instead of failing items, but
  only once the access token is of no use: a *proactive* refresh (the token still valid, inside
  the skew) that is refused raises :class:`RefreshRefused` and changes nothing, and
  :class:`DbTokenSource` keeps serving the still-valid token until it really expires (or the
  destination answers 401). With 75-second tokens and an invalidated session, a job used to
  pause at every proactive refresh while its token had a minute left.
* Revocation claims the row (status -> REVOKED by compare-and-swap) before calling the
  server, so of any number of concurrent callers exactly one revokes; a transient failure
  gives the claim back so a later call retries.

Nothing here logs or raises a token or the client secret.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from connectors.errors import ConfigError, FerryError, ReauthRequired, RetryableError
from connectors.oauth import ClientConfig, OAuthClient, TokenSet

from .crypto import TokenCipher, cipher_from_settings
from .store.tables import Credential, CredentialStatus, Job, JobState, RecurringState, RecurringTransfer, utcnow

__all__ = ["CredentialInfo", "CredentialStore", "CredentialUsers", "DbTokenSource", "REFRESH_SKEW_SECONDS", "RefreshRefused"]

log = logging.getLogger(__name__)

#: Refresh this many seconds before the access token expires.
REFRESH_SKEW_SECONDS = 60.0
_FINAL_JOB_STATES = (JobState.COMPLETE, JobState.CANCELED)


class RefreshRefused(ReauthRequired):
    """A proactive refresh was refused for good, but the stored access token is still valid.

    Nothing was changed: the credential stays ACTIVE and the token may be used until
    ``valid_until`` (None: no known expiry, use it until the provider answers 401).
    """

    def __init__(self, message: str, *, token: TokenSet):
        super().__init__(message)
        self.token = token
        self.valid_until = token.expires_at


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
        )


@dataclass(frozen=True)
class CredentialUsers:
    """Non-final jobs and non-canceled recurring transfers that use a credential."""

    job_ids: tuple[str, ...]
    recurring_ids: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.job_ids or self.recurring_ids)


def _token_of(value: Mapping[str, Any] | TokenSet) -> TokenSet:
    return value if isinstance(value, TokenSet) else TokenSet.from_response(value)


class CredentialStore:
    """Encrypted OAuth credentials in the job store.

    Args:
        engine: the job store's engine (SQLite or PostgreSQL).
        cipher: encrypts and decrypts the token payloads (:func:`flows.crypto.cipher_from_settings`).
        refresh_skew: refresh this many seconds before the access token expires.
        timeout: seconds per request to token and revocation endpoints.
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
        with Session(self.engine) as session:
            return CredentialInfo.from_row(self._row(session, credential_id))

    def list(self, *, connector: str | None = None, status: CredentialStatus | None = None) -> list[CredentialInfo]:
        """All credentials, newest first, optionally of one connector or status."""
        with Session(self.engine) as session:
            query = select(Credential).order_by(col(Credential.created_at).desc())
            if connector:
                query = query.where(Credential.connector == connector)
            if status:
                query = query.where(Credential.status == status)
            return [CredentialInfo.from_row(row) for row in session.exec(query).all()]

    def users(self, credential_id: str) -> CredentialUsers:
        """Who still needs the credential (what keeps :meth:`revoke_if_unused` from revoking)."""
        with Session(self.engine) as session:
            return self._users(session, self._row(session, credential_id).id)

    def token_source(self, credential_id: str, *, skew: float | None = None, clock: Callable[[], datetime] | None = None) -> DbTokenSource:
        """A :class:`connectors.auth.TokenSource` for connectors (checks the id exists now)."""
        info = self.get(credential_id)
        return DbTokenSource(self, info.id, skew=self.refresh_skew if skew is None else skew, clock=clock)

    def client_for(self, credential_id: str) -> OAuthClient:
        """The OAuth client the credential was issued to (secret decrypted from the row)."""
        with Session(self.engine) as session:
            row = self._row(session, credential_id)
            return self._client(row, self._payload(row))

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
        """Store a new ACTIVE credential from a token endpoint answer (or a :class:`TokenSet`)."""
        tokens = _token_of(token)
        row = Credential(
            connector=connector,
            label=label,
            account=account,
            token_ciphertext=self._encrypt(tokens, client.client_secret.get_secret_value() if client.client_secret else None),
            scopes=list(tokens.scope or client.scopes),
            config=client.public_dict(),
            access_expires_at=tokens.expires_at,
            refresh_expires_at=tokens.refresh_expires_at,
        )
        with Session(self.engine, expire_on_commit=False) as session:
            session.add(row)
            session.commit()
            log.info("stored credential %s for %s", row.id, connector)
            return CredentialInfo.from_row(row)

    def replace_tokens(
        self, credential_id: str, token: Mapping[str, Any] | TokenSet, *, client: ClientConfig | None = None
    ) -> CredentialInfo:
        """Re-authorization in place: new tokens (and optionally client), same id, status ACTIVE.

        Jobs that were moved to NEEDS_REAUTH keep that state until they are resumed.
        """
        tokens = _token_of(token)
        with self._locked(credential_id) as (session, row):
            if client is not None:
                secret = client.client_secret.get_secret_value() if client.client_secret else None
                row.config = client.public_dict()
            else:
                secret = self._payload(row).get("client_secret")
            row.token_ciphertext = self._encrypt(tokens, secret)
            row.scopes = list(tokens.scope or row.scopes)
            row.status = CredentialStatus.ACTIVE
            row.status_reason = None
            row.revoked_at = None
            row.access_expires_at = tokens.expires_at
            row.refresh_expires_at = tokens.refresh_expires_at
            row.version += 1
            row.updated_at = utcnow()
            session.add(row)
            session.commit()
            log.info("replaced the tokens of credential %s", row.id)
            return CredentialInfo.from_row(row)

    def mark_needs_reauth(self, credential_id: str, reason: str, *, expected_version: int | None = None) -> list[str]:
        """Move the credential (if ACTIVE) and every non-final job using it to NEEDS_REAUTH.

        RUNNING jobs are left to their runner (as in :func:`flows.reauth.credential_died`): its
        next token use raises ReauthRequired, and it saves its cursor and stops itself.
        With ``expected_version``, nothing changes when the row moved on meanwhile (someone
        re-authorized). Returns the ids of the jobs moved. Idempotent.
        """
        with Session(self.engine) as session:
            cid = self._row(session, credential_id).id
            query = update(Credential).where(Credential.id == cid, Credential.status == CredentialStatus.ACTIVE)
            if expected_version is not None:
                query = query.where(Credential.version == expected_version)
            session.exec(
                query.values(
                    status=CredentialStatus.NEEDS_REAUTH,
                    status_reason=reason,
                    version=Credential.version + 1,
                    updated_at=utcnow(),
                )
            )
            status = session.exec(select(Credential.status).where(Credential.id == cid)).one()
            if CredentialStatus(status) == CredentialStatus.ACTIVE:  # re-authorized meanwhile
                session.rollback()
                return []
            users = or_(Job.source_credential_id == cid, Job.destination_credential_id == cid)
            skip = [*_FINAL_JOB_STATES, JobState.NEEDS_REAUTH, JobState.RUNNING]
            job_ids = list(session.exec(select(Job.id).where(users, col(Job.state).not_in(skip))).all())
            if job_ids:
                session.exec(
                    update(Job)
                    .where(col(Job.id).in_(job_ids))
                    .values(state=JobState.NEEDS_REAUTH, state_reason=f"credential {cid}: {reason}", updated_at=utcnow())
                )
            session.commit()
        log.warning("credential %s needs a new authorization (%s); jobs moved: %s", cid, reason, ", ".join(job_ids) or "none")
        return job_ids

    def revoke_if_unused(self, credential_id: str) -> bool:
        """Revoke (RFC 7009) when no non-final job and no recurring transfer uses the credential.

        Returns True only for the one call that revoked it; False when in use, already revoked
        or being revoked by someone else. See :meth:`revoke`.
        """
        return self.revoke(credential_id, force=False)

    def revoke(self, credential_id: str, *, force: bool = False) -> bool:
        """Revoke the refresh and access token at the provider and forget them locally.

        The refresh token goes first (revoking it ends the grant), then the access token, each
        with its ``token_type_hint``. The row is claimed (status REVOKED by compare-and-swap)
        before the server is called, so concurrent callers revoke once. Without ``force`` a
        credential still in use is left alone (returns False); with it, the jobs using it will
        need a new authorization.

        Raises:
            RetryableError: the revocation endpoint failed transiently; the claim is undone, so
                calling again retries.
        """
        with self._locked(credential_id) as (session, row):
            if CredentialStatus(row.status) == CredentialStatus.REVOKED:
                return False
            if not force and self._users(session, row.id):
                return False
            payload = self._payload(row)
            previous_status, previous_reason = CredentialStatus(row.status), row.status_reason
            claimed = row.version + 1
            result = session.exec(
                update(Credential)
                .where(Credential.id == row.id, Credential.version == row.version, Credential.status == row.status)
                .values(status=CredentialStatus.REVOKED, status_reason="revoking", revoked_at=utcnow(), version=claimed, updated_at=utcnow())
            )
            if result.rowcount != 1:
                return False
            session.commit()
            credential_id = row.id
            client = self._client(row, payload)
        token = payload.get("token") or {}
        try:
            if client.config.revocation_endpoint:
                for hint in ("refresh_token", "access_token"):
                    if token.get(hint):
                        client.revoke(token[hint], hint)
                reason = "revoked at the provider"
            else:
                reason = "no revocation endpoint: tokens deleted locally only"
        except FerryError as exc:
            with Session(self.engine) as session:
                session.exec(
                    update(Credential)
                    .where(Credential.id == credential_id, Credential.version == claimed)
                    .values(status=previous_status, status_reason=previous_reason, revoked_at=None, version=claimed + 1)
                )
                session.commit()
            log.warning("revoking credential %s failed, will retry later: %s", credential_id, exc)
            raise
        with Session(self.engine) as session:
            session.exec(
                update(Credential)
                .where(Credential.id == credential_id, Credential.version == claimed)
                .values(
                    status_reason=reason,
                    token_ciphertext=self.cipher.encrypt({"token": None, "client_secret": payload.get("client_secret")}),
                    version=claimed + 1,
                    access_expires_at=None,
                    refresh_expires_at=None,
                )
            )
            session.commit()
        log.info("credential %s revoked (%s)", credential_id, reason)
        return True

    # -- refresh (used by DbTokenSource) ----------------------------------------------------------

    def current_token(self, credential_id: str) -> TokenSet:
        """The stored token of an ACTIVE credential (no refresh). ReauthRequired otherwise."""
        with Session(self.engine) as session:
            row = self._row(session, credential_id)
            return self._active_token(row)

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
            ReauthRequired: the credential is not ACTIVE, or the refresh failed for good and the
                token is of no further use (expired, or ``rejected`` by the API): the credential
                and its jobs are then NEEDS_REAUTH.
            RetryableError: the token endpoint failed transiently (nothing changed).
        """
        skew = self.refresh_skew if skew is None else skew
        now = now or utcnow()
        failure: ReauthRequired | None = None
        with self._locked(credential_id) as (session, row):
            tokens = self._active_token(row)
            if rejected is not None:
                needed = tokens.access_token.get_secret_value() == rejected
            else:
                needed = force or tokens.expires_within(skew, now=now)
            if not needed:
                return tokens
            version = row.version
            if tokens.refresh_token is None:
                failure = ReauthRequired(f"credential {row.id} has no refresh token; run `ferry reconnect` (or `ferry auth login {row.connector}`)")
            else:
                try:
                    fresh = self._client(row, self._payload(row)).refresh(tokens.refresh_token)
                except ReauthRequired as exc:
                    failure = ReauthRequired(f"credential {row.id}: {exc}")
                else:
                    secret = self._payload(row).get("client_secret")
                    result = session.exec(
                        update(Credential)
                        .where(Credential.id == row.id, Credential.version == version)
                        .values(
                            token_ciphertext=self._encrypt(fresh, secret),
                            version=version + 1,
                            access_expires_at=fresh.expires_at,
                            refresh_expires_at=fresh.refresh_expires_at,
                            last_refreshed_at=utcnow(),
                            updated_at=utcnow(),
                        )
                    )
                    if result.rowcount != 1:  # impossible under the lock; never drop a rotation silently
                        raise RuntimeError(f"credential {row.id} changed while locked; refresh not stored")
                    session.commit()
                    log.info("refreshed credential %s", row.id)
                    return fresh
            session.rollback()
        if rejected is None and not tokens.expires_within(0, now=now):
            until = f"until {tokens.expires_at:%Y-%m-%d %H:%M:%S} UTC" if tokens.expires_at else "until the provider rejects it"
            log.warning("%s; the access token stays in use %s", failure, until)
            raise RefreshRefused(f"{failure} (the access token stays valid {until})", token=tokens)
        if rejected is None and tokens.expires_at is not None:
            failure = ReauthRequired(f"{failure}; the access token expired at {tokens.expires_at:%Y-%m-%d %H:%M:%S} UTC")
        self.mark_needs_reauth(credential_id, str(failure), expected_version=version)
        raise failure

    # -- internals --------------------------------------------------------------------------------

    def _row(self, session: Session, credential_id: str) -> Credential:
        row = session.get(Credential, credential_id)
        if row is None:
            matches = session.exec(select(Credential).where(col(Credential.id).startswith(credential_id))).all()
            if len(matches) != 1:
                raise ConfigError(f"no credential {credential_id!r}; `ferry auth list` shows the stored ones")
            row = matches[0]
        return row

    @contextmanager
    def _locked(self, credential_id: str) -> Iterator[tuple[Session, Credential]]:
        """A session whose transaction holds the credential row locked against other writers."""
        with Session(self.engine, expire_on_commit=False) as session:
            connection = session.connection()
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql("BEGIN IMMEDIATE")  # SQLite has no row locks: take the write lock
                row = self._row(session, credential_id)
            else:
                full_id = self._row(session, credential_id).id
                row = session.exec(
                    select(Credential).where(Credential.id == full_id).with_for_update().execution_options(populate_existing=True)
                ).one()
            try:
                yield session, row
            finally:
                if session.in_transaction():
                    session.rollback()

    def _payload(self, row: Credential) -> dict[str, Any]:
        return self.cipher.decrypt(row.token_ciphertext, what=f"credential {row.id}")

    def _encrypt(self, tokens: TokenSet, client_secret: str | None) -> str:
        return self.cipher.encrypt({"token": tokens.to_storage(), "client_secret": client_secret})

    def _active_token(self, row: Credential) -> TokenSet:
        status = CredentialStatus(row.status)
        if status != CredentialStatus.ACTIVE:
            why = f": {row.status_reason}" if row.status_reason else ""
            raise ReauthRequired(f"credential {row.id} is {status.value}{why}; run `ferry auth login {row.connector}`")
        stored = self._payload(row).get("token")
        if not stored:
            raise ReauthRequired(f"credential {row.id} holds no token; run `ferry auth login {row.connector}`")
        return TokenSet.from_response(stored)

    def _client(self, row: Credential, payload: Mapping[str, Any]) -> OAuthClient:
        config = ClientConfig.model_validate({**(row.config or {}), "client_secret": payload.get("client_secret")})
        return OAuthClient(config, timeout=self.timeout, http_options=self.http_options)

    @staticmethod
    def _users(session: Session, credential_id: str) -> CredentialUsers:
        jobs = session.exec(
            select(Job.id).where(
                or_(Job.source_credential_id == credential_id, Job.destination_credential_id == credential_id),
                col(Job.state).not_in(list(_FINAL_JOB_STATES)),
            )
        ).all()
        recurring = session.exec(
            select(RecurringTransfer.id).where(
                or_(
                    RecurringTransfer.source_credential_id == credential_id,
                    RecurringTransfer.destination_credential_id == credential_id,
                ),
                RecurringTransfer.state != RecurringState.CANCELED,
            )
        ).all()
        return CredentialUsers(tuple(jobs), tuple(recurring))


class DbTokenSource:
    """:class:`connectors.auth.TokenSource` over the credential store, shareable between threads.

    ``access_token()`` serves a cached token until it is within ``skew`` seconds of expiring,
    then re-reads the store (another worker may have refreshed) and refreshes only if still
    needed. A refused proactive refresh (:class:`RefreshRefused`) or a transient token-endpoint
    failure while the token is still valid keeps serving that token: the refusal is remembered
    for that token (no second call to the token endpoint for it before it expires), a transient
    failure is retried after its ``retry_after`` (default 5 s). Only an expired token raises.
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
            tokens = self._cached
            if tokens is None or tokens.expires_within(self.skew, now=now):
                tokens = self.store.current_token(self.credential_id)
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
