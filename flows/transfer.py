"""The ``transfer`` Prefect flow: authorize -> (export -> convert -> import) per page -> revoke.

The flow takes ids and plain strings only; tokens stay in the encrypted credential store and are
loaded inside tasks. Each step is one task run per page (see flows.steps), so the Prefect UI shows
the real life cycle without paying Prefect's per-task cost per item.

Job states: the flow moves a job NEW/PAUSED/FAILED/... -> RUNNING -> COMPLETE, or stops it in a
resumable state: PAUSED (destination full, or waiting for the source to prepare data),
NEEDS_REAUTH (credential dead) or FAILED (systemic error; ``ferry resume`` retries). A job killed
outright stays RUNNING with an expiring lease; ``ferry resume`` takes it over.
"""

from __future__ import annotations

from datetime import timedelta

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from connectors.errors import DestinationFull, FatalError, FerryError, ReauthRequired, SourceNotReady

from . import events, steps
from .limits import destination_slot
from .monitoring import publish_run_report
from .reauth import job_of_flow_run, suspend_for_reauth
from .runtime import close_runtime, get_runtime, validate_request
from .store import JobState, LeaseLost, utcnow

__all__ = ["transfer", "create_job", "TransferCanceled"]

_TASK = dict(cache_policy=NO_CACHE, persist_result=False)


class TransferCanceled(Exception):
    pass


@task(name="authorize", **_TASK)
def authorize(job_id: str) -> dict:
    return steps.authorize_job(job_id)


@task(name="export", task_run_name="export-{vertical}", **_TASK)
def export(job_id: str, vertical: str) -> steps.ExportedPage:
    return steps.export_page(job_id, vertical)


@task(name="convert", task_run_name="convert-{page.vertical}", **_TASK)
def convert(job_id: str, page: steps.ExportedPage) -> steps.ExportedPage:
    return steps.convert_page(job_id, page)


@task(name="import", task_run_name="import-{page.vertical}", **_TASK)
def import_(job_id: str, page: steps.ExportedPage) -> steps.PageResult:
    # one slot of the destination's Prefect limit (ferry-dest-<connector>) per page, if set up
    with destination_slot(get_runtime(job_id).destination.connector.name):
        return steps.import_page(job_id, page)


@task(name="revoke", **_TASK)
def revoke(job_id: str) -> list[str]:
    return steps.revoke_credentials(job_id)


def create_job(
    source: str,
    destination: str,
    types: list[str] | None = None,
    *,
    options: dict | None = None,
    source_credential_id: str | None = None,
    destination_credential_id: str | None = None,
    recurring_id: str | None = None,
    settings=None,
):
    """Validate a request and store it as a NEW job; raises ConfigError naming what is wrong."""
    from ferry.settings import load_settings

    from .store import JobStore, get_engine

    settings = settings or load_settings()
    _, _, routes = validate_request(source, destination, types or [])
    store = JobStore(get_engine(settings.resolved_database_url))
    return store.create(
        source=source,
        destination=destination,
        types=[route.requested.value for route in routes],
        options=options,
        source_credential_id=source_credential_id,
        destination_credential_id=destination_credential_id,
        recurring_id=recurring_id,
    )


def _engine():
    from ferry.settings import load_settings

    from .store import get_engine

    return get_engine(load_settings().resolved_database_url)


def _check_not_canceled(runtime) -> None:
    if runtime.store.get(runtime.job.id).state == JobState.CANCELED:
        raise TransferCanceled(runtime.job.id)
    if runtime.lease_owner:
        runtime.store.renew(runtime.job.id, runtime.lease_owner)


def _run_vertical(runtime, job_id: str, vertical: str) -> None:
    while True:
        _check_not_canceled(runtime)
        page = export(job_id, vertical)
        if page.waiting is not None:
            raise SourceNotReady(page.waiting["message"], cursor=page.waiting, check_after=page.waiting["check_after"], wake_key=page.waiting["wake_key"])
        if page.done and not page.items and page.next_cursor is None and not page.problems:
            # nothing left, or an empty final page: mark it done and stop
            runtime.ledger.save_cursor(job_id, vertical, None, done=True, converter_state=page.converter_state)
            return
        page = convert(job_id, page)
        import_(job_id, page)
        if page.done:
            return


def _flow_run_name() -> str:
    from prefect.runtime import flow_run

    job_id = flow_run.parameters.get("job_id") or "new"
    return f"transfer-{str(job_id)[:8]}"


@flow(name="transfer", flow_run_name=_flow_run_name, log_prints=False, validate_parameters=True)
def transfer(
    job_id: str | None = None,
    source: str | None = None,
    destination: str | None = None,
    types: list[str] | None = None,
    source_credential_id: str | None = None,
    destination_credential_id: str | None = None,
    force: bool = False,
) -> dict:
    """Run (or resume) one transfer job and return its secret-free summary.

    Give ``job_id`` to run or resume a stored job, or ``source``/``destination``/``types`` (and
    credential ids, never tokens) to create one, as the Prefect UI deployment does.
    """
    from prefect.runtime import flow_run

    if job_id is None:
        if not (source and destination):
            raise FatalError("give either job_id, or source and destination")
        # a suspended (NEEDS_REAUTH) deployment run re-executes from the top: find its job again
        resumed = job_of_flow_run(_engine(), str(flow_run.id) if flow_run.id else None)
        job_id = resumed.id if resumed is not None else create_job(
            source,
            destination,
            types,
            source_credential_id=source_credential_id,
            destination_credential_id=destination_credential_id,
        ).id
    runtime = get_runtime(job_id)
    store = runtime.store
    job = store.get(job_id)
    if job.state.is_final:
        close_runtime(job_id)
        return summarize(runtime)
    try:
        runtime.lease_owner = store.claim(job_id, force=force)
    except LeaseLost:
        close_runtime(job_id)
        raise
    store.set_flow_run(job_id, str(flow_run.id) if flow_run.id else None)
    store.set_state(job_id, JobState.RUNNING)
    final_state, reason = JobState.COMPLETE, None
    try:
        authorize(job_id)
        for vertical in runtime.routes:
            _run_vertical(runtime, job_id, vertical)
    except TransferCanceled:
        final_state, reason = JobState.CANCELED, "canceled by the user"
    except SourceNotReady as exc:
        cursor = exc.cursor["cursor"] if isinstance(exc.cursor, dict) else exc.cursor.model_dump_json()
        runtime.ledger.save_cursor(job_id, _current_vertical(runtime), cursor)
        store.set_state(
            job_id,
            JobState.PAUSED,
            f"waiting for source: {exc}",
            wake_at=utcnow() + timedelta(seconds=exc.check_after),
            wake_key=exc.wake_key,
        )
        return _finish(runtime, None, None)
    except DestinationFull as exc:
        final_state, reason = JobState.PAUSED, f"destination full: {exc}; free space, then `ferry resume {job_id[:8]}`"
    except ReauthRequired as exc:
        final_state, reason = JobState.NEEDS_REAUTH, str(exc)
    except LeaseLost as exc:
        close_runtime(job_id)
        raise FatalError(str(exc)) from exc
    except FerryError as exc:
        final_state, reason = JobState.FAILED, str(exc)
    except Exception as exc:  # unexpected: keep the job resumable, say what happened, keep the trace
        from prefect.logging import get_run_logger

        get_run_logger().exception("job %s stopped on an unexpected error", job_id)
        final_state, reason = JobState.FAILED, f"{type(exc).__name__}: {exc}"
    return _finish(runtime, final_state, reason)


def _current_vertical(runtime) -> str:
    for vertical in runtime.routes:
        saved = runtime.ledger.cursor(runtime.job.id, vertical)
        if saved is None or not saved.done:
            return vertical
    return next(iter(runtime.routes))


def _finish(runtime, final_state: JobState | None, reason: str | None) -> dict:
    job_id = runtime.job.id
    store = runtime.store
    try:
        if final_state is not None:
            store.set_state(job_id, final_state, reason)
        if final_state in (JobState.COMPLETE, JobState.CANCELED):
            if final_state == JobState.CANCELED:
                _cancel_source(runtime)
            revoke(job_id)
            if runtime.stages_bytes:
                runtime.staging.clear()
        summary = summarize(runtime)
        publish_run_report(summary)
        events.emit_item_failures(summary)
    finally:
        if runtime.lease_owner:
            store.release(job_id, runtime.lease_owner)
        close_runtime(job_id)
    if final_state == JobState.NEEDS_REAUTH:
        job = runtime.job
        return suspend_for_reauth(summary, [c for c in (job.source_credential_id, job.destination_credential_id) if c])
    return summary


def _cancel_source(runtime) -> None:
    cancel = getattr(runtime.exporter, "cancel_pending", None)
    if cancel is None:
        return
    for saved in runtime.ledger.cursors(runtime.job.id):
        if saved.cursor_json and not saved.done:
            try:
                cancel(runtime.exporter.cursor_model.model_validate_json(saved.cursor_json))
            except FerryError:
                pass


def summarize(runtime) -> dict:
    """Secret-free summary of a job: state, counters, per-vertical figures and first errors."""
    job = runtime.store.get(runtime.job.id)
    errors = runtime.ledger.errors(job.id, limit=50)
    per_vertical = runtime.ledger.figures(job.ledger_scope, job.id)
    return {
        "job_id": job.id,
        "recurring_id": job.recurring_id,
        "source": job.source,
        "destination": job.destination,
        "state": job.state.value,
        "reason": job.state_reason,
        "imported": job.items_imported,
        "skipped": job.items_skipped,
        "failed": job.items_failed,
        "bytes": job.bytes_moved,
        "per_vertical": per_vertical,
        "errors": [{"item_id": e.item_id, "item": e.item_name, "vertical": e.vertical, "message": e.message} for e in errors],
    }
