"""ferry's job store (SQLModel): jobs, credentials, the idempotency ledger, problems, cursors.

Only the modules of this package write to the store's tables; everything else calls their
methods (an import-linter contract keeps SQLAlchemy out of ``ferry/``). Jobs and credentials
change state only along their tables of allowed transitions (``jobs.ALLOWED``,
``credential_rows.ALLOWED``).
"""

from .credential_rows import CredentialRows, IllegalCredentialTransition
from .engine import StoreUnavailable, describe_url, get_engine
from .jobs import ALLOWED, IllegalTransition, JobNotFound, JobStore, LeaseLost, runner_id
from .ledger import DELIVERED, Figures, JobFigures, Known, Ledger, LedgerRecord, ProblemRecord, content_hash
from .migrations import HEAD, SchemaTooNew
from .recurring import RecurringNotFound, RecurringStore
from .retention import PruneResult, prune_jobs
from .tables import (
    Bookmark,
    ConnectorState,
    Credential,
    CredentialStatus,
    ExportCursor,
    Job,
    JobState,
    LedgerEntry,
    Outcome,
    ProblemRow,
    RecurringState,
    RecurringTransfer,
    as_utc,
    utcnow,
)

__all__ = [
    "ALLOWED",
    "Bookmark",
    "ConnectorState",
    "Credential",
    "CredentialRows",
    "CredentialStatus",
    "DELIVERED",
    "ExportCursor",
    "Figures",
    "HEAD",
    "IllegalCredentialTransition",
    "IllegalTransition",
    "Job",
    "JobFigures",
    "JobNotFound",
    "JobState",
    "JobStore",
    "Known",
    "LeaseLost",
    "Ledger",
    "LedgerEntry",
    "LedgerRecord",
    "Outcome",
    "ProblemRecord",
    "ProblemRow",
    "PruneResult",
    "RecurringNotFound",
    "RecurringState",
    "RecurringStore",
    "RecurringTransfer",
    "SchemaTooNew",
    "StoreUnavailable",
    "as_utc",
    "content_hash",
    "describe_url",
    "get_engine",
    "prune_jobs",
    "runner_id",
    "utcnow",
]
