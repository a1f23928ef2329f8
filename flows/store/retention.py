"""Forgetting old jobs (``ferry jobs prune --older-than 30d``): rows only the job itself needs.

What goes with a pruned job: its row, its export cursors, its problems and its connectors' state
slot; for a one-time job also its ledger rows and bookmarks (its ledger scope is its own id).
What never goes:

* a job that may still run: RUNNING, WAITING or NEW, and stopped jobs (FAILED, PAUSED,
  NEEDS_REAUTH) unless asked for, and then only when nobody holds their lease and they are not
  the unfinished round of a recurring transfer (its next round resumes it);
* a recurring transfer's ledger scope: its rounds share it, and it is what keeps the next round
  from sending everything again (``ferry recurring reset`` is the way to forget it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, delete, select

from .jobs import JobStore
from .tables import Bookmark, ConnectorState, ExportCursor, Job, JobState, LedgerEntry, ProblemRow

__all__ = ["PRUNABLE", "STOPPED", "PruneResult", "prune_jobs"]

#: finished for good: pruned once older than the cutoff
PRUNABLE = (JobState.COMPLETE, JobState.CANCELED)
#: stopped but resumable: pruned only on request (``--include-stopped``)
STOPPED = (JobState.FAILED, JobState.PAUSED, JobState.NEEDS_REAUTH)


@dataclass(frozen=True)
class PruneResult:
    jobs: list[Job]
    ledger_rows: int  # one-time jobs' ledger rows forgotten with them


def prune_jobs(engine: Engine, cutoff: datetime, *, include_stopped: bool = False, dry_run: bool = False) -> PruneResult:
    """Delete jobs last changed before ``cutoff`` (see the module docstring for which).

    With ``dry_run`` nothing is deleted; the result says what would go.
    """
    jobs = JobStore(engine)
    states = PRUNABLE + (STOPPED if include_stopped else ())
    with Session(engine, expire_on_commit=False) as session:
        found = list(session.exec(select(Job).where(col(Job.state).in_(list(states)), col(Job.updated_at) < cutoff)).all())
    chosen = [job for job in found if job.state in PRUNABLE or (not job.recurring_id and jobs.lease_is_stale(job.id))]
    own_scopes = [job.id for job in chosen if not job.recurring_id and job.ledger_scope == job.id]
    ids = [job.id for job in chosen]
    with Session(engine) as session:
        rows = session.exec(select(func.count()).select_from(LedgerEntry).where(col(LedgerEntry.scope).in_(own_scopes))).one() if own_scopes else 0
        if dry_run or not ids:
            return PruneResult(chosen, int(rows))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            session.exec(delete(ExportCursor).where(col(ExportCursor.job_id).in_(chunk)))
            session.exec(delete(ProblemRow).where(col(ProblemRow.job_id).in_(chunk)))
            session.exec(delete(ConnectorState).where(col(ConnectorState.scope).in_(chunk)))
            session.exec(delete(Job).where(col(Job.id).in_(chunk)))
        for start in range(0, len(own_scopes), 500):
            scopes = own_scopes[start : start + 500]
            session.exec(delete(LedgerEntry).where(col(LedgerEntry.scope).in_(scopes)))
            session.exec(delete(Bookmark).where(col(Bookmark.scope).in_(scopes)))
        session.commit()
    return PruneResult(chosen, int(rows))
