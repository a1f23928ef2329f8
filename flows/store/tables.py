"""The job store's tables (SQLModel), one row type per fact ferry must not forget.

* :class:`Job` - one transfer run: endpoints, verticals, state, counters and a lease so two
  workers never run the same job at once.
* :class:`RecurringTransfer` - a schedule-driven series of jobs sharing one ledger scope.
* :class:`LedgerEntry` - the idempotency ledger: per scope (job id, or recurring id) and item id,
  the content hash and where the item landed. An item whose hash is unchanged is never sent again.
* :class:`ItemErrorRow` - per-item failures, shown to the user with the item's name.
* :class:`ExportCursor` - per job and vertical, the cursor of the next page plus converter state;
  saved in the same transaction as the page's ledger rows (a checkpoint never runs ahead).
* :class:`Credential` - OAuth tokens, encrypted at rest (ciphertext only), with a version for
  compare-and-swap updates by concurrent workers.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime, timezone

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime | None) -> datetime | None:
    """A stored time as an aware UTC datetime. Why: SQLite hands datetimes back naive (they
    were written as UTC), PostgreSQL hands them back aware; compare only after this."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def new_id() -> str:
    return str(uuid.uuid4())


class JobState(enum.StrEnum):
    NEW = "NEW"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    NEEDS_REAUTH = "NEEDS_REAUTH"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"
    CANCELED = "CANCELED"

    @property
    def is_final(self) -> bool:
        return self in (JobState.COMPLETE, JobState.CANCELED)

    @property
    def is_resumable(self) -> bool:
        return self in (JobState.NEW, JobState.RUNNING, JobState.PAUSED, JobState.NEEDS_REAUTH, JobState.FAILED)


class CredentialStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    NEEDS_REAUTH = "NEEDS_REAUTH"
    REVOKED = "REVOKED"


class RecurringState(enum.StrEnum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    CANCELED = "CANCELED"


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
    state: JobState = Field(default=JobState.NEW, index=True)
    state_reason: str | None = Field(default=None, sa_column=Column(Text))
    wake_at: datetime | None = None
    wake_key: str | None = Field(default=None, index=True)
    flow_run_id: str | None = None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    items_imported: int = 0
    items_skipped: int = 0
    items_failed: int = 0
    bytes_moved: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None


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
    state: RecurringState = Field(default=RecurringState.ACTIVE)
    deployment_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class LedgerEntry(SQLModel, table=True):
    __tablename__ = "ferry_ledger"

    scope: str = Field(primary_key=True)
    item_id: str = Field(primary_key=True)
    job_id: str = Field(index=True)
    vertical: str
    kind: str
    content_hash: str
    destination_id: str | None = None
    outcome: str
    bytes: int = 0
    updated_at: datetime = Field(default_factory=utcnow)


class ItemErrorRow(SQLModel, table=True):
    __tablename__ = "ferry_item_error"

    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(index=True)
    item_id: str
    item_name: str | None = None
    vertical: str | None = None
    message: str = Field(sa_column=Column(Text, nullable=False))
    retryable: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class ExportCursor(SQLModel, table=True):
    __tablename__ = "ferry_export_cursor"

    job_id: str = Field(primary_key=True)
    vertical: str = Field(primary_key=True)
    cursor_json: str | None = Field(default=None, sa_column=Column(Text))
    converter_state: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    done: bool = False
    pages: int = 0
    updated_at: datetime = Field(default_factory=utcnow)


class Credential(SQLModel, table=True):
    __tablename__ = "ferry_credential"

    id: str = Field(default_factory=new_id, primary_key=True)
    connector: str = Field(index=True)
    label: str | None = None
    account: str | None = None
    token_ciphertext: str = Field(sa_column=Column(Text, nullable=False))
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    config: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: CredentialStatus = Field(default=CredentialStatus.ACTIVE, index=True)
    status_reason: str | None = Field(default=None, sa_column=Column(Text))
    version: int = 0
    access_expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    grant_expires_at: datetime | None = None
    last_refreshed_at: datetime | None = None
    revoked_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
