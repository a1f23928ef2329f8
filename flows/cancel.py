"""Canceling a job: the state first, then whatever the job left at the source and in staging.

A running job notices CANCELED after its current page and cleans up itself (flows.transfer). A
job nobody runs (waiting for TikTok, paused, failed) is cleaned up here at once: the source's
pending request is taken back (``Capabilities.cancels_requests``), staged bytes and manifests
are removed, and credentials no other job uses are revoked.
"""

from __future__ import annotations

import logging

from connectors.errors import FerryError

from .context import FerryContext
from .runtime import close_runtime, open_runtime
from .steps import revoke_credentials
from .store import JobState

__all__ = ["cancel_job"]

log = logging.getLogger(__name__)


def cancel_job(ctx: FerryContext, job_id: str) -> bool:
    """Cancel ``job_id``; returns True when it was cleaned up here (no runner held it)."""
    job = ctx.jobs.get(job_id)
    ctx.jobs.cancel(job.id)
    if job.lease_owner is not None and not ctx.jobs.lease_is_stale(job.id):
        return False  # its runner stops after the current page and cleans up
    runtime = open_runtime(ctx, job.id)
    try:
        if runtime.source.connector.capabilities.cancels_requests:
            for saved in ctx.ledger.cursors(job.id):
                if saved.cursor_json and not saved.done:
                    try:
                        runtime.exporter.cancel_pending(runtime.exporter.cursor_model.load(saved.cursor_json, saved.cursor_version))
                    except FerryError as exc:
                        log.warning("job %s: could not cancel the request at the source: %s", job.id[:8], exc)
        runtime.staging.clear()
        revoke_credentials(runtime)
    finally:
        close_runtime(job.id)
    return True
