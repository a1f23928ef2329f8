"""``kit_for``: the whole connector kit for one connector, from what its record declares.

A connector's test file is one line per place it runs against (meltano's ``get_tap_test_class``)::

    TestShoeboxKit = kit_for(CONNECTOR, source=shoebox_source, destination=shoebox_destination)

``kit_for`` reads the connector's :class:`~connectors.registry.Capabilities` and returns a test
class holding ``TestExporter`` (if it exports) and ``TestImporter`` (if it imports): the
:class:`~connectors.testing.ExporterKit` / :class:`~connectors.testing.ImporterKit` scenarios on
every declared vertical, plus the scenarios of each declared capability (incremental bookmarks,
problem reports, cancelling, finding or recognising what the destination holds, verify). Exporters
and importers are built the way the framework builds them: through the connector's own factories
(``make_exporter``/``make_importer``) from a :class:`~connectors.registry.ConnectorContext`.

``source`` and ``destination`` are functions whose parameters are pytest fixture names
(``tmp_path``, ``s3_bucket``, your own fake service); they are called once per test and return:

* ``source``: a ``ConnectorContext`` over a non-empty source spanning at least two pages (pass a
  small ``page_size``), or an :class:`ExportSetup` that also says how to add to the source
  (``grow``), which an incremental connector's bookmark scenario uses;
* ``destination``: a ``ConnectorContext`` for an empty destination, or an :class:`ImportSetup`
  with a ``snapshot`` of what the destination holds and a ``placement`` check.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from ..models import Vertical
from ..registry import Connector, ConnectorContext
from .exporter_kit import ExporterKit
from .importer_kit import ImporterKit

__all__ = ["kit_for", "ExportSetup", "ImportSetup"]


@dataclass(frozen=True)
class ExportSetup:
    """A source for the kit.

    Attributes:
        context: builds the exporter (``connector.make_exporter(context)``).
        grow: adds new items to the source (at least one per vertical); an incremental
            connector's bookmark scenario checks that the next round lists them.
    """

    context: ConnectorContext
    grow: Callable[[], None] | None = None


@dataclass(frozen=True)
class ImportSetup:
    """A destination for the kit.

    Attributes:
        context: builds the importer (``connector.make_importer(context)``), once per "run".
        snapshot: ``() -> object`` comparable with ``==``: what the destination holds, so the kit
            can prove a re-import adds no second copy.
        placement: ``(parent destination id, child destination id) -> None`` asserting that a
            child landed in its parent.
    """

    context: ConnectorContext
    snapshot: Callable[[], Any] | None = None
    placement: Callable[[str, str], None] | None = None


def _call_with_fixtures(function: Callable[..., Any], request) -> Any:
    """Call ``function`` with the pytest fixtures its parameters name."""
    names = inspect.signature(function).parameters
    return function(**{name: request.getfixturevalue(name) for name in names})


def kit_for(
    connector: Connector,
    *,
    source: Callable[..., ConnectorContext | ExportSetup] | None = None,
    destination: Callable[..., ConnectorContext | ImportSetup] | None = None,
    export_verticals: tuple[Vertical, ...] | None = None,
    import_verticals: tuple[Vertical, ...] | None = None,
) -> type:
    """The kit for ``connector`` as a test class (assign it to a ``Test...`` name).

    Args:
        connector: the registry record; its capabilities choose the scenarios.
        source: builds a source (see the module docstring); required when it exports.
        destination: builds an empty destination; required when it imports.
        export_verticals / import_verticals: run on these only (default: all it declares),
            e.g. to keep a slow backend's run short.

    Raises:
        TypeError: a role the connector plays has no ``source``/``destination`` builder.
    """
    capabilities = connector.capabilities
    members: dict[str, Any] = {"__doc__": f"The connector kit for {connector.name!r}, from its declared capabilities."}
    if connector.make_exporter is not None and capabilities.exports:
        if source is None:
            raise TypeError(f"kit_for({connector.name}): it exports, so pass source=")
        members["TestExporter"] = _exporter_class(connector, source, export_verticals or tuple(sorted(capabilities.exports)))
    if connector.make_importer is not None and capabilities.imports:
        if destination is None:
            raise TypeError(f"kit_for({connector.name}): it imports, so pass destination=")
        members["TestImporter"] = _importer_class(connector, destination, import_verticals or tuple(sorted(capabilities.imports)))
    return type(f"Test{connector.name.title()}Kit", (), members)


def _exporter_class(connector: Connector, source, verticals) -> type:
    class TestExporter(ExporterKit):
        @pytest.fixture
        def export_setup(self, request) -> ExportSetup:
            built = _call_with_fixtures(source, request)
            return built if isinstance(built, ExportSetup) else ExportSetup(built)

        @pytest.fixture
        def exporter_factory(self, export_setup):
            return lambda: connector.make_exporter(export_setup.context)

        @pytest.fixture
        def source_grow(self, export_setup):
            return export_setup.grow

    TestExporter.verticals = verticals
    TestExporter.capabilities = connector.capabilities
    return TestExporter


def _importer_class(connector: Connector, destination, verticals) -> type:
    class TestImporter(ImporterKit):
        @pytest.fixture
        def import_setup(self, request) -> ImportSetup:
            built = _call_with_fixtures(destination, request)
            return built if isinstance(built, ImportSetup) else ImportSetup(built)

        @pytest.fixture
        def importer_factory(self, import_setup):
            return lambda: connector.make_importer(import_setup.context)

        @pytest.fixture
        def destination_snapshot(self, import_setup):
            return import_setup.snapshot or (lambda: None)

        @pytest.fixture(autouse=True)
        def _placement(self, import_setup):
            self._place = import_setup.placement

        def check_child_placement(self, parent_destination_id, child_destination_id):
            if self._place is not None:
                self._place(parent_destination_id, child_destination_id)

    TestImporter.verticals = verticals
    TestImporter.capabilities = connector.capabilities
    return TestImporter
