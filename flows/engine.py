"""The engine: claim a job, run every vertical page by page, finish it in the right state.

The steps it calls come in as a :class:`Steps` record: Prefect tasks in the ``transfer`` flow
(:data:`flows.transfer.PREFECT_STEPS`), plain functions in tests and benches
(:data:`PLAIN_STEPS`), so the engine can be tested without a Prefect server.

Job states (:data:`flows.store.jobs.ALLOWED`): a run moves the job to RUNNING, then to COMPLETE,
or stops it resumable: WAITING (the source prepares data; a webhook or poll wakes it), PAUSED
(destination full, interrupted), NEEDS_REAUTH (credential dead) or FAILED (systemic error, or
the retry budget spent). A job killed outright stays RUNNING with an expiring lease; ``ferry
resume`` takes it over. FAILED and NEEDS_REAUTH emit events an Automation can match.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from connectors.errors import DestinationFull, FatalError, FerryError, ReauthRequired, SourceNotReady

from . import events, steps
from .cancel import cancel_at_source
from .context import FerryContext
from .monitoring import publish_run_report
from .pages import ExportedPage, PageResult, RunSummary
from .reauth import suspend_for_reauth, with_reconnect_hint
from .runtime import JobRuntime, close_runtime, get_runtime, open_runtime
from .state_slot import SOURCE
from .store import JobState, LeaseLost, utcnow
from .summary import summarize

__all__ = ["Steps", "PLAIN_STEPS", "TransferCanceled", "run_job"]

log = logging.getLogger(__name__)


class TransferCanceled(FerryError):
    """The job was canceled (``ferry cancel``) while it ran; it stops after its current page."""


@dataclass(frozen=True)
class Steps:
    """The five steps, each called with the job id (and the page)."""

    authorize: Callable[[str], dict]
    export: Callable[[str, str], ExportedPage]
    convert: Callable[[str, ExportedPage], ExportedPage]
    import_: Callable[[str, ExportedPage], PageResult]
    revoke: Callable[[str], list[str]]


PLAIN_STEPS = Steps(
    authorize=lambda job_id: steps.authorize_job(get_runtime(job_id)),
    export=lambda job_id, vertical: steps.export_page(get_runtime(job_id), vertical),
    convert=lambda job_id, page: steps.convert_page(get_runtime(job_id), page),
    import_=lambda job_id, page: steps.import_page(get_runtime(job_id), page),
    revoke=lambda job_id: steps.revoke_credentials(get_runtime(job_id)),
)


def run_job(ctx: FerryContext, job_id: str, run: Steps = PLAIN_STEPS, *, force: bool = False, flow_run_id: str | None = None) -> RunSummary:
    """The body of the flow: claim the job, run every vertical, finish with the right state."""
    runtime = open_runtime(ctx, job_id)
    job = ctx.jobs.get(job_id)
    if job.state.is_final:
        close_runtime(job.id)
        return summarize(ctx, job.id)
    try:
        runtime.lease_owner = ctx.jobs.claim(job.id, force=force)
    except LeaseLost:
        close_runtime(job.id)
        raise
    ctx.jobs.set_flow_run(job.id, flow_run_id)
    ctx.jobs.transition(job.id, JobState.RUNNING)
    final, reason, wake = JobState.COMPLETE, None, None
    try:
        run.authorize(job.id)
        for vertical in runtime.routes:
            _run_vertical(runtime, run, vertical)
    except TransferCanceled:
        final, reason = JobState.CANCELED, "canceled by the user"
    except steps.Interrupted:
        final, reason = JobState.PAUSED, f"interrupted; continue with `ferry resume {job.id[:8]}`"
    except SourceNotReady as exc:
        final, reason = JobState.WAITING, str(exc)
        wake = (utcnow() + timedelta(seconds=exc.check_after), exc.wake_key)
    except DestinationFull as exc:
        final, reason = JobState.PAUSED, f"destination full: {exc}; free space, then `ferry resume {job.id[:8]}`"
    except ReauthRequired as exc:  # the reason names the one command that fixes it
        final, reason = JobState.NEEDS_REAUTH, with_reconnect_hint(str(exc), (job.source_credential_id, job.destination_credential_id))
    except LeaseLost as exc:
        close_runtime(job.id)
        raise FatalError(str(exc)) from exc
    except FerryError as exc:
        final, reason = JobState.FAILED, str(exc)
    except Exception as exc:  # unexpected: keep the job resumable, say what happened, keep the trace
        _run_logger().exception("job %s stopped on an unexpected error", job.id)
        final, reason = JobState.FAILED, f"{type(exc).__name__}: {exc}"
    return _finish(runtime, run, final, reason, wake)


def _run_logger():
    """The flow run's logger (the UI keeps the traceback), or this module's outside a flow."""
    try:
        from prefect.logging import get_run_logger

        return get_run_logger()
    except Exception:
        return log


def _run_vertical(runtime: JobRuntime, run: Steps, vertical: str) -> None:
    job_id = runtime.job.id
    while True:
        _check_not_canceled(runtime)
        page = run.export(job_id, vertical)
        if page.waiting is not None:
            runtime.ledger.save_cursor(job_id, vertical, page.waiting.cursor_json, cursor_version=runtime.exporter.cursor_model.version)
            raise SourceNotReady(page.waiting.message, cursor=None, check_after=page.waiting.check_after, wake_key=page.waiting.wake_key)
        if page.done and not page.items and page.next_cursor is None:
            # nothing left, or an empty final page: mark it done and stop
            runtime.ledger.commit_page(
                job_id=job_id, scope=runtime.job.ledger_scope, vertical=vertical, cursor_json=None, done=True, converter_state=page.converter_state
            )
            if page.bookmark is not None:
                runtime.ledger.save_bookmark(runtime.job.ledger_scope, vertical, page.bookmark, runtime.exporter.cursor_model.version)
            return
        if not runtime.routes[vertical].is_identity:  # a no-op convert costs a task run per page
            page = run.convert(job_id, page)
        run.import_(job_id, page)
        if page.done:
            return


def _check_not_canceled(runtime: JobRuntime) -> None:
    if runtime.stop.is_set():
        raise steps.Interrupted(runtime.job.id)
    if runtime.store.get(runtime.job.id).state == JobState.CANCELED:
        raise TransferCanceled(runtime.job.id)
    if runtime.lease_owner:
        runtime.store.renew(runtime.job.id, runtime.lease_owner)


def _finish(runtime: JobRuntime, run: Steps, final: JobState, reason: str | None, wake) -> RunSummary:
    ctx, job_id = runtime.ctx, runtime.job.id
    try:
        if final != JobState.CANCELED or ctx.jobs.get(job_id).state != JobState.CANCELED:
            wake_at, wake_key = wake or (None, None)
            ctx.jobs.transition(job_id, final, reason, wake_at=wake_at, wake_key=wake_key)
        if final in (JobState.COMPLETE, JobState.CANCELED):
            if final == JobState.CANCELED:
                cancel_at_source(runtime)
            if not _retryable_failures(runtime):
                run.revoke(job_id)
                # nothing left a retry could fetch: the source's job-scoped state goes too
                runtime.ledger.clear_state(job_id, SOURCE)
            if runtime.stages_bytes:
                runtime.staging.clear()
        summary = summarize(ctx, job_id)
        publish_run_report(summary)
        events.emit_item_failures(summary)
        if final == JobState.FAILED:
            events.emit_job_failed(summary)
    finally:
        if runtime.lease_owner:
            ctx.jobs.release(job_id, runtime.lease_owner)
        close_runtime(job_id)
    if final == JobState.NEEDS_REAUTH:
        job = runtime.job
        suspend_for_reauth(summary, [c for c in (job.source_credential_id, job.destination_credential_id) if c])
    return summary


def _retryable_failures(runtime: JobRuntime) -> bool:
    """Items that failed for a reason a retry can fix keep the credential alive (resume works)."""
    return any(row.retryable for row in runtime.ledger.failures(runtime.job.id, limit=10_000))
