"""Jobs: creation, state changes and the lease that keeps one runner per job.

Why a lease and not a lock: a runner killed with ``kill -9`` never releases anything. A lease
expires by itself (``LEASE_SECONDS`` after the last renewal, renewed every page), and a runner on
the same host whose process is gone is recognised at once, so ``ferry resume`` right after a
crash does not have to wait.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from .tables import Job, JobState, as_utc, utcnow

LEASE_SECONDS = 120

__all__ = ["JobStore", "LeaseLost", "JobNotFound", "runner_id"]


class JobNotFound(LookupError):
    def __init__(self, job_id: str):
        super().__init__(f"no job {job_id!r}; `ferry jobs list` shows the known jobs")
        self.job_id = job_id


class LeaseLost(RuntimeError):
    """Another runner holds the job."""


def runner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_is_dead(owner: str | None) -> bool:
    """True when the owner ran on this host and its process no longer exists."""
    if not owner:
        return True
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class JobStore:
    """Job rows and their life cycle. All methods open short transactions of their own."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def create(
        self,
        *,
        source: str,
        destination: str,
        types: Sequence[str],
        options: dict | None = None,
        source_credential_id: str | None = None,
        destination_credential_id: str | None = None,
        recurring_id: str | None = None,
    ) -> Job:
        job = Job(
            source=source,
            destination=destination,
            types=list(types),
            options=dict(options or {}),
            source_credential_id=source_credential_id,
            destination_credential_id=destination_credential_id,
            recurring_id=recurring_id,
            ledger_scope="",
        )
        job.ledger_scope = recurring_id or job.id
        with Session(self.engine, expire_on_commit=False) as session:
            session.add(job)
            session.commit()
        return job

    def get(self, job_id: str) -> Job:
        with Session(self.engine, expire_on_commit=False) as session:
            job = session.get(Job, job_id)
            if job is None:
                matches = session.exec(select(Job).where(col(Job.id).startswith(job_id))).all()
                if len(matches) == 1:
                    return matches[0]
                raise JobNotFound(job_id)
            return job

    def list(self, *, limit: int = 50, states: Sequence[JobState] | None = None, recurring_id: str | None = None) -> list[Job]:
        with Session(self.engine, expire_on_commit=False) as session:
            query = select(Job).order_by(col(Job.created_at).desc()).limit(limit)
            if states:
                query = query.where(col(Job.state).in_(list(states)))
            if recurring_id:
                query = query.where(Job.recurring_id == recurring_id)
            return list(session.exec(query).all())

    def set_state(
        self,
        job_id: str,
        state: JobState,
        reason: str | None = None,
        *,
        wake_at: datetime | None = None,
        wake_key: str | None = None,
    ) -> None:
        values: dict = {"state": state, "state_reason": reason, "updated_at": utcnow(), "wake_at": wake_at, "wake_key": wake_key}
        if state == JobState.RUNNING:
            values["started_at"] = utcnow()
        if state in (JobState.COMPLETE, JobState.CANCELED, JobState.FAILED):
            values["finished_at"] = utcnow()
        with Session(self.engine) as session:
            session.exec(update(Job).where(Job.id == job_id).values(**values))
            session.commit()

    def set_flow_run(self, job_id: str, flow_run_id: str | None) -> None:
        with Session(self.engine) as session:
            session.exec(update(Job).where(Job.id == job_id).values(flow_run_id=flow_run_id))
            session.commit()

    def add_counts(self, session: Session, job_id: str, *, imported: int, skipped: int, failed: int, nbytes: int) -> None:
        """Add page counters inside the caller's (page commit) transaction."""
        session.exec(
            update(Job)
            .where(Job.id == job_id)
            .values(
                items_imported=Job.items_imported + imported,
                items_skipped=Job.items_skipped + skipped,
                items_failed=Job.items_failed + failed,
                bytes_moved=Job.bytes_moved + nbytes,
                updated_at=utcnow(),
            )
        )

    # -- lease -------------------------------------------------------------------------------

    def claim(self, job_id: str, owner: str | None = None, *, force: bool = False) -> str:
        """Take the job's lease for ``owner`` (default: this process) or raise LeaseLost.

        Compare-and-swap on (lease_owner, lease_expires_at): of two runners racing for one job,
        exactly one update matches.
        """
        owner = owner or runner_id()
        job = self.get(job_id)
        now = utcnow()
        expires = as_utc(job.lease_expires_at)
        free = (
            force
            or job.lease_owner in (None, owner)
            or (expires is not None and expires < now)
            or _owner_is_dead(job.lease_owner)
        )
        if not free:
            raise LeaseLost(
                f"job {job_id} is being run by {job.lease_owner} (lease until {expires:%H:%M:%S} UTC); "
                "wait for it, or use --force if that runner is gone"
            )
        with Session(self.engine) as session:
            result = session.exec(
                update(Job)
                .where(Job.id == job.id)
                .where(Job.lease_owner == job.lease_owner if job.lease_owner is not None else Job.lease_owner.is_(None))
                .values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=LEASE_SECONDS))
            )
            session.commit()
            if result.rowcount != 1:
                raise LeaseLost(f"job {job_id} was claimed by another runner just now")
        return owner

    def renew(self, job_id: str, owner: str) -> None:
        with Session(self.engine) as session:
            result = session.exec(
                update(Job)
                .where(Job.id == job_id, Job.lease_owner == owner)
                .values(lease_expires_at=utcnow() + timedelta(seconds=LEASE_SECONDS))
            )
            session.commit()
            if result.rowcount != 1:
                raise LeaseLost(f"lost the lease on job {job_id}")

    def release(self, job_id: str, owner: str) -> None:
        with Session(self.engine) as session:
            session.exec(
                update(Job).where(Job.id == job_id, Job.lease_owner == owner).values(lease_owner=None, lease_expires_at=None)
            )
            session.commit()
