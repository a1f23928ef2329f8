"""Per-process runtime of a job: context, exporter, importer, routes, progress, stop and retries.

Prefect tasks receive only the job id (never objects holding tokens or open files); they look up
the job's :class:`JobRuntime` here. The flow opens the runtime (:func:`open_runtime`) with the
context its entry point built, and closes it when it ends, so an open zip archive or HTTP client
is reused by every page.

Two more things are per job and per process, because one process may run several jobs at once
(ferry's runner runs each request on its own thread):

* **stopping**: :func:`request_stop` asks one job to stop after the item in flight (its
  client pressed Ctrl-C or went away); a request that arrives before the job's runtime opens is
  kept and applied when it opens. :func:`stop_all` is for the process's own shutdown.
* **the caller's context**: an entry point that runs the ``transfer`` flow in-process (the CLI,
  the runner) hands the flow the context it built (:func:`bind_context`), because a flow's
  parameters can carry only plain values; a flow started by a worker has none bound and is an
  entry point itself.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO

from connectors.base import Exporter, Importer, RepeatSafety
from connectors.converters import Route
from connectors.errors import ItemError
from connectors.models import BYTE_ITEM_KINDS, Item
from connectors.registry import ConnectorContext, Endpoint

from .context import FerryContext
from .parts import connector_context
from .progress import JobProgress, SourceProgress
from .requests import validate_request
from .retry import RetryBudget, SystemClock
from .staging import Staging
from .state_slot import DESTINATION, SOURCE, JobStateSlot
from .store import Job

__all__ = [
    "JobRuntime",
    "open_runtime",
    "get_runtime",
    "close_runtime",
    "request_stop",
    "stop_requested",
    "clear_stop",
    "stop_all",
    "bind_context",
    "bound_context",
]

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
    _held: dict = field(default_factory=dict)  # PageTicket.key -> ExportedPage (see hold)
    _tickets: int = 0

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
        is_source = endpoint is self.source
        return connector_context(
            self.ctx,
            endpoint,
            credential_id=credential_id,
            options=self.job.options.get(endpoint.connector.name, {}),
            staging_url=f"{self.ctx.settings.resolved_staging_url.rstrip('/')}/{self.job.id}",
            progress=SourceProgress(self.job.id) if is_source else self.progress,
            verticals=frozenset(route.source for route in self.routes.values()) if is_source else None,
            state=JobStateSlot(self.ledger, self.job.id, SOURCE if is_source else DESTINATION),
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

    def hold(self, page):
        """Keep ``page`` here and return a small :class:`flows.pages.PageTicket` for it."""
        from .pages import PageTicket

        with _lock:
            self._tickets += 1
            self._held[self._tickets] = page
            return PageTicket(vertical=page.vertical, key=self._tickets, items=len(page.items), done=page.done)

    def take(self, ticket):
        """The page a ticket stands for (once)."""
        with _lock:
            return self._held.pop(ticket.key)

    def close(self) -> None:
        self._held.clear()
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
        if job.id in _stops or _stopping_all.is_set():
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


_stops: set[str] = set()  # jobs asked to stop (applied when their runtime opens)
_stopping_all = threading.Event()


def request_stop(job_id: str) -> None:
    """Ask job ``job_id`` (its full id) to stop after the item in flight.

    The job stops with its outcomes recorded and ends PAUSED ("interrupted"), resumable; if its
    runtime is not open yet, it stops as soon as it opens. Other jobs of the process go on.
    """
    with _lock:
        _stops.add(job_id)
        runtime = _runtimes.get(job_id)
    if runtime is not None:
        runtime.stop.set()


def stop_requested(job_id: str) -> bool:
    with _lock:
        return job_id in _stops or _stopping_all.is_set()


def clear_stop(job_id: str) -> None:
    """Forget a stop request for ``job_id`` (before running it again)."""
    with _lock:
        _stops.discard(job_id)


def stop_all() -> None:
    """Ask every job of this process to stop after the item in flight (the process shuts down)."""
    _stopping_all.set()
    for runtime in active_runtimes():
        runtime.stop.set()


_contexts: dict[str, FerryContext] = {}


@contextmanager
def bind_context(job_id: str, ctx: FerryContext) -> Iterator[None]:
    """While the block runs, a flow run of ``job_id`` in this process uses ``ctx``."""
    with _lock:
        _contexts[job_id] = ctx
    try:
        yield
    finally:
        with _lock:
            if _contexts.get(job_id) is ctx:
                del _contexts[job_id]


def bound_context(job_id: str | None) -> FerryContext | None:
    """The context the caller bound for ``job_id`` (None: the flow is its own entry point)."""
    if not job_id:
        return None
    with _lock:
        return _contexts.get(job_id)
