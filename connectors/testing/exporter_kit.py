"""The exporter half of the connector kit: scenarios every Exporter must pass.

Subclass :class:`ExporterKit` in a test module, set ``verticals`` and provide one fixture,
``exporter_factory``: a callable returning a *fresh* exporter over the same, non-empty source
each time it is called (two calls = two runs of ferry). See :mod:`connectors.testing`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import pytest

from ..base import Exporter, Problem
from ..models import BYTE_ITEM_KINDS, CONTAINER_KINDS, VERTICAL_KINDS, File, Folder, Item, Vertical
from ..registry import Capabilities
from .harness import ExportRun, drain

__all__ = ["ExporterKit"]

ExporterFactory = Callable[[], Exporter]


def _dump(run: ExportRun) -> list[tuple[list[dict], str | None]]:
    return [
        ([item.model_dump(mode="json") for item in page.items], page.next.model_dump_json() if page.next else None)
        for page in run.pages
    ]


class ExporterKit:
    """Scenarios for an :class:`~connectors.base.Exporter`.

    Class attributes:
        verticals: the verticals to run every scenario on (each becomes a ``vertical`` param).
        min_pages: the fixture's source must span at least this many pages, so resuming is
            really exercised (configure a small page size in the factory).
        chunk_size: read size used when streaming bytes.
        capabilities: the connector's declared capabilities (``kit_for`` sets them); their
            scenarios are skipped without them.

    Required fixture:
        exporter_factory: ``() -> Exporter``, a fresh exporter over the same source per call.

    Optional fixture:
        source_grow: ``() -> None`` adding new items to the source (incremental connectors).
    """

    verticals: ClassVar[tuple[Vertical, ...]] = ()
    min_pages: ClassVar[int] = 2
    chunk_size: ClassVar[int] = 1 << 20
    capabilities: ClassVar[Capabilities | None] = None

    @pytest.fixture
    def source_grow(self) -> Callable[[], None] | None:
        return None

    def declared(self) -> Capabilities:
        if self.capabilities is None:
            pytest.skip("no declared capabilities: build the kit with kit_for(CONNECTOR, ...)")
        return self.capabilities

    def pytest_generate_tests(self, metafunc) -> None:
        if "vertical" in metafunc.fixturenames:
            if not self.verticals:
                raise TypeError(f"{type(self).__name__} must set verticals = (Vertical...,)")
            metafunc.parametrize("vertical", [Vertical(v) for v in self.verticals], ids=str)

    # -- helpers --------------------------------------------------------------------------

    def export(self, exporter_factory: ExporterFactory, vertical: Vertical, cursor_json: str | None = None) -> ExportRun:
        exporter = exporter_factory()
        try:
            return drain(exporter, vertical, cursor_json)
        finally:
            exporter.close()

    # -- scenarios ------------------------------------------------------------------------

    def test_export_is_not_empty_and_kinds_fit_the_vertical(self, exporter_factory, vertical):
        items = self.export(exporter_factory, vertical).items
        assert items, f"the kit needs a non-empty source for {vertical}: fill the exporter_factory fixture's source"
        allowed = VERTICAL_KINDS[vertical]
        strays = [(item.id, getattr(item, "kind", "?")) for item in items if getattr(item, "kind", None) not in allowed]
        assert not strays, f"items that do not belong to {vertical}: {strays}"

    def test_pages_are_deterministic_and_ids_stable(self, exporter_factory, vertical):
        first = self.export(exporter_factory, vertical)
        second = self.export(exporter_factory, vertical)
        assert _dump(first) == _dump(second), "two runs over the same source gave different pages"
        ids = [item.id for item in first.items]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        assert not duplicates, f"ids repeat within one export: {duplicates}"

    def test_cursor_round_trips_and_resume_yields_exactly_the_rest(self, exporter_factory, vertical):
        full = self.export(exporter_factory, vertical)
        assert len(full.pages) >= self.min_pages, (
            f"the source spans {len(full.pages)} page(s) of {vertical}; the kit needs {self.min_pages} "
            "to test resuming (use a smaller page size in exporter_factory)"
        )
        all_items = [item.model_dump(mode="json") for item in full.items]
        offset = 0
        for index, page in enumerate(full.pages):
            offset += len(page.items)
            if page.next is None:
                continue
            saved = page.next.model_dump_json()
            model = type(page.next)
            assert model.model_validate_json(saved) == page.next, f"cursor {saved} does not survive JSON"
            rest = self.export(exporter_factory, vertical, saved)
            got = [item.model_dump(mode="json") for item in rest.items]
            assert got == all_items[offset:], f"resuming from the cursor after page {index} ({saved}) gave other items"

    def test_byte_items_stream_their_size(self, exporter_factory, vertical):
        exporter = exporter_factory()
        try:
            items = drain(exporter, vertical).items
            byte_items = [item for item in items if getattr(item, "kind", None) in BYTE_ITEM_KINDS]
            for item in byte_items:
                stream = exporter.open_bytes(item)
                try:
                    length = 0
                    while chunk := stream.read(self.chunk_size):
                        length += len(chunk)
                finally:
                    stream.close()
                size = getattr(item, "size", None)
                if size is not None:
                    assert length == size, f"{item.display_name}: stream gave {length} bytes, the item says {size}"
        finally:
            exporter.close()

    def test_parents_come_before_children(self, exporter_factory, vertical):
        items = self.export(exporter_factory, vertical).items
        exported_ids = {item.id for item in items}
        folder_ids = {item.path: item.id for item in items if isinstance(item, Folder)}
        seen: set[str] = set()
        for item in items:
            parent = _parent_of(item, folder_ids)
            if parent is not None and parent in exported_ids:
                assert parent in seen, f"{item.display_name} comes before its parent {parent}"
            seen.add(item.id)


    # -- what the connector declares (Capabilities) --------------------------------------

    def test_bookmarks_follow_the_incremental_declaration(self, exporter_factory, vertical, source_grow):
        declared = self.declared()
        full = self.export(exporter_factory, vertical)
        bookmark = full.pages[-1].bookmark
        if not declared.incremental:
            assert bookmark is None, "the last page carries a bookmark, but the connector does not declare incremental=True (the framework would ignore it)"
            return
        assert bookmark is not None, "incremental=True: the last page of a vertical must carry Page.bookmark"
        saved = bookmark.model_dump_json()
        assert type(bookmark).model_validate_json(saved) == bookmark, f"bookmark {saved} does not survive JSON"
        again = self.export(exporter_factory, vertical, saved)
        seen = {item.id for item in full.items}
        assert {item.id for item in again.items} <= seen, "nothing changed, yet the next round lists items the first did not"
        children = lambda run: [i for i in run.items if getattr(i, "kind", None) not in CONTAINER_KINDS]  # noqa: E731
        assert len(children(again)) < len(children(full)), "the next round lists everything again: the bookmark does not narrow it"
        if source_grow is not None:
            source_grow()
            grown = self.export(exporter_factory, vertical, saved)
            assert {item.id for item in grown.items} - seen, "items added after the bookmark are not listed by the next round"

    def test_problems_follow_the_reports_problems_declaration(self, exporter_factory, vertical):
        declared = self.declared()
        exporter = exporter_factory()
        try:
            drain(exporter, vertical)
            problems = exporter.problems()
            if not declared.reports_problems:
                assert problems == [], "the exporter reports problems, but the connector does not declare reports_problems=True (they would be lost)"
                return
            assert all(isinstance(p, Problem) for p in problems), f"problems() must return Problem records: {problems!r}"
            assert exporter.problems() == [], "problems() must clear what it returned"
        finally:
            exporter.close()

    def test_a_declared_cancel_is_idempotent(self, exporter_factory, vertical):
        if not self.declared().cancels_requests:
            pytest.skip("the connector does not declare cancels_requests")
        exporter = exporter_factory()
        try:
            exporter.cancel_pending(None)
            exporter.cancel_pending(None)  # a second cancel (a retried one) is harmless
        finally:
            exporter.close()


def _parent_of(item: Item, folder_ids: dict[str, str]) -> str | None:
    for attr in ("album_id", "calendar_id"):
        value = getattr(item, attr, None)
        if value:
            return value
    if isinstance(item, File):
        return folder_ids.get(item.folder)
    if isinstance(item, Folder):
        return folder_ids.get(item.path.rsplit("/", 1)[0])
    return None
