"""What crosses task boundaries, typed: an exported page, its import result, the run summary.

Prefect passes these between the export, convert and import tasks of one process (results are
not persisted), so they may hold items; they never hold tokens or open files.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from connectors.base import Problem

__all__ = ["Waiting", "ExportedPage", "PageTicket", "PageResult", "VerticalFigures", "FailedItem", "ProblemLine", "CredentialLine", "RenamedItem", "RunSummary"]


class Waiting(BaseModel):
    """The source is preparing data: where to start again and when to look (the WAITING hand-off)."""

    model_config = ConfigDict(frozen=True)

    cursor_json: str
    check_after: float
    wake_key: str | None = None
    message: str


class ExportedPage(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    vertical: str
    items: list[Any] = Field(default_factory=list)
    next_cursor: str | None = None
    done: bool = False
    problems: list[Problem] = Field(default_factory=list)
    converter_state: dict[str, Any] = Field(default_factory=dict)
    waiting: Waiting | None = None
    #: the vertical's cursor for the next round of a recurring transfer (incremental sources)
    bookmark: str | None = None


class PageTicket(BaseModel):
    """What a Prefect task gets and returns for a page: a claim on it, not its items.

    Why: Prefect walks every task parameter and result (to find futures and states); a page of
    500 items took it about 0.3 s per walk, several walks per task run, which made orchestration
    cost milliseconds per item. The page itself stays in the job's runtime (this process) until
    the next step takes it (:meth:`flows.runtime.JobRuntime.hold`).
    """

    model_config = ConfigDict(frozen=True)

    vertical: str
    key: int
    items: int = 0
    done: bool = False


class PageResult(BaseModel):
    vertical: str
    sent: int = 0
    unchanged: int = 0
    in_doubt: int = 0
    resent_in_doubt: int = 0
    retries: int = 0
    stopped: bool = False


class VerticalFigures(BaseModel):
    imported: int = 0
    skipped: int = 0
    failed: int = 0
    in_doubt: int = 0
    bytes: int = 0


class FailedItem(BaseModel):
    item_id: str
    item: str | None
    vertical: str | None
    message: str


class ProblemLine(BaseModel):
    subject: str
    message: str
    kind: str
    vertical: str | None = None


class RenamedItem(BaseModel):
    """An item delivered under another name than its own: ``Holiday`` -> ``photos/Holiday (1a2b3c4d)``."""

    item: str | None
    kind: str
    vertical: str | None
    destination: str


class CredentialLine(BaseModel):
    """A credential of the job that must be authorized again before the job can go on."""

    id: str
    connector: str
    status: str  # NEEDS_REAUTH or REVOKED
    reason: str | None = None


class RunSummary(BaseModel):
    """A job's secret-free summary, counted from the ledger (also the flow's return value)."""

    job_id: str
    recurring_id: str | None = None
    source: str
    destination: str
    state: str
    reason: str | None = None
    imported: int = 0
    skipped: int = 0
    failed: int = 0
    in_doubt: int = 0
    bytes: int = 0
    unreadable: int = 0  # source entries that could not be read (problems of kind "failed")
    not_transferred: int = 0  # source files no vertical of the transfer takes (listed, not errors)
    per_vertical: dict[str, VerticalFigures] = Field(default_factory=dict)
    errors: list[FailedItem] = Field(default_factory=list)
    problems: list[ProblemLine] = Field(default_factory=list)
    #: for a job that did not finish: its credentials that are not usable any more (what the
    #: user must fix before resuming makes sense), typed so nobody matches reason texts
    credentials_to_fix: list[CredentialLine] = Field(default_factory=list)
    #: items that landed under a name with their id added (the name was taken at the destination)
    renamed: list[RenamedItem] = Field(default_factory=list)
    renamed_count: int = 0

    @property
    def failures(self) -> int:
        """Items failed plus source entries that could not be read (what makes exit code 1)."""
        return self.failed + self.unreadable
