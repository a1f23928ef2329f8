"""The credential table's one owner: look-ups, the allowed status changes, and every write.

Everything that changes a :class:`~flows.store.tables.Credential` row goes through
:class:`CredentialRows`; the OAuth machinery (refresh, revocation at the provider, the cipher)
lives in :mod:`flows.credentials` and :mod:`flows.revocation` and calls these methods, and the
CLI and the notice receiver never touch the table (an import-linter contract keeps SQLAlchemy
out of ``ferry/``).

Status changes are checked against :data:`ALLOWED` and applied with a compare-and-swap on
(status, version), so two processes never move a credential along an edge the table lacks:

* ACTIVE -> ACTIVE (tokens replaced in place), NEEDS_REAUTH (a refresh failed for good, access
  ended, the user removed the authorization), REVOKING (revocation claimed);
* NEEDS_REAUTH -> ACTIVE (``ferry reconnect``), REVOKING;
* REVOKING -> REVOKED, only once the provider answered (crash-safe: a REVOKING row is finished
  by the maintenance flow or ``ferry auth revoke``);
* REVOKED is final.

:func:`credential_row` stays a cheap read for request validation (no OAuth client, no cipher).
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from connectors.errors import ConfigError, FerryError

from .jobs import IllegalTransition, JobStore
from .tables import Credential, CredentialStatus, Job, JobState, RecurringState, RecurringTransfer, as_utc, utcnow

__all__ = [
    "ALLOWED",
    "GONE",
    "CredentialRow",
    "CredentialRows",
    "CredentialUsers",
    "IllegalCredentialTransition",
    "credential_row",
]

_S = CredentialStatus
#: Allowed credential status changes: from -> the statuses it may move to.
ALLOWED: dict[CredentialStatus, frozenset[CredentialStatus]] = {
    _S.ACTIVE: frozenset({_S.ACTIVE, _S.NEEDS_REAUTH, _S.REVOKING}),
    _S.NEEDS_REAUTH: frozenset({_S.ACTIVE, _S.REVOKING}),
    _S.REVOKING: frozenset({_S.REVOKED}),
    _S.REVOKED: frozenset(),
}
#: A credential in these statuses is gone for good: only a new `ferry auth login` helps.
GONE = (_S.REVOKING, _S.REVOKED)
_FINAL_JOB_STATES = (JobState.COMPLETE, JobState.CANCELED)
#: Job states moved to NEEDS_REAUTH when their credential dies (RUNNING jobs stop themselves).
_PAUSABLE_JOB_STATES = (JobState.NEW, JobState.WAITING, JobState.PAUSED, JobState.FAILED)


class IllegalCredentialTransition(FerryError):
    """A credential status change :data:`ALLOWED` does not have; the message names both statuses."""


@dataclass(frozen=True)
class CredentialRow:
    id: str
    connector: str
    status: CredentialStatus
    status_reason: str | None


@dataclass(frozen=True)
class CredentialUsers:
    """Non-final jobs and non-canceled recurring transfers that use a credential."""

    job_ids: tuple[str, ...]
    recurring_ids: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.job_ids or self.recurring_ids)


def _find(session: Session, credential_id: str) -> Credential | None:
    row = session.get(Credential, credential_id)
    if row is None:
        matches = session.exec(select(Credential).where(col(Credential.id).startswith(credential_id)).limit(2)).all()
        row = matches[0] if len(matches) == 1 else None
    return row


def credential_row(engine: Engine, credential_id: str) -> CredentialRow | None:
    """The credential with this id (or unique id prefix), or None."""
    with Session(engine) as session:
        row = _find(session, credential_id)
        if row is None:
            return None
        return CredentialRow(row.id, row.connector, CredentialStatus(row.status), row.status_reason)


class CredentialRows:
    """Credential rows and their life cycle. Methods open short transactions of their own,
    except those taking the ``session`` of :meth:`locked` (the caller commits)."""

    def __init__(self, engine: Engine):
        self.engine = engine

    # -- reading ----------------------------------------------------------------------------------

    def find(self, session: Session, credential_id: str) -> Credential:
        """The row with this id (or unique id prefix) in ``session``; ConfigError when there is none."""
        row = _find(session, credential_id)
        if row is None:
            raise ConfigError(f"no credential {credential_id!r}; `ferry auth list` shows the stored ones")
        return row

    def get(self, credential_id: str) -> Credential:
        with Session(self.engine, expire_on_commit=False) as session:
            return self.find(session, credential_id)

    def list(
        self, *, connector: str | None = None, statuses: Sequence[CredentialStatus] | None = None
    ) -> list[Credential]:
        """All credentials, newest first, optionally of one connector or some statuses."""
        with Session(self.engine, expire_on_commit=False) as session:
            query = select(Credential).order_by(col(Credential.created_at).desc())
            if connector:
                query = query.where(col(Credential.connector) == connector)
            if statuses:
                query = query.where(col(Credential.status).in_(list(statuses)))
            return list(session.exec(query).all())

    def of_account(self, account: str, *, connector: str | None = None, client_id: str | None = None) -> builtins.list[Credential]:
        """Live (not revoked) credentials of the provider user ``account``.

        ``client_id`` narrows it to credentials issued to that OAuth client (a webhook names the
        app it was sent for).
        """
        with Session(self.engine, expire_on_commit=False) as session:
            query = select(Credential).where(col(Credential.account) == account, col(Credential.status).not_in(GONE))
            if connector:
                query = query.where(col(Credential.connector) == connector)
            rows = list(session.exec(query).all())
        if client_id is not None:
            rows = [r for r in rows if (r.config or {}).get("client_id") == client_id]
        return rows

    def users(self, credential_id: str, *, session: Session | None = None) -> CredentialUsers:
        """Who still needs the credential (what keeps a revocation from happening)."""
        if session is None:
            with Session(self.engine) as own:
                return self.users(credential_id, session=own)
        cid = self.find(session, credential_id).id
        jobs = session.exec(
            select(Job.id).where(
                or_(col(Job.source_credential_id) == cid, col(Job.destination_credential_id) == cid),
                col(Job.state).not_in(_FINAL_JOB_STATES),
            )
        ).all()
        recurring = session.exec(
            select(RecurringTransfer.id).where(
                or_(col(RecurringTransfer.source_credential_id) == cid, col(RecurringTransfer.destination_credential_id) == cid),
                col(RecurringTransfer.state) != RecurringState.CANCELED,
            )
        ).all()
        return CredentialUsers(tuple(jobs), tuple(recurring))

    # -- writing ----------------------------------------------------------------------------------

    def add(self, row: Credential) -> Credential:
        with Session(self.engine, expire_on_commit=False) as session:
            session.add(row)
            session.commit()
            return row

    @contextmanager
    def locked(self, credential_id: str) -> Iterator[tuple[Session, Credential]]:
        """A session whose transaction holds the credential row locked against other writers.

        ``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite (no row locks) ``BEGIN IMMEDIATE``
        takes the database write lock. Whatever the caller did not commit is rolled back.
        """
        with Session(self.engine, expire_on_commit=False) as session:
            connection = session.connection()
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                row = self.find(session, credential_id)
            else:
                full_id = self.find(session, credential_id).id
                row = session.exec(
                    select(Credential).where(col(Credential.id) == full_id).with_for_update().execution_options(populate_existing=True)
                ).one()
            try:
                yield session, row
            finally:
                if session.in_transaction():
                    session.rollback()

    def transition(
        self,
        credential_id: str,
        status: CredentialStatus,
        reason: str | None = None,
        *,
        only_from: Iterable[CredentialStatus] | None = None,
        expected_version: int | None = None,
        session: Session | None = None,
        **values,
    ) -> Credential | None:
        """Move the credential to ``status`` (with ``values`` for other columns) if allowed.

        Returns the row as written, or None when there was nothing to do: its status is not in
        ``only_from``, its version is not ``expected_version``, or another process changed it
        between the read and the compare-and-swap. With ``session`` (from :meth:`locked`) the
        write joins that transaction and the caller commits.

        Raises:
            IllegalCredentialTransition: :data:`ALLOWED` has no edge from the current status.
        """
        if session is None:
            with Session(self.engine, expire_on_commit=False) as own:
                written = self.transition(
                    credential_id, status, reason, only_from=only_from, expected_version=expected_version, session=own, **values
                )
                own.commit()
                return written
        row = self.find(session, credential_id)
        current = CredentialStatus(row.status)
        if only_from is not None and current not in set(only_from):
            return None
        if status not in ALLOWED[current]:
            raise IllegalCredentialTransition(f"credential {row.id[:8]} is {current.value}; it cannot become {status.value}")
        if expected_version is not None and row.version != expected_version:
            return None
        now = utcnow()
        changes = {"status": status, "status_reason": reason, "version": row.version + 1, "updated_at": now, **values}
        result = session.exec(
            update(Credential).where(col(Credential.id) == row.id, col(Credential.status) == current, col(Credential.version) == row.version).values(**changes)
        )
        if result.rowcount != 1:
            return None
        for name, value in changes.items():
            setattr(row, name, value)
        return row

    def save_tokens(
        self,
        session: Session,
        row: Credential,
        *,
        ciphertext: str,
        access_expires_at: datetime | None,
        refresh_expires_at: datetime | None,
        refreshed: bool = True,
    ) -> None:
        """Store refreshed tokens of a locked row (compare-and-swap on its version; caller commits).

        Raises:
            RuntimeError: the row changed although it was locked; a rotation is never dropped silently.
        """
        now = utcnow()
        values = {
            "token_ciphertext": ciphertext,
            "version": row.version + 1,
            "access_expires_at": access_expires_at,
            "refresh_expires_at": refresh_expires_at,
            "updated_at": now,
        }
        if refreshed:
            values["last_refreshed_at"] = now
        result = session.exec(update(Credential).where(col(Credential.id) == row.id, col(Credential.version) == row.version).values(**values))
        if result.rowcount != 1:
            raise RuntimeError(f"credential {row.id} changed while locked; refresh not stored")
        for name, value in values.items():
            setattr(row, name, value)

    def needs_reauth(self, credential_id: str, reason: str, *, expected_version: int | None = None) -> builtins.list[str] | None:
        """ACTIVE -> NEEDS_REAUTH with ``reason``, and every waiting job using it -> NEEDS_REAUTH.

        Jobs that are NEW, WAITING, PAUSED or FAILED move (through :meth:`JobStore.transition`);
        RUNNING ones are left to their runner, which stops at its next token use. Returns the
        ids of the jobs moved, or None when the credential was not ACTIVE (or moved on from
        ``expected_version``): already dead, or re-authorized meanwhile.
        """
        written = self.transition(credential_id, _S.NEEDS_REAUTH, reason, only_from=[_S.ACTIVE], expected_version=expected_version)
        if written is None:
            return None
        jobs = JobStore(self.engine)
        moved = []
        for job in jobs.using_credential(written.id):
            if job.state not in _PAUSABLE_JOB_STATES:
                continue
            try:
                jobs.transition(job.id, JobState.NEEDS_REAUTH, f"credential {written.id[:8]}: {reason}", only_from=_PAUSABLE_JOB_STATES)
            except IllegalTransition:  # it started running or finished meanwhile
                continue
            moved.append(job.id)
        return moved

    def set_account(self, credential_id: str, account: str | None) -> None:
        """Record the provider's user id (not a status change)."""
        with Session(self.engine) as session:
            cid = self.find(session, credential_id).id
            session.exec(update(Credential).where(col(Credential.id) == cid).values(account=account, updated_at=utcnow()))
            session.commit()

    # -- when access ends -------------------------------------------------------------------------

    def record_grant_end(self, credential_ids: Sequence[str], ends_at: datetime, *, source: str) -> builtins.list[str]:
        """Store when the user's access ends; returns the ids whose recorded end changed.

        Idempotent: a repeated notice with the same time changes nothing (and returns no id),
        so a redelivery emits nothing twice. A new time resets the reminders sent.
        """
        end = as_utc(ends_at)
        changed = []
        with Session(self.engine) as session:
            for cid in credential_ids:
                result = session.exec(
                    update(Credential)
                    .where(
                        col(Credential.id) == cid,
                        col(Credential.status).not_in(GONE),
                        or_(col(Credential.grant_expires_at).is_(None), col(Credential.grant_expires_at) != end),
                    )
                    .values(grant_expires_at=end, grant_source=source, grant_reminded_days=None, updated_at=utcnow())
                )
                if result.rowcount == 1:
                    changed.append(cid)
            session.commit()
        return changed

    def record_provider_check(self, credential_id: str, ends_at: datetime | None, *, checked_at: datetime) -> bool:
        """The provider was asked when access ends: store the answer (None: it announced nothing).

        Returns True when the recorded end changed. An empty answer keeps an end a notice
        announced (the provider answers only inside its own window).
        """
        changed = bool(ends_at is not None and self.record_grant_end([credential_id], ends_at, source="provider"))
        with Session(self.engine) as session:
            session.exec(update(Credential).where(col(Credential.id) == credential_id).values(grant_checked_at=checked_at))
            session.commit()
        return changed

    def mark_reminded(self, credential_id: str, days: float | None, *, for_end: datetime, was: float | None) -> bool:
        """Record that the ``days``-before reminder for the end ``for_end`` was sent (None: unsent).

        Compare-and-swap on the end and on the threshold recorded before (``was``), so of two
        processes reminding at once exactly one wins (returns True) and emits the event; the
        winner puts ``was`` back if the event could not be sent.
        """
        last = col(Credential.grant_reminded_days)
        with Session(self.engine) as session:
            result = session.exec(
                update(Credential)
                .where(col(Credential.id) == credential_id, col(Credential.grant_expires_at) == as_utc(for_end), last.is_(None) if was is None else last == was)
                .values(grant_reminded_days=days)
            )
            session.commit()
        return result.rowcount == 1
