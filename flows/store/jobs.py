"""Jobs: creation, state changes and the lease that keeps one runner per job.

Every state change goes through :meth:`JobStore.transition`, which checks it against
:data:`ALLOWED` and applies it with a compare-and-swap on the current state, so two processes
(a worker and ``ferry cancel``, say) can never move a job along an edge the table does not have.

Why a lease and not a lock: a runner killed with ``kill -9`` never releases anything. A lease
expires by itself (``LEASE_SECONDS`` after the last renewal, renewed every page), and a runner on
the same host whose process is gone is recognised at once, so ``ferry resume`` right after a
crash does not have to wait.
"""

from __future__ import annotations

import builtins
import os
import socket
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from connectors.errors import FerryError

from .tables import Job, JobState, as_utc, utcnow

LEASE_SECONDS = 120

__all__ = ["ALLOWED", "IllegalTransition", "JobStore", "LeaseLost", "JobNotFound", "runner_id"]

_S = JobState
#: Allowed job state changes: from -> the states it may move to.
ALLOWED: dict[JobState, frozenset[JobState]] = {
    _S.NEW: frozenset({_S.RUNNING, _S.CANCELED, _S.NEEDS_REAUTH}),  # its credential died before it ran
    _S.RUNNING: frozenset({_S.RUNNING, _S.COMPLETE, _S.FAILED, _S.PAUSED, _S.NEEDS_REAUTH, _S.WAITING, _S.CANCELED}),
    _S.WAITING: frozenset({_S.RUNNING, _S.CANCELED, _S.NEEDS_REAUTH, _S.FAILED}),
    _S.PAUSED: frozenset({_S.RUNNING, _S.CANCELED, _S.NEEDS_REAUTH}),
    _S.NEEDS_REAUTH: frozenset({_S.RUNNING, _S.CANCELED, _S.PAUSED}),
    _S.FAILED: frozenset({_S.RUNNING, _S.CANCELED, _S.NEEDS_REAUTH}),
    _S.COMPLETE: frozenset({_S.PAUSED}),  # only `ferry resume --retry-failed` reopens a complete job
    _S.CANCELED: frozenset(),
}


class IllegalTransition(FerryError):
    """A job state change the table does not allow (or another process changed the state first)."""


class JobNotFound(LookupError):
    def __init__(self, job_id: str, *, ambiguous: bool = False):
        what = f"more than one job starts with {job_id!r}; give more of the id" if ambiguous else f"no job {job_id!r}"
        super().__init__(f"{what}; `ferry jobs list` shows the known jobs")
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
        """By id or unique id prefix; JobNotFound (also for an ambiguous prefix) otherwise."""
        with Session(self.engine, expire_on_commit=False) as session:
            job = session.get(Job, job_id)
            if job is None:
                matches = session.exec(select(Job).where(col(Job.id).startswith(job_id)).limit(2)).all()
                if len(matches) == 1:
                    return matches[0]
                raise JobNotFound(job_id, ambiguous=len(matches) > 1)
            return job

    def updated_since(self, start: datetime) -> list[Job]:
        with Session(self.engine, expire_on_commit=False) as session:
            return list(session.exec(select(Job).where(col(Job.updated_at) >= start)).all())

    def list(self, *, limit: int = 50, states: Sequence[JobState] | None = None, recurring_id: str | None = None) -> list[Job]:
        with Session(self.engine, expire_on_commit=False) as session:
            query = select(Job).order_by(col(Job.created_at).desc()).limit(limit)
            if states:
                query = query.where(col(Job.state).in_(list(states)))
            if recurring_id:
                query = query.where(Job.recurring_id == recurring_id)
            return list(session.exec(query).all())

    def transition(
        self,
        job_id: str,
        state: JobState,
        reason: str | None = None,
        *,
        wake_at: datetime | None = None,
        wake_key: str | None = None,
        only_from: Sequence[JobState] | None = None,
    ) -> JobState:
        """Move ``job_id`` to ``state`` if :data:`ALLOWED` (and ``only_from``, if given) permits.

        Returns the state the job left. Raises IllegalTransition naming both states when the job
        is in a state that may not move there (checked again inside the UPDATE, so a concurrent
        change is never overwritten).
        """
        current = self.get(job_id)
        sources = [s for s, targets in ALLOWED.items() if state in targets]
        if only_from is not None:
            sources = [s for s in sources if s in only_from]
        if current.state not in sources:
            raise IllegalTransition(f"job {current.id[:8]} is {current.state.value}; it cannot become {state.value}")
        now = utcnow()
        values: dict = {"state": state, "state_reason": reason, "updated_at": now, "wake_at": wake_at, "wake_key": wake_key}
        if state == JobState.RUNNING:
            values["started_at"] = now
            values["finished_at"] = None
        if state in (JobState.COMPLETE, JobState.CANCELED, JobState.FAILED):
            values["finished_at"] = now
        with Session(self.engine) as session:
            result = session.exec(update(Job).where(Job.id == current.id, Job.state == current.state).values(**values))
            session.commit()
        if result.rowcount != 1:
            return self.transition(job_id, state, reason, wake_at=wake_at, wake_key=wake_key, only_from=only_from)
        return current.state

    def cancel(self, job_id: str, reason: str = "canceled by the user") -> JobState:
        return self.transition(job_id, JobState.CANCELED, reason)

    def of_flow_run(self, flow_run_id: str | None) -> Job | None:
        """The job a (re-executed) flow run was working on, so a resumed run does not start anew."""
        if not flow_run_id:
            return None
        with Session(self.engine, expire_on_commit=False) as session:
            return session.exec(select(Job).where(Job.flow_run_id == str(flow_run_id)).order_by(col(Job.created_at).desc())).first()

    def using_credential(self, credential_id: str, *, unfinished: bool = True) -> builtins.list[Job]:
        """Jobs using ``credential_id`` (unfinished ones by default)."""
        with Session(self.engine, expire_on_commit=False) as session:
            query = select(Job).where((Job.source_credential_id == credential_id) | (Job.destination_credential_id == credential_id))
            if unfinished:
                query = query.where(col(Job.state).notin_([JobState.COMPLETE, JobState.CANCELED]))
            return list(session.exec(query).all())

    def waiting(self, *, key: str | None = None, due_by: datetime | None = None) -> builtins.list[Job]:
        """WAITING jobs (for the source's webhook ``key``, or due to be polled by ``due_by``)."""
        with Session(self.engine, expire_on_commit=False) as session:
            query = select(Job).where(Job.state == JobState.WAITING)
            if key is not None:
                query = query.where(Job.wake_key == key)
            if due_by is not None:
                query = query.where((col(Job.wake_at).is_(None)) | (col(Job.wake_at) <= due_by))
            return list(session.exec(query).all())

    def set_wake_at(self, job_id: str, when: datetime | None) -> None:
        """When a WAITING job should be polled next (not a state change)."""
        with Session(self.engine) as session:
            session.exec(update(Job).where(Job.id == job_id, Job.state == JobState.WAITING).values(wake_at=when))
            session.commit()

    def set_flow_run(self, job_id: str, flow_run_id: str | None) -> None:
        with Session(self.engine) as session:
            session.exec(update(Job).where(Job.id == job_id).values(flow_run_id=flow_run_id))
            session.commit()

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

    def lease_is_stale(self, job_id: str) -> bool:
        """True when nobody holds the job's lease, it expired, or its runner process is gone."""
        job = self.get(job_id)
        expires = as_utc(job.lease_expires_at)
        return job.lease_owner is None or (expires is not None and expires < utcnow()) or _owner_is_dead(job.lease_owner)

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
