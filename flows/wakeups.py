"""Waking transfers that wait for their source (TikTok prepares exports asynchronously).

A job whose exporter raised ``SourceNotReady`` is PAUSED with ``wake_at`` (when to poll again)
and ``wake_key`` (the source's request id). No process waits for it: the state is in the job
store, so it survives a ferry restart. It is resumed by whichever comes first:

* the source's webhook: ``ferry serve-webhooks`` calls :func:`on_source_ready` with the key;
* polling: :func:`wake_due_jobs`, run by ``ferry wake`` or the scheduled ``resume-waiting``
  deployment, resumes every waiting job whose ``wake_at`` has passed.

Resuming goes through a Prefect deployment run when one is reachable (workers pick it up) and
otherwise runs the flow in this process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlmodel import Session, col, select

from .store import Job, JobState, JobStore, as_utc, get_engine, utcnow

__all__ = ["WAITING_PREFIX", "waiting_jobs", "due_jobs", "wake_due_jobs", "on_source_ready", "resume_job"]

WAITING_PREFIX = "waiting for source"
TRANSFER_DEPLOYMENT = "transfer/transfer"
log = logging.getLogger(__name__)


def waiting_jobs(store: JobStore, *, key: str | None = None) -> list[Job]:
    with Session(store.engine, expire_on_commit=False) as session:
        query = select(Job).where(Job.state == JobState.PAUSED, col(Job.state_reason).startswith(WAITING_PREFIX))
        if key is not None:
            query = query.where(Job.wake_key == key)
        return list(session.exec(query).all())


def due_jobs(store: JobStore) -> list[Job]:
    now = utcnow()
    due = []
    for job in waiting_jobs(store):
        wake_at = as_utc(job.wake_at)
        if wake_at is None or wake_at <= now:
            due.append(job)
    return due


def resume_job(job_id: str, *, via_deployment: bool = True) -> str:
    """Resume ``job_id``: as a deployment run if one exists, else in this process. Returns how."""
    if via_deployment:
        try:
            from prefect.deployments import run_deployment

            run_deployment(TRANSFER_DEPLOYMENT, parameters={"job_id": job_id}, timeout=0)
            return "deployment"
        except Exception as exc:  # no server, no deployment: fall back to running here
            log.debug("no %s deployment (%s); resuming %s in-process", TRANSFER_DEPLOYMENT, exc, job_id)
    from .transfer import transfer

    transfer(job_id=job_id)
    return "in-process"


def wake_due_jobs(settings=None, *, via_deployment: bool = True, resume: Callable[[str], object] | None = None) -> list[str]:
    """Resume every waiting job whose time has come; returns their ids."""
    from ferry.settings import load_settings

    settings = settings or load_settings()
    store = JobStore(get_engine(settings.resolved_database_url))
    woken = []
    for job in due_jobs(store):
        (resume or (lambda job_id: resume_job(job_id, via_deployment=via_deployment)))(job.id)
        woken.append(job.id)
    return woken


def on_source_ready(wake_key: str, payload: dict) -> list[str]:
    """Webhook hook (``ferry serve-webhooks``): the source says request ``wake_key`` is ready.

    Idempotent: a duplicate delivery finds the job already running or done and does nothing.
    The resume runs in a background thread so the webhook answers at once.
    """
    from ferry.settings import load_settings

    store = JobStore(get_engine(load_settings().resolved_database_url))
    woken = []
    for job in waiting_jobs(store, key=str(wake_key)):
        store.set_state(job.id, JobState.PAUSED, job.state_reason, wake_at=utcnow(), wake_key=job.wake_key)
        threading.Thread(target=_resume_quietly, args=(job.id,), name=f"wake-{job.id[:8]}", daemon=True).start()
        woken.append(job.id)
    return woken


def _resume_quietly(job_id: str) -> None:
    try:
        resume_job(job_id)
    except Exception:  # the job stays PAUSED and due: polling picks it up
        log.exception("resuming job %s after a webhook failed", job_id)

