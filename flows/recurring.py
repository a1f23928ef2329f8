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
from datetime import timedelta

from prefect import flow
from pydantic import BaseModel

from connectors.errors import ConfigError

from .context import FerryContext, open_context
from .requests import validate_request
from .store import Job, RecurringNotFound, RecurringState, RecurringStore, RecurringTransfer

__all__ = [
    "RecurringStore",
    "RecurringNotFound",
    "parse_schedule",
    "create_recurring",
    "job_for_run",
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
    ctx: FerryContext | None = None,
) -> RecurringTransfer:
    """Validate and store a recurring transfer (ConfigError names what is wrong)."""
    from .requests import check_credential

    ctx = ctx or open_context()
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


class SkippedRound(BaseModel):
    """A round that did not run, and why (paused, dead credential, the previous round still going)."""

    recurring_id: str
    job_id: None = None
    state: str = "SKIPPED"
    reason: str


def _skipped(rec: RecurringTransfer, reason: str) -> SkippedRound:
    return SkippedRound(recurring_id=rec.id, reason=reason)


def _run_name() -> str:
    from prefect.runtime import flow_run

    return f"recurring-{str(flow_run.parameters.get('recurring_id', ''))[:8]}"


@flow(name="recurring-transfer", flow_run_name=_run_name, log_prints=False, validate_parameters=True)
def recurring_transfer(recurring_id: str, wait_seconds: float = 10.0):
    """Run one scheduled round of a recurring transfer (resume the unfinished one, or a new job).

    Returns the transfer's secret-free summary, or ``state == "SKIPPED"`` with the reason when
    the recurring transfer is paused/canceled, its credential waits for re-authorization, or
    another run of it is still going.
    """
    from prefect.concurrency.sync import concurrency
    from prefect.runtime import flow_run

    from .limits import ensure_limit, recurring_lock_name
    from .engine import run_job
    from .transfer import PREFECT_STEPS, as_prefect_state

    ctx = open_context()
    rec = ctx.recurring.get(recurring_id)
    if rec.state != RecurringState.ACTIVE:
        return _skipped(rec, f"recurring transfer is {rec.state.value}")
    previous = ctx.jobs.list(limit=1, recurring_id=rec.id)
    dead = ctx.recurring.dead_credentials(rec)
    if dead and not (previous and previous[0].state.value == "RUNNING"):
        return _skipped(rec, f"credential {', '.join(dead)} needs re-authorization (`ferry reconnect`)")
    name = recurring_lock_name(rec.id)
    ensure_limit(name, 1)
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(concurrency(name, occupy=1, timeout_seconds=wait_seconds, strict=True))
        except TimeoutError:
            return _skipped(rec, "the previous run is still going")
        job = job_for_run(ctx, rec)
        return as_prefect_state(run_job(ctx, job.id, PREFECT_STEPS, flow_run_id=str(flow_run.id) if flow_run.id else None))
