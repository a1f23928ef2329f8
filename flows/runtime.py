"""Per-process runtime of a job: context, exporter, importer, routes, progress, stop and retries.

Prefect tasks receive only the job id (never objects holding tokens or open files); they look up
the job's :class:`JobRuntime` here. The flow opens the runtime (:func:`open_runtime`) with the
context its entry point built, and closes it when it ends, so an open zip archive or HTTP client
is reused by every page.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import IO

from connectors.base import Exporter, Importer, RepeatSafety
from connectors.converters import Route
from connectors.errors import ItemError
from connectors.models import BYTE_ITEM_KINDS, Item
from connectors.options import PAGE_SIZE
from connectors.registry import ConnectorContext, Endpoint

from .context import FerryContext
from .progress import JobProgress, SourceProgress
from .requests import validate_request
from .retry import RetryBudget, SystemClock
from .staging import Staging
from .state_slot import DESTINATION, SOURCE, JobStateSlot
from .store import Job

__all__ = ["JobRuntime", "open_runtime", "get_runtime", "close_runtime", "request_stop", "stop_requested", "clear_stop"]

_runtimes: dict[str, "JobRuntime"] = {}
_lock = threading.Lock()


@dataclass
class JobRuntime:
    job: Job
    ctx: FerryContext
    source: Endpoint
    destination: Endpoint
    routes: dict[str, Route]
    progress: JobProgress
    staging: Staging
    stop: threading.Event = field(default_factory=threading.Event)
    budget: RetryBudget | None = None
    lease_owner: str | None = None
    parents: dict[str, str] | None = None
    #: items whose bytes could not be staged for good (a dead link): the import reports the
    #: same error instead of asking the source a second time
    unstageable: dict[str, ItemError] = field(default_factory=dict)
    _exporter: Exporter | None = None
    _importer: Importer | None = None
    _repeat_safety: RepeatSafety | None = None

    def __post_init__(self) -> None:
        if self.budget is None:
            self.budget = RetryBudget(clock=SystemClock(self.stop))

    @property
    def store(self):
        return self.ctx.jobs

    @property
    def ledger(self):
        return self.ctx.ledger

    def _context(self, endpoint: Endpoint, credential_id: str | None) -> ConnectorContext:
        auth = self.ctx.credentials.token_source(credential_id) if credential_id else None
        granted = tuple(auth.scopes) if auth is not None else ()
        connector = endpoint.connector
        raw = dict(self.job.options.get(connector.name, {}))
        page_size = self.ctx.settings.page_size  # the framework's page size, unless set for this connector
        declared = connector.options.model_fields if connector.options is not None else {PAGE_SIZE: None}
        if PAGE_SIZE in declared and page_size is not None:
            raw.setdefault(PAGE_SIZE, page_size)
        options = connector.parse_options(raw)
        is_source = endpoint is self.source
        return ConnectorContext(
            location=endpoint.location,
            options=options,
            auth=auth,
            staging_url=f"{self.ctx.settings.resolved_staging_url.rstrip('/')}/{self.job.id}",
            storage_options=self.ctx.settings.storage_options,
            progress=SourceProgress(self.job.id) if is_source else self.progress,
            verticals=frozenset(route.source for route in self.routes.values()) if is_source else None,
            state=JobStateSlot(self.ledger, self.job.id, SOURCE if is_source else DESTINATION),
            granted_scopes=granted or None,
        )

    @property
    def exporter(self) -> Exporter:
        if self._exporter is None:
            self._exporter = self.source.connector.make_exporter(self._context(self.source, self.job.source_credential_id))
        return self._exporter

    @property
    def importer(self) -> Importer:
        if self._importer is None:
            self._importer = self.destination.connector.make_importer(
                self._context(self.destination, self.job.destination_credential_id)
            )
        return self._importer

    @property
    def repeat_safety(self) -> RepeatSafety:
        if self._repeat_safety is None:  # declared by the connector, narrowed by this destination
            self._repeat_safety = self.importer.offered_repeat_safety(self.destination.connector.capabilities.repeat_safety)
        return self._repeat_safety

    @property
    def stages_bytes(self) -> bool:
        return self.source.connector.capabilities.ephemeral_bytes

    def open_bytes(self, item: Item) -> IO[bytes]:
        """Open an item's bytes from staging (ephemeral sources) or the exporter."""
        if getattr(item, "kind", None) not in BYTE_ITEM_KINDS:
            raise ItemError(item.id, f"{item.display_name!r} has no bytes")
        if self.stages_bytes and self.staging.has(item.id):
            return self.staging.open(item.id)
        failed = self.unstageable.get(item.id)
        if failed is not None:
            raise failed
        return self.exporter.open_bytes(item)

    def close(self) -> None:
        for part in (self._exporter, self._importer):
            if part is not None:
                try:
                    part.close()
                except Exception:
                    pass
        self._exporter = self._importer = None


def open_runtime(ctx: FerryContext, job_id: str) -> JobRuntime:
    """Build (or return) the runtime of ``job_id`` in this process."""
    with _lock:
        job = ctx.jobs.get(job_id)
        runtime = _runtimes.get(job.id)
        if runtime is not None:
            return runtime
        request = validate_request(job.source, job.destination, job.types)
        runtime = JobRuntime(
            job=job,
            ctx=ctx,
            source=request.source,
            destination=request.destination,
            routes={route.requested.value: route for route in request.routes},
            progress=JobProgress(job.id),
            staging=Staging(ctx.settings.resolved_staging_url, job.id, ctx.settings.storage_options),
        )
        if _stopping.is_set():
            runtime.stop.set()
        _runtimes[job.id] = runtime
        return runtime


def get_runtime(job_id: str) -> JobRuntime:
    """The open runtime of ``job_id`` (KeyError if the flow did not open it)."""
    with _lock:
        return _runtimes[job_id]


def active_runtimes() -> list[JobRuntime]:
    with _lock:
        return list(_runtimes.values())


def close_runtime(job_id: str) -> None:
    with _lock:
        runtime = _runtimes.pop(job_id, None)
    if runtime is not None:
        runtime.close()


_stopping = threading.Event()


def request_stop() -> None:
    """Ask every job running in this process to stop after the item in flight (Ctrl-C, SIGTERM).

    Jobs stop with their outcomes recorded and end PAUSED ("interrupted"), resumable; a job
    whose runtime opens after the request stops at once.
    """
    _stopping.set()
    for runtime in active_runtimes():
        runtime.stop.set()


def stop_requested() -> bool:
    return _stopping.is_set()


def clear_stop() -> None:
    _stopping.clear()
