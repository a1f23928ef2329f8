"""The ``transfer`` Prefect flow: authorize -> (export -> convert -> import) per page -> revoke.

The body is :func:`flows.engine.run_job`; this module makes its steps Prefect tasks and its end
state a Prefect state.

The flow takes ids and plain strings only; tokens stay in the encrypted credential store and are
loaded inside tasks. Each step is one task run per page (see :mod:`flows.steps`), so the Prefect
UI shows the real life cycle without paying Prefect's per-task cost per item; a page crosses from
task to task as a :class:`flows.pages.PageTicket` (its items stay in the job's runtime), because
Prefect walks every task parameter and result and a page of items made that cost per item.

Job states are the engine's (:mod:`flows.engine`). Prefect shows the truth: COMPLETE ends the flow run Completed, FAILED ends it Failed with the
reason, PAUSED / WAITING / NEEDS_REAUTH end it Paused; FAILED and NEEDS_REAUTH emit events an
Automation can match (:mod:`flows.events`).

Context: an entry point that runs this flow in-process (``ferry transfer``, ferry's runner) binds
the context it built (:func:`flows.runtime.bind_context`); a run started by a worker or the UI
has none and builds its own, once. A job left RUNNING by a process that died (``kill -9``) has a
flow run that nobody will finish: the next run of the job marks it Crashed, so the UI does not
show it running forever even when heartbeats are off.
"""

from __future__ import annotations

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.settings import get_current_settings
from prefect.states import Completed, Failed, Paused, State

from connectors.errors import ConfigError, FerryError

from . import steps
from .context import open_context
from .engine import Steps, run_job
from .limits import destination_slot
from .pages import ExportedPage, PageResult, PageTicket, RunSummary
from .requests import create_job, split_types
from .runtime import bound_context, get_runtime
from .store import JobState

__all__ = ["transfer", "as_prefect_state", "PREFECT_STEPS"]

_TASK = dict(cache_policy=NO_CACHE, persist_result=False)

#: The flow's results are never persisted (its summary lives in ferry's store and in the run's
#: artifacts). Saying so, with Prefect's local result folder named up front (nothing is written
#: there), spares every flow run two calls to the API for the server's default result storage
#: (``persist_result=None`` and ``result_storage=None`` each ask it): about 0.15 s of a one-file
#: transfer's 0.7 s in the runner on a loaded machine.
_FLOW_RESULTS = dict(persist_result=False, result_storage=get_current_settings().results.local_storage_path)


@task(name="authorize", **_TASK)
def authorize(job_id: str) -> dict:
    return steps.authorize_job(get_runtime(job_id))


@task(name="export", task_run_name="export-{vertical}", **_TASK)
def export(job_id: str, vertical: str) -> PageTicket:
    runtime = get_runtime(job_id)
    return runtime.hold(steps.export_page(runtime, vertical))


@task(name="convert", task_run_name="convert-{ticket.vertical}", **_TASK)
def convert(job_id: str, ticket: PageTicket) -> PageTicket:
    runtime = get_runtime(job_id)
    return runtime.hold(steps.convert_page(runtime, runtime.take(ticket)))


@task(name="import", task_run_name="import-{ticket.vertical}", **_TASK)
def import_(job_id: str, ticket: PageTicket) -> PageResult:
    runtime = get_runtime(job_id)
    # one slot of the destination's Prefect limit (ferry-dest-<connector>) per page, if set up
    with destination_slot(runtime.destination.connector.name):
        return steps.import_page(runtime, runtime.take(ticket))


@task(name="revoke", **_TASK)
def revoke(job_id: str) -> list[str]:
    return steps.revoke_credentials(get_runtime(job_id))


def _flow_run_name() -> str:
    """``transfer meta→generic 3f2a1b9c``: what the run moves, readable in the UI."""
    from prefect.runtime import flow_run

    params = flow_run.parameters
    job_id = params.get("job_id")
    source, destination = params.get("source"), params.get("destination")
    if job_id:
        try:
            job = (bound_context(str(job_id)) or open_context()).jobs.get(str(job_id))
            source, destination, job_id = job.source, job.destination, job.id
        except (LookupError, FerryError):
            pass
    return f"transfer {_connector_name(source, 'source')}→{_connector_name(destination, 'destination')} {str(job_id or 'new')[:8]}"


def _connector_name(endpoint: str | None, role: str) -> str:
    from connectors import registry

    try:
        return registry.parse_endpoint(str(endpoint), role=role).connector.name
    except FerryError:
        return "?"


@flow(name="transfer", flow_run_name=_flow_run_name, log_prints=False, validate_parameters=True, **_FLOW_RESULTS)
def transfer(
    job_id: str | None = None,
    source: str | None = None,
    destination: str | None = None,
    types: list[str] | str | None = None,
    source_credential_id: str | None = None,
    destination_credential_id: str | None = None,
    force: bool = False,
) -> State:
    """Run (or resume) one transfer job; returns its secret-free summary.

    Args:
        job_id: a stored job to run or resume (`ferry jobs list` shows them). Leave empty to
            create a job from the fields below.
        source: where the data comes from, NAME:LOCATION, e.g. `meta:/data/facebook.zip` or
            `tiktok:`; used only without job_id.
        destination: where it goes, e.g. `/backups/me`, `s3://bucket/me` or
            `generic:https://dest.example/dtp`; used only without job_id.
        types: data types, a list or a comma string: photos, videos, media, social-posts,
            calendar, blobs. Empty: everything both sides support.
        source_credential_id: id of a stored credential for the source (`ferry auth list`);
            never a token.
        destination_credential_id: id of a stored credential for the destination.
        force: take the job over even if another runner's lease is still valid.
    """
    from prefect.runtime import flow_run

    ctx = bound_context(job_id) or open_context()
    if job_id is None:
        if not (source and destination):
            raise ConfigError("give either job_id, or source and destination")
        # a suspended (NEEDS_REAUTH) deployment run re-executes from the top: find its job again
        resumed = ctx.jobs.of_flow_run(str(flow_run.id) if flow_run.id else None)
        job_id = resumed.id if resumed is not None else create_job(
            ctx,
            source,
            destination,
            split_types(types),
            source_credential_id=source_credential_id,
            destination_credential_id=destination_credential_id,
        ).id
    current = str(flow_run.id) if flow_run.id else None
    _crash_abandoned_run(ctx, job_id, current)
    summary = run_job(ctx, job_id, PREFECT_STEPS, force=force, flow_run_id=current)
    return as_prefect_state(summary)


def _crash_abandoned_run(ctx, job_id: str, current: str | None) -> None:
    """Mark Crashed the flow run of a job whose process died mid-run (it still shows Running).

    Only when the job is RUNNING and its lease is stale (expired, or its process is gone): a
    live runner's flow run is never touched. Best effort: the transfer goes on regardless.
    """
    try:
        job = ctx.jobs.get(job_id)
        previous = job.flow_run_id
        if job.state != JobState.RUNNING or not previous or previous == current or not ctx.jobs.lease_is_stale(job.id):
            return
        from prefect.client.orchestration import get_client
        from prefect.states import Crashed

        with get_client(sync_client=True) as client:
            run = client.read_flow_run(previous)
            if run.state is not None and not run.state.is_final():
                client.set_flow_run_state(previous, Crashed(message="the process running this transfer died; the job was resumed"), force=True)
    except Exception:  # noqa: BLE001 - cosmetic for the UI; never stops the transfer
        pass


def as_prefect_state(summary: RunSummary) -> State:
    """FAILED -> Failed (red, with the reason); PAUSED / WAITING / NEEDS_REAUTH -> Paused."""
    if summary.state == JobState.FAILED:
        return Failed(message=summary.reason, data=summary)
    if summary.state in (JobState.PAUSED, JobState.WAITING, JobState.NEEDS_REAUTH):
        return Paused(message=f"{summary.state}: {summary.reason}")
    return Completed(message=summary.state, data=summary)


def _export_step(job_id: str, vertical: str) -> ExportedPage:
    return get_runtime(job_id).take(export(job_id, vertical))


def _convert_step(job_id: str, page: ExportedPage) -> ExportedPage:
    runtime = get_runtime(job_id)
    return runtime.take(convert(job_id, runtime.hold(page)))


def _import_step(job_id: str, page: ExportedPage) -> PageResult:
    return import_(job_id, get_runtime(job_id).hold(page))


#: The engine's steps as Prefect tasks: one task run per step per page; pages travel as tickets.
PREFECT_STEPS = Steps(authorize=authorize, export=_export_step, convert=_convert_step, import_=_import_step, revoke=revoke)


