"""The importer half of the connector kit: scenarios every Importer must pass.

Subclass :class:`ImporterKit` in a test module, set ``verticals`` and provide the fixture
``importer_factory``: a callable returning a *fresh* importer writing to the same destination
each time (a second call = a resumed or repeated job). Optionally override the fixture
``destination_snapshot`` (a callable returning a comparable picture of what the destination
holds) so the kit can prove that a re-import adds no second copy, and the method
:meth:`ImporterKit.check_child_placement` to check where children land. See
:mod:`connectors.testing`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import pytest

from ..base import Delivered, Importer, ItemOutcome, Outcome, RepeatSafety, Verdict
from ..models import BYTE_ITEM_KINDS, Item, Vertical, parents_first, stable_id
from ..registry import Capabilities
from .harness import import_pages
from .samples import CONTAINER_KINDS, KitSource, parent_id_of, sample_pages

__all__ = ["ImporterKit"]

ImporterFactory = Callable[[], Importer]


def _flat(pages: list[list[Item]]) -> list[Item]:
    return [item for page in pages for item in page]


def _by_id(outcomes: list[list[ItemOutcome]]) -> dict[str, ItemOutcome]:
    return {outcome.item_id: outcome for page in outcomes for outcome in page}


class ImporterKit:
    """Scenarios for an :class:`~connectors.base.Importer`.

    Class attributes:
        verticals: the verticals to run every scenario on (each becomes a ``vertical`` param).
        capabilities: the connector's declared capabilities (``kit_for`` sets them); their
            scenarios are skipped without them.

    Required fixture:
        importer_factory: ``() -> Importer``, a fresh importer on the same destination per call.

    Optional fixture:
        destination_snapshot: ``() -> object`` comparable with ``==`` (e.g. a sorted list of
            paths and sizes); the default returns None, which skips the "no second copy" check.
    """

    verticals: ClassVar[tuple[Vertical, ...]] = ()
    capabilities: ClassVar[Capabilities | None] = None

    def pytest_generate_tests(self, metafunc) -> None:
        if "vertical" in metafunc.fixturenames:
            if not self.verticals:
                raise TypeError(f"{type(self).__name__} must set verticals = (Vertical...,)")
            metafunc.parametrize("vertical", [Vertical(v) for v in self.verticals], ids=str)

    @pytest.fixture
    def destination_snapshot(self) -> Callable[[], Any]:
        return lambda: None

    # -- overridable ----------------------------------------------------------------------

    def sample_pages(self, vertical: Vertical) -> list[list[Item]]:
        """The pages to import (default: :func:`connectors.testing.samples.sample_pages`)."""
        return sample_pages(vertical)

    def check_child_placement(self, parent_destination_id: str, child_destination_id: str) -> None:
        """Assert that a child landed in its parent; the default accepts anything."""

    # -- helpers --------------------------------------------------------------------------

    def run(self, importer: Importer, pages, source: KitSource | None = None, parents=None):
        source = source or KitSource()
        try:
            return import_pages(importer, pages, lambda known: source.context(parents=known), parents)
        finally:
            importer.close()

    # -- scenarios ------------------------------------------------------------------------

    def test_imports_each_item_once_in_order(self, importer_factory, vertical):
        pages = self.sample_pages(vertical)
        outcomes = self.run(importer_factory(), pages)
        for page, results in zip(pages, outcomes):
            expected = [i.id for i in parents_first(page)]  # the order the framework hands them over
            assert [o.item_id for o in results] == expected, "one outcome per item, in page order"
        flat = [o for results in outcomes for o in results]
        failed = [(o.item_id, o.error) for o in flat if o.status != Outcome.IMPORTED]
        assert not failed, f"a first import into an empty destination should import everything: {failed}"
        missing = [o.item_id for o in flat if not o.destination_id]
        assert not missing, f"imported items need a destination id: {missing}"
        ids = [o.destination_id for o in flat]
        assert len(set(ids)) == len(ids), f"two items share a destination id: {ids}"

    def test_importing_the_same_pages_twice_gives_no_second_copy(
        self, importer_factory, destination_snapshot, vertical
    ):
        pages = self.sample_pages(vertical)
        importer = importer_factory()
        source = KitSource()
        make = lambda known: source.context(parents=known)  # noqa: E731
        first = import_pages(importer, pages, make)
        before = destination_snapshot()
        again = import_pages(importer, pages, make)  # same importer, same pages
        importer.close()
        self._assert_same_destinations(first, again)
        assert destination_snapshot() == before, "importing the same pages again changed the destination"

    def test_a_resumed_job_finds_what_is_there(self, importer_factory, destination_snapshot, vertical):
        pages = self.sample_pages(vertical)
        first = self.run(importer_factory(), pages)
        before = destination_snapshot()
        known = {o.item_id: o.destination_id for results in first for o in results if o.destination_id}
        resumed = self.run(importer_factory(), pages, parents=known)  # fresh importer, ledger restored
        self._assert_same_destinations(first, resumed)
        assert destination_snapshot() == before, "a resumed import changed the destination"

    def test_children_find_parents_imported_in_earlier_pages(self, importer_factory, vertical):
        items = _flat(self.sample_pages(vertical))
        containers = [i for i in items if getattr(i, "kind", None) in CONTAINER_KINDS]
        children = [i for i in items if getattr(i, "kind", None) not in CONTAINER_KINDS]
        if not containers:
            pytest.skip(f"{vertical} has no containers")
        first = self.run(importer_factory(), [containers])
        known = {o.item_id: o.destination_id for o in first[0] if o.destination_id}
        later = self.run(importer_factory(), [children], parents=known)[0]  # a later page, new importer
        for child, outcome in zip(parents_first(children), later):
            assert outcome.status == Outcome.IMPORTED, f"{child.display_name}: {outcome.error}"
            parent = parent_id_of(child, [items])
            if parent is not None and parent in known:
                self.check_child_placement(known[parent], outcome.destination_id)

    def test_a_failed_item_does_not_stop_the_page(self, importer_factory, vertical):
        items = _flat(self.sample_pages(vertical))
        byte_items = [i for i in items if getattr(i, "kind", None) in BYTE_ITEM_KINDS]
        if not byte_items:
            pytest.skip(f"{vertical} carries no bytes")
        missing = byte_items[0]
        broken = byte_items[1] if len(byte_items) > 1 else None
        source = KitSource(missing=[missing.ref], broken=[broken.ref] if broken else [])
        outcomes = self.run(importer_factory(), [items], source)[0]
        assert [o.item_id for o in outcomes] == [i.id for i in parents_first(items)], "the page must go on after a failure"
        status = {o.item_id: o for o in outcomes}
        bad = {missing.id} | ({broken.id} if broken else set())
        for item in items:
            outcome = status[item.id]
            if item.id in bad:
                assert outcome.status == Outcome.FAILED, f"{item.display_name} should have failed"
                assert outcome.error, "a FAILED outcome says why"
            else:
                assert outcome.status == Outcome.IMPORTED, f"{item.display_name}: {outcome.error}"
        # The retry (bytes available now) delivers the failed items and leaves the rest alone.
        retried = _by_id(self.run(importer_factory(), [items], KitSource(), parents={}))
        for item in items:
            assert retried[item.id].status in (Outcome.IMPORTED, Outcome.SKIPPED), retried[item.id].error
            if item.id not in bad:
                assert retried[item.id].destination_id == status[item.id].destination_id

    # -- what the connector declares (Capabilities) --------------------------------------

    def test_repeat_safety_is_kept_as_declared(self, importer_factory, vertical):
        if self.capabilities is None:
            pytest.skip("no declared capabilities: build the kit with kit_for(CONNECTOR, ...)")
        declared = self.capabilities.repeat_safety
        pages = self.sample_pages(vertical)
        source = KitSource()
        first = self.run(importer_factory(), pages, source)
        done = _by_id(first)
        importer = importer_factory()
        try:
            offered = importer.offered_repeat_safety(declared)
            assert offered in (declared, RepeatSafety.NONE), f"declared {declared}, the importer offers {offered}"
            ctx = source.context(parents={o.item_id: o.destination_id for o in done.values() if o.destination_id})
            items = _flat(pages)
            if offered == RepeatSafety.FINDS:  # Importer.find answers for each item, where it is
                for item in items:
                    found = importer.find(item, ctx)
                    assert found is not None, f"{item.display_name} was imported, yet find() does not see it"
                    assert found.destination_id == done[item.id].destination_id, (
                        f"find() places {item.display_name} at {found.destination_id}, the import at {done[item.id].destination_id}"
                    )
                never = items[-1].model_copy(update={"id": stable_id("kit", "never", items[-1].id)})
                assert importer.find(never, ctx) is None, "find() sees an item that was never imported"
            elif offered == RepeatSafety.RECOGNISES:  # importing again is safe: SKIPPED, or the same place
                again = _by_id([list(importer.import_page(parents_first(page), ctx)) for page in pages])
                for item in items:
                    outcome = again[item.id]
                    assert outcome.status == Outcome.SKIPPED or (
                        outcome.status == Outcome.IMPORTED and outcome.destination_id == done[item.id].destination_id
                    ), f"RECOGNISES: importing {item.display_name} again gave {outcome.status} at {outcome.destination_id}"
                sized = [i for i in items if getattr(i, "kind", None) in BYTE_ITEM_KINDS and getattr(i, "size", None) is not None]
                assert any(again[i.id].status == Outcome.SKIPPED for i in sized) or not sized, (
                    "RECOGNISES: an item already there (of a known size) must be recognised: SKIPPED"
                )
        finally:
            importer.close()

    def test_verify_finds_what_was_delivered(self, importer_factory, vertical):
        pages = self.sample_pages(vertical)
        source = KitSource()
        outcomes = _by_id(self.run(importer_factory(), pages, source))
        scope = source.context().recurring_id or source.context().job_id
        kinds = {item.id: getattr(item, "kind", "") for item in _flat(pages)}
        delivered = [Delivered(o.item_id, kinds[o.item_id], o.destination_id, o.bytes, o.checksum, scope=scope) for o in outcomes.values()]
        importer = importer_factory()
        try:
            checked = list(importer.verify(delivered))
        finally:
            importer.close()
        assert sorted(c.item_id for c in checked) == sorted(outcomes), "verify() answers once per delivered item"
        wrong = [(c.item_id, c.verdict, c.detail) for c in checked if c.verdict not in (Verdict.PRESENT, Verdict.UNKNOWN)]
        assert not wrong, f"verify() calls just-delivered items missing or changed: {wrong}"

    # -- assertions -----------------------------------------------------------------------

    @staticmethod
    def _assert_same_destinations(first, again) -> None:
        before, after = _by_id(first), _by_id(again)
        assert before.keys() == after.keys()
        for item_id, outcome in after.items():
            assert outcome.status in (Outcome.SKIPPED, Outcome.IMPORTED), f"{item_id}: {outcome.error}"
            assert outcome.destination_id == before[item_id].destination_id, (
                f"{item_id} moved from {before[item_id].destination_id} to {outcome.destination_id} on re-import"
            )
