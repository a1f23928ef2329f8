"""Waking transfers that wait for their source (TikTok prepares exports asynchronously).

A job whose exporter raised ``SourceNotReady`` is WAITING with ``wake_at`` (when to poll again)
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

from .context import FerryContext
from .store import utcnow

__all__ = ["wake_due_jobs", "on_source_ready", "resume_job"]

TRANSFER_DEPLOYMENT = "transfer/transfer"
log = logging.getLogger(__name__)


def resume_job(ctx: FerryContext, job_id: str, *, via_deployment: bool = True) -> str:
    """Resume ``job_id``: as a deployment run if one exists, else in this process with ``ctx``. Returns how."""
    if via_deployment:
        try:
            from prefect.deployments import run_deployment

            run_deployment(TRANSFER_DEPLOYMENT, parameters={"job_id": job_id}, timeout=0)
            return "deployment"
        except Exception as exc:  # no server, no deployment: fall back to running here
            log.debug("no %s deployment (%s); resuming %s in-process", TRANSFER_DEPLOYMENT, exc, job_id)
    from .runtime import bind_context
    from .transfer import transfer

    with bind_context(job_id, ctx):
        transfer(job_id=job_id, return_state=True)
    return "in-process"


def wake_due_jobs(ctx: FerryContext, *, via_deployment: bool = True, resume: Callable[[str], object] | None = None) -> list[str]:
    """Resume every WAITING job whose time has come; returns their ids (``ctx``: the caller's)."""
    woken = []
    for job in ctx.jobs.waiting(due_by=utcnow()):
        (resume or (lambda job_id: resume_job(ctx, job_id, via_deployment=via_deployment)))(job.id)
        woken.append(job.id)
    return woken


def on_source_ready(wake_key: str, payload: dict, *, ctx: FerryContext) -> list[str]:
    """Webhook hook (``ferry serve-webhooks``, which builds ``ctx`` once and binds it): the
    source says request ``wake_key`` is ready.

    Idempotent: a duplicate delivery finds the job already running or done and does nothing.
    The resume runs in a background thread so the webhook answers at once.
    """
    store = ctx.jobs
    woken = []
    for job in store.waiting(key=str(wake_key)):
        store.set_wake_at(job.id, utcnow())  # if the resume below fails, the next poll retries it
        threading.Thread(target=_resume_quietly, args=(ctx, job.id), name=f"wake-{job.id[:8]}", daemon=True).start()
        woken.append(job.id)
    return woken


def _resume_quietly(ctx: FerryContext, job_id: str) -> None:
    try:
        resume_job(ctx, job_id)
    except Exception:  # the job stays WAITING and due: polling picks it up
        log.exception("resuming job %s after a webhook failed", job_id)
