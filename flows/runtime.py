"""Per-process runtime of a job: settings, store, exporter, importer and routes, built once.

Prefect tasks receive only the job id (never objects holding tokens or open files); they look up
the job's :class:`JobRuntime` here. A runtime is created by the authorize task and closed by the
flow when it ends, so an open zip archive or HTTP client is reused by every page.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import IO

from connectors import registry
from connectors.base import Exporter, Importer
from connectors.converters import Route, plan_route
from connectors.errors import ConfigError, ItemError
from connectors.models import BYTE_ITEM_KINDS, Item, Vertical
from connectors.registry import ConnectorContext, Endpoint
from ferry.settings import Settings, load_settings

from .progress import JobProgress
from .staging import Staging
from .store import Job, JobStore, Ledger, get_engine

__all__ = ["JobRuntime", "get_runtime", "close_runtime", "parse_types", "validate_request"]

_runtimes: dict[str, "JobRuntime"] = {}
_lock = threading.Lock()

TYPE_ALIASES = {
    "photo": "photos",
    "video": "videos",
    "posts": "social-posts",
    "post": "social-posts",
    "social": "social-posts",
    "events": "calendar",
    "calendars": "calendar",
    "files": "blobs",
    "blob": "blobs",
}


def parse_types(values) -> list[Vertical]:
    """Turn user input like ``photos,posts`` into verticals; ConfigError names a bad value."""
    out: list[Vertical] = []
    for value in values:
        for part in str(value).split(","):
            name = part.strip().lower()
            if not name:
                continue
            name = TYPE_ALIASES.get(name, name)
            try:
                vertical = Vertical(name)
            except ValueError:
                known = ", ".join(v.value for v in Vertical)
                raise ConfigError(f"unknown data type {part.strip()!r}; known types: {known}") from None
            if vertical not in out:
                out.append(vertical)
    return out


def default_types(source: Endpoint, destination: Endpoint) -> list[Vertical]:
    """Every vertical the source exports that can reach the destination (photos/videos over media)."""
    exports = source.connector.capabilities.exports
    imports = destination.connector.capabilities.imports
    chosen = []
    for vertical in Vertical:
        if vertical not in exports or vertical == Vertical.MEDIA and {Vertical.PHOTOS, Vertical.VIDEOS} <= exports:
            continue
        try:
            plan_route(vertical, exports, imports)
        except ConfigError:
            continue
        chosen.append(vertical)
    return chosen


def validate_request(source: str, destination: str, types) -> tuple[Endpoint, Endpoint, list[Route]]:
    """Resolve endpoints and routes up front, so bad input fails before a job is created."""
    src = registry.parse_endpoint(source, role="source")
    dst = registry.parse_endpoint(destination, role="destination")
    verticals = parse_types(types) if types else default_types(src, dst)
    if not verticals:
        raise ConfigError(f"nothing {src.connector.name} exports can be imported by {dst.connector.name}")
    routes = [plan_route(v, src.connector.capabilities.exports, dst.connector.capabilities.imports) for v in verticals]
    return src, dst, routes


@dataclass
class JobRuntime:
    job: Job
    settings: Settings
    store: JobStore
    ledger: Ledger
    source: Endpoint
    destination: Endpoint
    routes: dict[str, Route]
    progress: JobProgress
    staging: Staging
    lease_owner: str | None = None
    _exporter: Exporter | None = None
    _importer: Importer | None = None
    parents: dict[str, str] | None = None
    extras: dict = field(default_factory=dict)

    def _context(self, endpoint: Endpoint, credential_id: str | None) -> ConnectorContext:
        auth = None
        if credential_id:
            from .credentials import CredentialStore  # written with the OAuth issue

            auth = CredentialStore.from_settings(self.settings).token_source(credential_id)
        options = dict(self.job.options.get(endpoint.connector.name, {}))
        options.setdefault("page_size", self.settings.page_size)
        return ConnectorContext(
            location=endpoint.location,
            options=options,
            auth=auth,
            staging_url=f"{self.settings.resolved_staging_url.rstrip('/')}/{self.job.id}",
            storage_options=self.settings.storage_options,
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
    def stages_bytes(self) -> bool:
        return self.source.connector.capabilities.ephemeral_bytes

    def open_bytes(self, item: Item) -> IO[bytes]:
        """Open an item's bytes from staging (ephemeral sources) or the exporter."""
        if getattr(item, "kind", None) not in BYTE_ITEM_KINDS:
            raise ItemError(item.id, f"{item.display_name!r} has no bytes")
        if self.stages_bytes and self.staging.has(item.id):
            return self.staging.open(item.id)
        return self.exporter.open_bytes(item)

    def close(self) -> None:
        for part in (self._exporter, self._importer):
            if part is not None:
                try:
                    part.close()
                except Exception:
                    pass
        self._exporter = self._importer = None


def get_runtime(job_id: str, settings: Settings | None = None) -> JobRuntime:
    """Return (building on first use) the runtime of ``job_id`` in this process."""
    with _lock:
        runtime = _runtimes.get(job_id)
        if runtime is not None:
            return runtime
        settings = settings or load_settings()
        engine = get_engine(settings.resolved_database_url)
        store = JobStore(engine)
        job = store.get(job_id)
        src, dst, routes = validate_request(job.source, job.destination, job.types)
        runtime = JobRuntime(
            job=job,
            settings=settings,
            store=store,
            ledger=Ledger(engine),
            source=src,
            destination=dst,
            routes={route.requested.value: route for route in routes},
            progress=JobProgress(job.id),
            staging=Staging(settings.resolved_staging_url, job.id, settings.storage_options),
        )
        _runtimes[job.id] = runtime
        return runtime


def close_runtime(job_id: str) -> None:
    with _lock:
        runtime = _runtimes.pop(job_id, None)
    if runtime is not None:
        runtime.close()
