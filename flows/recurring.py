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
from sqlalchemy import update
from sqlmodel import Session, col, select

from connectors.errors import ConfigError

from .store import Credential, CredentialStatus, Job, JobStore, Ledger, RecurringState, RecurringTransfer, get_engine, utcnow

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


class RecurringNotFound(LookupError):
    def __init__(self, key: str):
        super().__init__(f"no recurring transfer {key!r}; `ferry recurring list` shows them")


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


class RecurringStore:
    """RecurringTransfer rows and their run history (jobs with ``recurring_id``)."""

    def __init__(self, engine):
        self.engine = engine
        self.jobs = JobStore(engine)

    def add(self, rec: RecurringTransfer) -> RecurringTransfer:
        with Session(self.engine, expire_on_commit=False) as session:
            if session.exec(select(RecurringTransfer).where(RecurringTransfer.name == rec.name)).first():
                raise ConfigError(f"a recurring transfer named {rec.name!r} already exists")
            session.add(rec)
            session.commit()
        return rec

    def get(self, key: str) -> RecurringTransfer:
        """By id, unique id prefix, or name."""
        with Session(self.engine, expire_on_commit=False) as session:
            found = session.get(RecurringTransfer, key)
            if found is not None:
                return found
            found = session.exec(select(RecurringTransfer).where(RecurringTransfer.name == key)).first()
            if found is not None:
                return found
            matches = session.exec(select(RecurringTransfer).where(col(RecurringTransfer.id).startswith(key))).all()
            if len(matches) == 1:
                return matches[0]
        raise RecurringNotFound(key)

    def list(self, states: Sequence[RecurringState] | None = None) -> list[RecurringTransfer]:
        with Session(self.engine, expire_on_commit=False) as session:
            query = select(RecurringTransfer).order_by(col(RecurringTransfer.created_at))
            if states:
                query = query.where(col(RecurringTransfer.state).in_(list(states)))
            return list(session.exec(query).all())

    def update(self, rec_id: str, **values) -> None:
        values["updated_at"] = utcnow()
        with Session(self.engine) as session:
            session.exec(update(RecurringTransfer).where(RecurringTransfer.id == rec_id).values(**values))
            session.commit()

    def runs(self, rec_id: str, limit: int = 50) -> list[Job]:
        """The recurring transfer's jobs, newest first."""
        return self.jobs.list(limit=limit, recurring_id=rec_id)

    def using_credential(self, credential_id: str) -> list[RecurringTransfer]:
        with Session(self.engine, expire_on_commit=False) as session:
            query = select(RecurringTransfer).where(
                (RecurringTransfer.source_credential_id == credential_id)
                | (RecurringTransfer.destination_credential_id == credential_id)
            )
            return list(session.exec(query).all())


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
    settings=None,
) -> RecurringTransfer:
    """Validate and store a recurring transfer (ConfigError names what is wrong)."""
    from ferry.settings import load_settings

    from .runtime import validate_request

    settings = settings or load_settings()
    _, _, routes = validate_request(source, destination, list(types))
    rec = RecurringTransfer(
        name=name,
        source=source,
        destination=destination,
        types=[route.requested.value for route in routes],
        options=dict(options or {}),
        source_credential_id=source_credential_id,
        destination_credential_id=destination_credential_id,
        schedule=schedule,
    )
    return RecurringStore(get_engine(settings.resolved_database_url)).add(rec)


def dead_credentials(engine, rec: RecurringTransfer) -> list[str]:
    """Ids of the recurring transfer's credentials waiting for re-authorization."""
    ids = [c for c in (rec.source_credential_id, rec.destination_credential_id) if c]
    if not ids:
        return []
    with Session(engine) as session:
        rows = session.exec(select(Credential.id, Credential.status).where(col(Credential.id).in_(ids))).all()
    return [cid for cid, status in rows if status == CredentialStatus.NEEDS_REAUTH]


def job_for_run(engine, rec: RecurringTransfer) -> Job:
    """The job this run works on: the unfinished previous one, or a new one (see module doc)."""
    from connectors import registry

    store = JobStore(engine)
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
    if previous:
        source = registry.parse_endpoint(rec.source, role="source")
        if source.connector.capabilities.incremental:
            ledger = Ledger(engine)
            for saved in ledger.cursors(previous[0].id):
                if saved.cursor_json:
                    ledger.save_cursor(job.id, saved.vertical, saved.cursor_json, converter_state=saved.converter_state)
    return job


def _skipped(rec: RecurringTransfer, reason: str) -> dict:
    return {"recurring_id": rec.id, "job_id": None, "state": "SKIPPED", "reason": reason, "imported": 0, "skipped": 0, "failed": 0, "bytes": 0}


def _run_name() -> str:
    from prefect.runtime import flow_run

    return f"recurring-{str(flow_run.parameters.get('recurring_id', ''))[:8]}"


@flow(name="recurring-transfer", flow_run_name=_run_name, log_prints=False, validate_parameters=True)
def recurring_transfer(recurring_id: str, wait_seconds: float = 10.0) -> dict:
    """Run one scheduled round of a recurring transfer (resume the unfinished one, or a new job).

    Returns the transfer's secret-free summary, or ``state == "SKIPPED"`` with the reason when
    the recurring transfer is paused/canceled, its credential waits for re-authorization, or
    another run of it is still going.
    """
    from prefect.concurrency.sync import concurrency

    from ferry.settings import load_settings

    from .limits import ensure_limit, recurring_lock_name
    from .transfer import transfer

    settings = load_settings()
    engine = get_engine(settings.resolved_database_url)
    rec = RecurringStore(engine).get(recurring_id)
    if rec.state != RecurringState.ACTIVE:
        return _skipped(rec, f"recurring transfer is {rec.state.value}")
    previous = JobStore(engine).list(limit=1, recurring_id=rec.id)
    dead = dead_credentials(engine, rec)
    if dead and not (previous and previous[0].state.value == "RUNNING"):
        return _skipped(rec, f"credential {', '.join(dead)} needs re-authorization (`ferry reconnect`)")
    name = recurring_lock_name(rec.id)
    ensure_limit(name, 1)
    with contextlib.ExitStack() as held:
        try:
            held.enter_context(concurrency(name, occupy=1, timeout_seconds=wait_seconds, strict=True))
        except TimeoutError:
            return _skipped(rec, "the previous run is still going")
        job = job_for_run(engine, rec)
        return transfer.fn(job_id=job.id)
