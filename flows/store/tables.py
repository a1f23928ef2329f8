"""The job store's tables (SQLModel), one row type per fact ferry must not forget.

* :class:`Job` - one transfer run: endpoints, verticals, state and a lease so two workers never
  run the same job at once. It holds no counters: every figure is counted from the ledger.
* :class:`RecurringTransfer` - a schedule-driven series of jobs sharing one ledger scope.
* :class:`LedgerEntry` - the idempotency ledger: per scope (job id, or recurring id), item kind
  and item id, the content hash, the outcome (``sending`` before the destination answered, then
  imported / skipped / failed with the error) and where the item landed. It is the only source of
  counts, and a later delivery supersedes an earlier failure in place.
* :class:`ProblemRow` - what a source held that did not become an item (unreadable entries, files
  no vertical takes), once per job, subject and message.
* :class:`ExportCursor` - per job and vertical, the cursor of the next page plus converter state;
  saved in the same transaction as the page's ledger rows (a checkpoint never runs ahead).
* :class:`Bookmark` - per ledger scope and vertical, where an incremental source's next round starts.
* :class:`ConnectorState` - the job-scoped state slot of a connector (per job id and role), so no
  connector writes state files of its own.
* :class:`Credential` - OAuth tokens, encrypted at rest (ciphertext only), with a version for
  compare-and-swap updates by concurrent workers, the provider's user id (``account``) and when
  the user's access ends (``grant_*``: from expiry notices or the provider's answer, and which
  reminder was sent for it).

The schema is owned by the Alembic revisions in ``flows/store/migrations``; a change here needs
a revision there (tests/test_migrations.py compares the two).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime, timezone

from sqlalchemy import JSON, Column, DateTime, Index, String, Text, TypeDecorator, UniqueConstraint
from sqlmodel import Field, SQLModel

from connectors.checksums import Checksum, HashAlgorithm


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime | None) -> datetime | None:
    """A time as an aware UTC datetime (naive values are taken as UTC)."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def new_id() -> str:
    return str(uuid.uuid4())


class UtcDateTime(TypeDecorator):
    """Aware UTC datetimes on every database. Why: SQLite hands datetimes back naive."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return as_utc(value).astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value, dialect):
        return as_utc(value)


class EnumText(TypeDecorator):
    """A StrEnum stored as plain text. Why: native PostgreSQL enums need ALTER TYPE to grow."""

    impl = String(32)
    cache_ok = True

    def __init__(self, enum_type: type[enum.StrEnum]):
        super().__init__()
        self.enum_type = enum_type

    def process_bind_param(self, value, dialect):
        return None if value is None else self.enum_type(value).value

    def process_result_value(self, value, dialect):
        return None if value is None else self.enum_type(value)


def _time(*, nullable: bool = True, index: bool = False) -> Column:
    return Column(UtcDateTime(), nullable=nullable, index=index)


class JobState(enum.StrEnum):
    NEW = "NEW"
    RUNNING = "RUNNING"
    WAITING = "WAITING"  # the source is preparing data; woken by a webhook or a poll
    PAUSED = "PAUSED"  # destination full, interrupted, or stopped on purpose: `ferry resume`
    NEEDS_REAUTH = "NEEDS_REAUTH"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"
    CANCELED = "CANCELED"

    @property
    def is_final(self) -> bool:
        return self in (JobState.COMPLETE, JobState.CANCELED)


class CredentialStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    NEEDS_REAUTH = "NEEDS_REAUTH"
    REVOKING = "REVOKING"  # the provider is being told; finished by maintenance or `ferry auth revoke`
    REVOKED = "REVOKED"


class RecurringState(enum.StrEnum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    CANCELED = "CANCELED"


class Outcome(enum.StrEnum):
    """A ledger row's outcome. SENDING is the intent written before the destination answers."""

    SENDING = "sending"
    IMPORTED = "imported"
    SKIPPED = "skipped"  # the destination already had it
    FAILED = "failed"


class Job(SQLModel, table=True):
    __tablename__ = "ferry_job"

    id: str = Field(default_factory=new_id, primary_key=True)
    source: str
    destination: str
    types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    options: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    source_credential_id: str | None = Field(default=None, index=True)
    destination_credential_id: str | None = Field(default=None, index=True)
    recurring_id: str | None = Field(default=None, index=True)
    ledger_scope: str = Field(index=True)
    state: JobState = Field(default=JobState.NEW, sa_column=Column(EnumText(JobState), nullable=False, index=True))
    state_reason: str | None = Field(default=None, sa_column=Column(Text))
    wake_at: datetime | None = Field(default=None, sa_column=_time())
    wake_key: str | None = Field(default=None, index=True)
    flow_run_id: str | None = None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = Field(default=None, sa_column=_time())
    created_at: datetime = Field(default_factory=utcnow, sa_column=_time(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_time(nullable=False))
    started_at: datetime | None = Field(default=None, sa_column=_time())
    finished_at: datetime | None = Field(default=None, sa_column=_time())


class RecurringTransfer(SQLModel, table=True):
    __tablename__ = "ferry_recurring"

    id: str = Field(default_factory=new_id, primary_key=True)
    name: str = Field(index=True, unique=True)
    source: str
    destination: str
    types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    options: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    source_credential_id: str | None = Field(default=None, index=True)
    destination_credential_id: str | None = Field(default=None, index=True)
    schedule: str | None = None
    state: RecurringState = Field(default=RecurringState.ACTIVE, sa_column=Column(EnumText(RecurringState), nullable=False))
    deployment_id: str | None = None
    #: the id of its schedule on the Prefect deployment (stable through edits made in the UI)
    schedule_id: str | None = Field(default=None, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_time(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_time(nullable=False))


class LedgerEntry(SQLModel, table=True):
    __tablename__ = "ferry_ledger"
    __table_args__ = (Index("ix_ferry_ledger_job_outcome", "job_id", "outcome"),)

    scope: str = Field(primary_key=True)
    kind: str = Field(primary_key=True)
    item_id: str = Field(primary_key=True)
    job_id: str = Field(index=True)
    vertical: str
    item_name: str | None = Field(default=None, sa_column=Column(Text))
    content_hash: str
    destination_id: str | None = Field(default=None, sa_column=Column(Text))
    outcome: Outcome = Field(sa_column=Column(EnumText(Outcome), nullable=False))
    bytes: int = 0
    #: what landed, when the importer said: the digest (hex) and its algorithm
    checksum: str | None = None
    checksum_algorithm: HashAlgorithm | None = Field(default=None, sa_column=Column(EnumText(HashAlgorithm), nullable=True))
    error: str | None = Field(default=None, sa_column=Column(Text))
    retryable: bool = False
    attempts: int = 0
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_time(nullable=False))


def checksum_of(entry: LedgerEntry) -> Checksum | None:
    """The checksum a ledger row recorded (typed), or None."""
    if entry.checksum is None or entry.checksum_algorithm is None:
        return None
    return Checksum(HashAlgorithm(entry.checksum_algorithm), entry.checksum)


class ProblemRow(SQLModel, table=True):
    __tablename__ = "ferry_problem"
    __table_args__ = (UniqueConstraint("job_id", "subject", "message", name="uq_ferry_problem"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(index=True)
    vertical: str | None = None
    subject: str = Field(sa_column=Column(Text, nullable=False))
    message: str = Field(sa_column=Column(Text, nullable=False))
    kind: str
    item_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=_time(nullable=False))


class ExportCursor(SQLModel, table=True):
    __tablename__ = "ferry_export_cursor"

    job_id: str = Field(primary_key=True)
    vertical: str = Field(primary_key=True)
    cursor_json: str | None = Field(default=None, sa_column=Column(Text))
    cursor_version: int = 1
    converter_state: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    done: bool = False
    pages: int = 0
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_time(nullable=False))


class Bookmark(SQLModel, table=True):
    __tablename__ = "ferry_bookmark"

    scope: str = Field(primary_key=True)
    vertical: str = Field(primary_key=True)
    cursor_json: str = Field(sa_column=Column(Text, nullable=False))
    cursor_version: int = 1
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_time(nullable=False))


class ConnectorState(SQLModel, table=True):
    """A connector's job-scoped state slot (:mod:`flows.state_slot`): ``scope`` is the job id."""

    __tablename__ = "ferry_connector_state"

    scope: str = Field(primary_key=True)
    role: str = Field(primary_key=True)  # "source" or "destination"
    state_json: str = Field(sa_column=Column(Text, nullable=False))
    state_version: int = 1
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_time(nullable=False))


class Credential(SQLModel, table=True):
    __tablename__ = "ferry_credential"

    id: str = Field(default_factory=new_id, primary_key=True)
    connector: str = Field(index=True)
    label: str | None = None
    account: str | None = Field(default=None, index=True)  # the provider's user id (notices name it)
    token_ciphertext: str = Field(sa_column=Column(Text, nullable=False))
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    config: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: CredentialStatus = Field(
        default=CredentialStatus.ACTIVE, sa_column=Column(EnumText(CredentialStatus), nullable=False, index=True)
    )
    status_reason: str | None = Field(default=None, sa_column=Column(Text))
    version: int = 0
    access_expires_at: datetime | None = Field(default=None, sa_column=_time())
    refresh_expires_at: datetime | None = Field(default=None, sa_column=_time())
    grant_expires_at: datetime | None = Field(default=None, sa_column=_time())
    grant_source: str | None = None  # "notice" or "provider": who said when access ends
    grant_checked_at: datetime | None = Field(default=None, sa_column=_time())  # last asked the provider
    grant_reminded_days: float | None = None  # the last reminder threshold sent for grant_expires_at
    last_refreshed_at: datetime | None = Field(default=None, sa_column=_time())
    revoked_at: datetime | None = Field(default=None, sa_column=_time())
    created_at: datetime = Field(default_factory=utcnow, sa_column=_time(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_time(nullable=False))
