"""The connector kit itself: a correct in-test connector passes it, broken ones are caught.

The scenario methods are called directly with fixture values, so each broken connector must make
the matching scenario fail with a message that says what is wrong.
"""

from __future__ import annotations

import io
import itertools

import pytest

from connectors.base import Cursor, Exporter, Importer, ItemOutcome, Page
from connectors.errors import ItemError
from connectors.models import File, Folder, Vertical, stable_id
from connectors.testing import ExporterKit, ImporterKit, KitSource, drain, payload, sample_pages


class OffsetCursor(Cursor):
    offset: int


class ListExporter(Exporter):
    """Serves a fixed list of blobs, two per page; flags break it in one way each."""

    cursor_model = OffsetCursor
    _counter = itertools.count()

    def __init__(self, *, random_ids=False, ignores_cursor=False, wrong_size=False, child_first=False):
        self.random_ids, self.ignores_cursor = random_ids, ignores_cursor
        self.position = 0  # where a stateful (wrong) exporter thinks it is
        self.wrong_size, self.child_first = wrong_size, child_first

    def items(self):
        salt = next(self._counter) if self.random_ids else 0
        folder = Folder(id=stable_id("list", "dir", salt), path="/dir")
        files = [
            File(id=stable_id("list", n, salt), folder="/dir", name=f"{n}.bin", size=n + (1 if self.wrong_size else 0),
                 ref=f"kit/{n}/{n}.bin")
            for n in (3, 5, 7)
        ]  # fmt: skip
        return files + [folder] if self.child_first else [folder] + files

    def list_page(self, vertical, cursor):
        items = self.items()
        start = cursor.offset if cursor else 0
        if self.ignores_cursor:  # keeps its place in memory: a fresh exporter starts over
            start = self.position
        end = min(start + 2, len(items))
        self.position = end
        return Page(items=tuple(items[start:end]), next=OffsetCursor(offset=end) if end < len(items) else None)

    def open_bytes(self, item):
        return io.BytesIO(payload(item.ref))


class DictImporter(Importer):
    """Keeps items in a dict; flags break it in one way each."""

    def __init__(self, store, *, duplicate=False, raise_on_error=False):
        self.store, self.duplicate, self.raise_on_error = store, duplicate, raise_on_error

    def import_page(self, items, ctx):
        for item in items:
            key = f"{item.id}-{len(self.store)}" if self.duplicate else item.id
            if key in self.store:
                yield ItemOutcome.skipped(item.id, key)
                continue
            if hasattr(item, "ref"):
                try:
                    with ctx.open_bytes(item) as stream:
                        data = stream.read()
                except (ItemError, OSError) as exc:
                    if self.raise_on_error:
                        raise
                    yield ItemOutcome.failed(item.id, str(exc))
                    continue
            else:
                data = b""
            self.store[key] = data
            yield ItemOutcome.imported(item.id, key, len(data))


def exporter_scenarios(**flags):
    kit = ExporterKit()
    factory = lambda: ListExporter(**flags)  # noqa: E731
    return [
        lambda: kit.test_export_is_not_empty_and_kinds_fit_the_vertical(factory, Vertical.BLOBS),
        lambda: kit.test_pages_are_deterministic_and_ids_stable(factory, Vertical.BLOBS),
        lambda: kit.test_cursor_round_trips_and_resume_yields_exactly_the_rest(factory, Vertical.BLOBS),
        lambda: kit.test_byte_items_stream_their_size(factory, Vertical.BLOBS),
        lambda: kit.test_parents_come_before_children(factory, Vertical.BLOBS),
    ]


def test_a_correct_exporter_passes_every_scenario():
    for scenario in exporter_scenarios():
        scenario()


@pytest.mark.parametrize(
    "flag, index, message",
    [
        ("random_ids", 1, "different pages"),
        ("ignores_cursor", 2, "gave other items|would loop"),
        ("wrong_size", 3, "stream gave 3 bytes, the item says 4"),
        ("child_first", 4, "comes before its parent"),
    ],
)
def test_a_broken_exporter_is_caught(flag, index, message):
    with pytest.raises(AssertionError, match=message):
        exporter_scenarios(**{flag: True})[index]()


def test_drain_stops_an_exporter_whose_cursor_repeats():
    class Stuck(ListExporter):
        def list_page(self, vertical, cursor):
            return Page(items=(), next=OffsetCursor(offset=0))

    with pytest.raises(AssertionError, match="would loop"):
        drain(Stuck(), Vertical.BLOBS)


def test_a_correct_importer_passes_every_scenario():
    kit = ImporterKit()
    store: dict = {}
    factory = lambda: DictImporter(store)  # noqa: E731
    snapshot = lambda: sorted(store)  # noqa: E731
    for vertical in Vertical:
        store.clear()
        kit.test_imports_each_item_once_in_order(factory, vertical)
        store.clear()
        kit.test_importing_the_same_pages_twice_gives_no_second_copy(factory, snapshot, vertical)
        store.clear()
        kit.test_a_resumed_job_finds_what_is_there(factory, snapshot, vertical)
        if vertical == Vertical.BLOBS:
            store.clear()
            kit.test_a_failed_item_does_not_stop_the_page(factory, vertical)


def test_an_importer_that_duplicates_is_caught():
    store: dict = {}
    kit = ImporterKit()
    with pytest.raises(AssertionError, match="moved from"):
        kit.test_importing_the_same_pages_twice_gives_no_second_copy(
            lambda: DictImporter(store, duplicate=True), lambda: sorted(store), Vertical.PHOTOS
        )


def test_an_importer_that_raises_on_a_bad_item_is_caught():
    with pytest.raises(ItemError):
        ImporterKit().test_a_failed_item_does_not_stop_the_page(
            lambda: DictImporter({}, raise_on_error=True), Vertical.BLOBS
        )


def test_samples_cover_every_vertical_with_parents_first():
    for vertical in Vertical:
        pages = sample_pages(vertical)
        assert len(pages) >= 2 and all(pages)
    source = KitSource(missing=["kit/3/x"])
    with pytest.raises(ItemError):
        source.open_bytes(File(id="x", name="x", size=3, ref="kit/3/x"))


# -- the scenarios of declared capabilities (kit_for) ---------------------------------------------

from dataclasses import replace as _replace  # noqa: E402

from connectors.base import Checked, Found, Problem, RepeatSafety, Verdict  # noqa: E402
from connectors.registry import Capabilities  # noqa: E402

BLOBS_ONLY = Capabilities(exports=frozenset({Vertical.BLOBS}), imports=frozenset(Vertical))


class MarkedExporter(ListExporter):
    """A ListExporter whose last page may carry a bookmark and which may report a problem."""

    def __init__(self, *, bookmark=None, problem=False, **flags):
        super().__init__(**flags)
        self.bookmark, self.problem = bookmark, problem

    def list_page(self, vertical, cursor):
        page = super().list_page(vertical, cursor)
        if page.next is None and self.bookmark is not None:
            page = page.model_copy(update={"bookmark": self.bookmark})
        return page

    def problems(self):
        return [Problem("dir/broken.bin", "cannot be read")] if self.problem else []


def exporter_kit(capabilities, **flags):
    kit = ExporterKit()
    kit.capabilities = capabilities
    return kit, (lambda: MarkedExporter(**flags))


def test_a_bookmark_without_declaring_incremental_is_caught():
    kit, factory = exporter_kit(BLOBS_ONLY, bookmark=OffsetCursor(offset=0))
    with pytest.raises(AssertionError, match="does not declare incremental"):
        kit.test_bookmarks_follow_the_incremental_declaration(factory, Vertical.BLOBS, None)


def test_incremental_without_a_bookmark_or_one_that_does_not_narrow_is_caught():
    kit, factory = exporter_kit(_replace(BLOBS_ONLY, incremental=True))
    with pytest.raises(AssertionError, match="must carry Page.bookmark"):
        kit.test_bookmarks_follow_the_incremental_declaration(factory, Vertical.BLOBS, None)
    kit, factory = exporter_kit(_replace(BLOBS_ONLY, incremental=True), bookmark=OffsetCursor(offset=0))
    with pytest.raises(AssertionError, match="lists everything again"):
        kit.test_bookmarks_follow_the_incremental_declaration(factory, Vertical.BLOBS, None)


def test_problems_reported_without_declaring_them_are_caught():
    kit, factory = exporter_kit(BLOBS_ONLY, problem=True)
    with pytest.raises(AssertionError, match="does not declare reports_problems"):
        kit.test_problems_follow_the_reports_problems_declaration(factory, Vertical.BLOBS)
    kit, factory = exporter_kit(_replace(BLOBS_ONLY, reports_problems=True), problem=True)
    with pytest.raises(AssertionError, match="must clear"):  # this one reports the same problem forever
        kit.test_problems_follow_the_reports_problems_declaration(factory, Vertical.BLOBS)


class FindingImporter(DictImporter):
    def __init__(self, store, *, blind=False, **flags):
        super().__init__(store, **flags)
        self.blind = blind

    def find(self, item, ctx):
        return None if self.blind or item.id not in self.store else Found(item.id)

    def verify(self, delivered):
        for entry in delivered:
            yield Checked(entry.item_id, Verdict.PRESENT if entry.item_id in self.store else Verdict.MISSING)


def importer_kit(safety):
    kit = ImporterKit()
    kit.capabilities = _replace(BLOBS_ONLY, repeat_safety=safety)
    return kit


def test_a_declared_find_that_does_not_find_is_caught():
    importer_kit(RepeatSafety.FINDS).test_repeat_safety_is_kept_as_declared(lambda store={}: FindingImporter(store), Vertical.PHOTOS)
    with pytest.raises(AssertionError, match="find\\(\\) does not see it"):
        store: dict = {}
        importer_kit(RepeatSafety.FINDS).test_repeat_safety_is_kept_as_declared(
            lambda: FindingImporter(store, blind=True), Vertical.PHOTOS
        )


def test_declaring_recognises_for_an_importer_that_imports_again_is_caught():
    store: dict = {}
    with pytest.raises(AssertionError, match="RECOGNISES: importing"):
        importer_kit(RepeatSafety.RECOGNISES).test_repeat_safety_is_kept_as_declared(
            lambda: DictImporter(store, duplicate=True), Vertical.PHOTOS
        )


def test_verify_that_misses_what_was_delivered_is_caught():
    store: dict = {}
    importer_kit(RepeatSafety.NONE).test_verify_finds_what_was_delivered(lambda: FindingImporter(store), Vertical.PHOTOS)

    class Forgetful(FindingImporter):
        def verify(self, delivered):
            for entry in delivered:
                yield Checked(entry.item_id, Verdict.MISSING, "gone")

    with pytest.raises(AssertionError, match="missing or changed"):
        importer_kit(RepeatSafety.NONE).test_verify_finds_what_was_delivered(lambda: Forgetful({}), Vertical.PHOTOS)
