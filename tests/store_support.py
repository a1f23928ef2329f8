"""Helpers for tests that need a job in a given state (through the allowed transitions)."""

from __future__ import annotations

from flows.store import JobState, JobStore


def put_in_state(jobs: JobStore, job_id: str, state: JobState, reason: str | None = None) -> None:
    """Walk a NEW job to ``state`` the way a run would (NEW -> RUNNING -> state)."""
    if state != JobState.RUNNING:
        jobs.transition(job_id, JobState.RUNNING)
    jobs.transition(job_id, state, reason)


def rewrite_state(jobs: JobStore, job_id: str, state: JobState, reason: str | None = None) -> None:
    """Set a job's state outside the transition table: only for simulating what a crash leaves."""
    from sqlalchemy import update
    from sqlmodel import Session

    from flows.store import Job

    with Session(jobs.engine) as session:
        session.exec(update(Job).where(Job.id == job_id).values(state=state, state_reason=reason))
        session.commit()
