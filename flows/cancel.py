"""Canceling a job: the state first, then whatever the job left at the source and in staging.

A running job notices CANCELED after its current page and cleans up itself (:mod:`flows.engine`
calls :func:`cancel_at_source`). A job nobody runs (waiting for TikTok, paused, failed) is cleaned
up here at once: the source's pending request is taken back (``Capabilities.cancels_requests``),
staged bytes are removed, and credentials no other job uses are revoked.
"""

from __future__ import annotations

import logging

from connectors.errors import FerryError

from .context import FerryContext
from .runtime import JobRuntime, close_runtime, open_runtime
from .steps import revoke_credentials

__all__ = ["cancel_job", "cancel_at_source"]

log = logging.getLogger(__name__)


def cancel_at_source(runtime: JobRuntime) -> None:
    """Take back what the job asked the source to prepare; failures are logged, never raised.

    The exporter gets every unfinished vertical's saved cursor, then ``None`` once: a request
    recorded only in the job's state slot (ferry stopped right after asking, before any cursor
    was saved) is found and canceled too. ``cancel_pending`` is idempotent, so a request seen
    through several cursors is canceled once.
    """
    if not runtime.source.connector.capabilities.cancels_requests:
        return
    exporter = runtime.exporter
    cursors = [
        exporter.cursor_model.load(saved.cursor_json, saved.cursor_version)
        for saved in runtime.ledger.cursors(runtime.job.id)
        if saved.cursor_json and not saved.done
    ]
    for cursor in [*cursors, None]:
        try:
            exporter.cancel_pending(cursor)
        except FerryError as exc:
            log.warning("job %s: could not cancel the request at the source: %s", runtime.job.id[:8], exc)


def cancel_job(ctx: FerryContext, job_id: str) -> bool:
    """Cancel ``job_id``; returns True when it was cleaned up here (no runner held it)."""
    job = ctx.jobs.get(job_id)
    ctx.jobs.cancel(job.id)
    if job.lease_owner is not None and not ctx.jobs.lease_is_stale(job.id):
        return False  # its runner stops after the current page and cleans up
    runtime = open_runtime(ctx, job.id)
    try:
        cancel_at_source(runtime)
        runtime.staging.clear()
        revoke_credentials(runtime)
    finally:
        close_runtime(job.id)
    return True
