"""ferry's job store (SQLModel): jobs, credentials, idempotency ledger, item errors, cursors."""

from .engine import get_engine
from .jobs import JobNotFound, JobStore, LeaseLost, runner_id
from .ledger import DELIVERED, ErrorRecord, Ledger, LedgerRecord, content_hash
from .tables import (
    Credential,
    CredentialStatus,
    ExportCursor,
    ItemErrorRow,
    Job,
    JobState,
    LedgerEntry,
    RecurringState,
    RecurringTransfer,
    as_utc,
    utcnow,
)

__all__ = [
    "Credential",
    "CredentialStatus",
    "DELIVERED",
    "ErrorRecord",
    "ExportCursor",
    "ItemErrorRow",
    "Job",
    "JobNotFound",
    "JobState",
    "JobStore",
    "LeaseLost",
    "Ledger",
    "LedgerEntry",
    "LedgerRecord",
    "RecurringState",
    "RecurringTransfer",
    "as_utc",
    "content_hash",
    "get_engine",
    "runner_id",
    "utcnow",
]
