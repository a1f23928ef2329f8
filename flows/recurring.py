"""Recurring transfers: a stable id, a schedule, and a series of jobs sharing one ledger.

A :class:`~flows.store.RecurringTransfer` row holds what to move and how often. Each scheduled
run of the ``recurring-transfer`` flow (deployment in prefect.yaml; one schedule per recurring
transfer, see :mod:`flows.schedules`) does one of two things:

* the previous run did not finish (killed, FAILED, PAUSED, NEEDS_REAUTH): resume that job from
  its saved cursors, so nothing already exported is listed again;
* otherwise: create a new job with ``recurring_id`` set. Its ledger scope is the recurring id, so
  items delivered by earlier runs with the same content hash are not sent again: each run
  imports only new or changed items. Sources whose cursors stay valid across runs
  (``Capabilities.incremental``) also start from the previous run's last cursor.

No two runs of one recurring transfer overlap: a run holds the Prefect global concurrency limit
``ferry-recurring-<id>`` (limit 1, created on first use) for its whole length; a run that cannot
get it within ``wait_seconds`` ends at once as SKIPPED. The job lease (flows.store.JobStore.claim)
still guards the job itself against any other runner, e.g. ``ferry resume``.

Destinations speaking the DTP Generic Importer protocol receive the recurring id as
``X-DTP-Recurring-Job-Id`` (ImportContext.recurring_id).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from prefect import flow
from pydantic import BaseModel

from connectors.errors import ConfigError

from .context import FerryContext, open_context
from .requests import validate_request
from .store import Job, JobState, RecurringNotFound, RecurringState, RecurringStore, RecurringTransfer

__all__ = [
    "RecurringStore",
    "RecurringNotFound",
    "ResetResult",
    "parse_schedule",
    "create_recurring",
    "job_for_run",
    "reset_recurring",
    "recurring_transfer",
]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """``90``, ``30s``, ``15m``, ``6h``, ``7d``, ``2w`` -> timedelta; ConfigError names bad input."""
    match = _DURATION.match(str(text))
    if not match:
        raise ConfigError(f"bad duration {text!r}: use a number with s, m, h, d or w (e.g. 6h, 30d)")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


def parse_schedule(*, cron: str | None = None, every: str | None = None) -> str:
    """Normalise a schedule to the stored form ``cron: <expr>`` or ``interval: <seconds>``."""
    if bool(cron) == bool(every):
        raise ConfigError("give exactly one of --cron (e.g. '0 2 * * *') or --every (e.g. 6h)")
    if cron:
        fields = cron.split()
        if len(fields) != 5:
            raise ConfigError(f"--cron {cron!r} must have 5 fields: minute hour day month weekday")
        return "cron: " + " ".join(fields)
    seconds = parse_duration(every).total_seconds()
    if seconds < 10:
        raise ConfigError(f"--every {every!r} is shorter than 10 seconds")
    return f"interval: {seconds:g}"


def create_recurring(
    name: str,
    source: str,
    destination: str,
    types: Sequence[str] = (),
    *,
    schedule: str | None = None,
    options: dict | None = None,
    source_credential_id: str | None = None,
    destination_credential_id: str | None = None,
    ctx: FerryContext,
) -> RecurringTransfer:
    """Validate and store a recurring transfer (ConfigError names what is wrong; ``ctx``: the caller's)."""
    from .requests import check_credential

    request = validate_request(source, destination, list(types), options)
    source_credential_id = check_credential(ctx.engine, request.source, source_credential_id, "source")
    destination_credential_id = check_credential(ctx.engine, request.destination, destination_credential_id, "destination")
    rec = RecurringTransfer(
        name=name,
        source=source,
        destination=destination,
        types=request.types,
        options=dict(options or {}),
        source_credential_id=source_credential_id,
        destination_credential_id=destination_credential_id,
        schedule=schedule,
    )
    return ctx.recurring.add(rec)


def job_for_run(ctx: FerryContext, rec: RecurringTransfer) -> Job:
    """The job this run works on: the unfinished previous one, or a new one (see module doc).

    An incremental source starts each vertical of the new job from the bookmark the previous
    round saved (kept per ledger scope, see flows.steps.export_page).
    """
    store = ctx.jobs
    previous = store.list(limit=1, recurring_id=rec.id)
    if previous and not previous[0].state.is_final:
        return previous[0]
    job = store.create(
        source=rec.source,
        destination=rec.destination,
        types=rec.types,
        options=rec.options,
        source_credential_id=rec.source_credential_id,
        destination_credential_id=rec.destination_credential_id,
        recurring_id=rec.id,
    )
    return job


@dataclass(frozen=True)
class ResetResult:
    forgotten: int  # ledger rows (delivered or failed items) forgotten
    canceled_jobs: list[str]


def reset_recurring(ctx: FerryContext, rec: RecurringTransfer) -> ResetResult:
    """Start a recurring transfer over (``ferry recurring reset``): its next round sends everything.

    Forgets its ledger scope (what earlier rounds delivered), its incremental sources' bookmarks
    and its connectors' state, and cancels an unfinished round (its saved cursors would otherwise
    carry on where it stopped). Refused while a round is running: that round would write to the
    ledger being emptied.
    """
    unfinished = [job for job in ctx.recurring.runs(rec.id, limit=1000) if not job.state.is_final]
    for job in unfinished:
        if job.state == JobState.RUNNING and not ctx.jobs.lease_is_stale(job.id):
            raise ConfigError(
                f"a round of {rec.name!r} is running (job {job.id[:8]}); wait for it or `ferry cancel {job.id[:8]}`, then reset"
            )
    for job in unfinished:
        ctx.jobs.cancel(job.id, "recurring transfer reset")
    return ResetResult(forgotten=ctx.ledger.reset_scope(rec.id), canceled_jobs=[job.id for job in unfinished])


class SkippedRound(BaseModel):
    """A round that did not run, and why (paused, dead credential, the previous round still going)."""

    recurring_id: str
    job_id: None = None
    state: str = "SKIPPED"
    reason: str


def _skipped(rec: RecurringTransfer, reason: str) -> SkippedRound:
    return SkippedRound(recurring_id=rec.id, reason=reason)


def _which(ctx: FerryContext, recurring_id: str | None, flow_run_id: str | None) -> tuple[RecurringTransfer, str | None]:
    """The recurring transfer this round belongs to, and the id of the schedule that started it.

    ``recurring_id`` comes from the schedule's parameters; when an edit made outside ferry wiped
    them, the schedule that created the run says (flows.schedules).
    """
    from .schedules import recurring_of_schedule, schedule_of_run

    schedule_id, slug = schedule_of_run(flow_run_id)
    if recurring_id:
        return ctx.recurring.get(recurring_id), schedule_id
    rec = recurring_of_schedule(ctx.recurring, schedule_id, slug)
    if rec is None:
        raise ConfigError(
            "this run has no recurring_id and no recurring transfer's schedule started it; "
            "give recurring_id (`ferry recurring list` shows them)"
        )
    return rec, schedule_id


def _run_name() -> str:
    """``nightly-files 2026-12-07 02:00``: the recurring transfer's name and the round's time."""
    from prefect.runtime import flow_run

    try:
        ctx = open_context()
        given = flow_run.parameters.get("recurring_id")
        rec = ctx.recurring.get(given) if given else _which(ctx, None, flow_run.id)[0]
        name = rec.name
    except Exception:  # the run itself reports what is wrong; a name must never stop it
        name = "recurring-transfer"
    when = flow_run.scheduled_start_time
    return f"{name} {when:%Y-%m-%d %H:%M}" if when else name


@flow(name="recurring-transfer", flow_run_name=_run_name, log_prints=False, validate_parameters=True)
def recurring_transfer(recurring_id: str | None = None, wait_seconds: float = 10.0):
    """Run one scheduled round of a recurring transfer (resume the unfinished one, or a new job).

    Each recurring transfer has its own schedule on this deployment, which fills in
    `recurring_id`; pausing, resuming or editing that schedule in the UI keeps its rounds working.

    Args:
        recurring_id: id (or name) of the recurring transfer (`ferry recurring list`). Filled
            in by its schedule; give it to start a round by hand. Empty: the schedule that
            started this run says which.
        wait_seconds: how long to wait for the previous round of the same recurring transfer to
            finish before this one is skipped (rounds never overlap).

    Returns:
        The transfer's secret-free summary, or `state == "SKIPPED"` with the reason when the
        recurring transfer is paused/canceled, its credential waits for re-authorization, or
        another run of it is still going.
    """
    from prefect.concurrency.sync import concurrency
    from prefect.runtime import flow_run

    from .engine import run_job
    from .limits import ensure_limit, recurring_lock_name
    from .schedules import mend_schedule
    from .transfer import PREFECT_STEPS, as_prefect_state

    ctx = open_context()
    flow_run_id = str(flow_run.id) if flow_run.id else None
    rec, schedule_id = _which(ctx, recurring_id, flow_run_id)
    if schedule_id is not None:
        _mend(ctx, rec, schedule_id, mend_schedule)
    if rec.state != RecurringState.ACTIVE:
        return _skipped(rec, f"recurring transfer is {rec.state.value}")
    previous = ctx.jobs.list(limit=1, recurring_id=rec.id)
    dead = ctx.recurring.dead_credentials(rec)
    if dead and not (previous and previous[0].state.value == "RUNNING"):
        return _skipped(rec, f"credential {', '.join(dead)} needs re-authorization: run `ferry reconnect {' '.join(c[:8] for c in dead)}`")
    name = recurring_lock_name(rec.id)
    ensure_limit(name, 1)
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(concurrency(name, occupy=1, timeout_seconds=wait_seconds, strict=True))
        except TimeoutError:
            return _skipped(rec, "the previous run is still going")
        job = job_for_run(ctx, rec)
        return as_prefect_state(run_job(ctx, job.id, PREFECT_STEPS, flow_run_id=flow_run_id))


def _mend(ctx: FerryContext, rec: RecurringTransfer, schedule_id: str, mend) -> None:
    """Put back what an edit outside ferry wiped from the schedule; a round never fails on it."""
    import logging

    try:
        if mend(ctx.recurring, rec, schedule_id):
            logging.getLogger(__name__).warning(
                "recurring transfer %s: its Prefect schedule was edited outside ferry; parameters and name restored", rec.name
            )
    except Exception as exc:
        logging.getLogger(__name__).warning("recurring transfer %s: could not restore its schedule (%s)", rec.name, exc)
