"""A transfer's source and destination opened without a job: ``check``, ``ls`` and ``--dry-run``.

These commands answer before anything moves, so nothing here creates a job, writes the ledger,
stages bytes or imports Prefect: the request is validated as ``ferry transfer`` validates it
(flows/requests.py), the exporter and importer are built as a job's are (flows/parts.py) with
state kept in memory, and everything is closed at the end.

Sources that prepare their data on request (``Capabilities.cancels_requests``, TikTok) cannot
be listed without starting a request, so ``ls`` and ``--dry-run`` refuse them with the reason.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors import registry
from connectors.base import Exporter, Importer, Problem, ProblemKind
from connectors.converters import Route, plan_route
from connectors.errors import ConfigError
from connectors.models import BYTE_ITEM_KINDS, CONTAINER_KINDS, Item, Vertical
from connectors.registry import Endpoint

from .check import CheckResult, run_all, transfer_checks
from .context import FerryContext
from .parts import connector_context
from .requests import check_credential, parse_types, validate_request

__all__ = ["Opened", "open_transfer", "open_source", "Survey", "VerticalSurvey", "survey", "check"]


@dataclass
class Opened:
    """A source (and destination) opened for a look; builds its parts on first use."""

    ctx: FerryContext
    source: Endpoint
    routes: tuple[Route, ...]
    options: Mapping[str, Mapping[str, Any]]
    source_credential_id: str | None = None
    destination: Endpoint | None = None
    destination_credential_id: str | None = None
    _exporter: Exporter | None = None
    _importer: Importer | None = None
    #: a staging area of its own, for connectors that need one to be built (TikTok); removed on close
    staging_url: str = field(default_factory=lambda: f"preview-{uuid.uuid4().hex[:12]}")

    @property
    def exporter(self) -> Exporter:
        if self._exporter is None:
            self._exporter = self.source.connector.make_exporter(connector_context(
                self.ctx, self.source, credential_id=self.source_credential_id,
                options=self.options.get(self.source.connector.name, {}),
                verticals=frozenset(route.source for route in self.routes),
                staging_url=self._staging(),
            ))
        return self._exporter

    def _staging(self) -> str:
        return f"{self.ctx.settings.resolved_staging_url.rstrip('/')}/{self.staging_url}"

    @property
    def importer(self) -> Importer:
        if self.destination is None:
            raise ConfigError("no destination given")
        if self._importer is None:
            self._importer = self.destination.connector.make_importer(connector_context(
                self.ctx, self.destination, credential_id=self.destination_credential_id,
                options=self.options.get(self.destination.connector.name, {}),
                staging_url=self._staging(),
            ))
        return self._importer

    def close(self) -> None:
        for part in (self._exporter, self._importer):
            if part is not None:
                part.close()
        self._exporter = self._importer = None
        import fsspec

        fs, root = fsspec.core.url_to_fs(self._staging(), **dict(self.ctx.settings.storage_options))
        if fs.exists(root):
            fs.rm(root, recursive=True)

    def __enter__(self) -> "Opened":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_transfer(
    ctx: FerryContext,
    source: str,
    destination: str,
    types: Iterable[str] | str | None = None,
    *,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    source_credential_id: str | None = None,
    destination_credential_id: str | None = None,
) -> Opened:
    """Validate a transfer request exactly as ``ferry transfer`` does, without storing a job.

    Raises:
        ConfigError: what is wrong with the request, named.
    """
    options = dict(options or {})
    request = validate_request(source, destination, types, options)
    return Opened(
        ctx=ctx,
        source=request.source,
        routes=request.routes,
        options=options,
        source_credential_id=check_credential(ctx.engine, request.source, source_credential_id, "source"),
        destination=request.destination,
        destination_credential_id=check_credential(ctx.engine, request.destination, destination_credential_id, "destination"),
    )


def open_source(
    ctx: FerryContext,
    source: str,
    types: Iterable[str] | str | None = None,
    *,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    credential_id: str | None = None,
) -> Opened:
    """A source alone (``ferry ls``): what a transfer from it takes by default, or the ``types`` named."""
    endpoint = registry.parse_endpoint(source, role="source")
    connector = endpoint.connector
    if connector.check_location is not None:
        connector.check_location(endpoint.location, "source")
    exports = connector.capabilities.exports
    default = connector.capabilities.default_exports or exports  # what a transfer takes when no types are named
    wanted = parse_types(types) if types else [v for v in Vertical if v in default and not (v == Vertical.MEDIA and {Vertical.PHOTOS, Vertical.VIDEOS} <= default)]
    missing = [v.value for v in wanted if v not in exports]
    if missing:
        raise ConfigError(f"{connector.name} does not export {', '.join(missing)}; it exports {', '.join(sorted(exports))}")
    options = dict(options or {})
    for name, values in options.items():
        if name != connector.name:
            raise ConfigError(f"option for {name!r}, but this source is {connector.name}")
        connector.parse_options(values)
    return Opened(
        ctx=ctx,
        source=endpoint,
        routes=tuple(plan_route(v, exports, exports) for v in wanted),
        options=options,
        source_credential_id=check_credential(ctx.engine, endpoint, credential_id, "source"),
    )


def check(opened: Opened) -> list[CheckResult]:
    """Every check of :mod:`flows.check`, each reported (``ferry check``)."""
    return run_all(transfer_checks(
        source_name=opened.source.connector.name,
        destination_name=opened.destination.connector.name if opened.destination else "?",
        exporter=lambda: opened.exporter,
        importer=lambda: opened.importer,
        access_token=lambda credential_id: opened.ctx.credentials.token_source(credential_id).access_token(),
        source_credential_id=opened.source_credential_id,
        destination_credential_id=opened.destination_credential_id,
    ))


@dataclass
class VerticalSurvey:
    """What one requested vertical would move."""

    vertical: str
    items: Counter = field(default_factory=Counter)  # by item kind (photo, video, post, ...)
    containers: Counter = field(default_factory=Counter)  # albums, calendars, folders
    bytes: int = 0
    unknown_sizes: int = 0  # byte-carrying items whose size the source does not say

    @property
    def count(self) -> int:
        return sum(self.items.values())


@dataclass
class Survey:
    """What a source holds (``ls``) or a transfer would move (``--dry-run``), per vertical."""

    verticals: dict[str, VerticalSurvey] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def unreadable(self) -> list[Problem]:
        return [p for p in self.problems if p.kind == ProblemKind.FAILED]

    @property
    def not_transferred(self) -> list[Problem]:
        return [p for p in self.problems if p.kind != ProblemKind.FAILED]


def survey(opened: Opened, *, on_item: Callable[[str, Item], None] | None = None) -> Survey:
    """List every page of every vertical of ``opened`` (converted as a transfer converts them).

    Reads the source's listing only (never an item's bytes) and writes nothing. ``on_item`` sees
    each item as it is listed (``ferry ls`` prints them).
    """
    connector = opened.source.connector
    if connector.capabilities.cancels_requests:
        raise ConfigError(
            f"{connector.name} prepares its data only when asked (a data request): it cannot be listed "
            "before a transfer asks for it; run the transfer, or `ferry check` to test the connection"
        )
    result = Survey()
    for route in opened.routes:
        figures = result.verticals.setdefault(route.requested.value, VerticalSurvey(route.requested.value))
        state: dict = {}
        for items in _pages(opened.exporter, route.source):
            result.problems.extend(opened.exporter.problems())
            if not route.is_identity:
                items = route.convert(items, state)
            for item in items:
                _count(figures, item)
                if on_item is not None:
                    on_item(route.requested.value, item)
        result.problems.extend(opened.exporter.problems())
    return result


def _pages(exporter: Exporter, vertical: Vertical) -> Iterator[list[Item]]:
    cursor = None
    while True:
        page = exporter.list_page(vertical, cursor)
        yield list(page.items)
        if page.next is None:
            return
        cursor = page.next


def _count(figures: VerticalSurvey, item: Item) -> None:
    kind = item.kind
    if kind in CONTAINER_KINDS:
        figures.containers[kind] += 1
        return
    figures.items[kind] += 1
    if kind in BYTE_ITEM_KINDS:
        size = getattr(item, "size", None)
        if size is None:
            figures.unknown_sizes += 1
        else:
            figures.bytes += size
