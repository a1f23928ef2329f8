"""The connector kit: one set of scenarios every ferry connector runs (needs pytest).

Why: the framework's promises (resumable, exactly-once, a bad item never sinks a job) hold only
if every connector keeps the same small contract. The kit states that contract as pytest
scenarios, so a new connector proves it with one small test class per role (rclone's fstests,
fsspec's abstract tests, meltano's test factory).

Docs
====

The usual way: one line per place the connector runs against, built from its declaration
(:func:`kit_for`; see docs/writing-a-connector.md)::

    TestMyServiceKit = kit_for(CONNECTOR, source=my_source, destination=my_destination)

It runs the scenarios below on every declared vertical, plus those of each declared capability.
The classes can also be subclassed by hand:

Exporter: subclass :class:`ExporterKit`, name the verticals, give a factory of *fresh*
exporters over one non-empty source that spans at least two pages::

    import pytest
    from connectors.models import Vertical
    from connectors.testing import ExporterKit

    class TestMyExporter(ExporterKit):
        verticals = (Vertical.PHOTOS,)

        @pytest.fixture
        def exporter_factory(self, tmp_path):
            make_sample_source(tmp_path)            # your data, built by the test
            return lambda: MyExporter(tmp_path, page_size=2)

Scenarios: the export is non-empty and its kinds fit the vertical; two runs give the same
pages and ids (ids unique); every cursor survives JSON and resuming from any saved cursor with
a fresh exporter yields exactly the remaining items; every Photo/Video/File opens as a stream
whose length equals ``size``; containers (albums, calendars, folders) come before their
children.

Importer: subclass :class:`ImporterKit`, name the verticals it imports, give a factory of
*fresh* importers writing to one destination; optionally a snapshot of the destination::

    from connectors.testing import ImporterKit

    class TestMyImporter(ImporterKit):
        verticals = (Vertical.PHOTOS, Vertical.CALENDAR)

        @pytest.fixture
        def importer_factory(self, fake_service):
            return lambda: MyImporter(fake_service.url)

        @pytest.fixture
        def destination_snapshot(self, fake_service):
            return lambda: sorted(fake_service.stored())

        def check_child_placement(self, parent_destination_id, child_destination_id):
            assert child_destination_id in fake_service.children(parent_destination_id)

The importer is fed :func:`sample_pages` (awkward on purpose: twin album names, clashing file
names, unknown sizes, media without an album, all-day and recurring events) with bytes from
:class:`KitSource`. Scenarios: one outcome per item in page order, all IMPORTED with distinct
destination ids; importing the same pages twice (same importer) or again after a "resume"
(fresh importer, ``ctx.parents`` restored) gives SKIPPED or IMPORTED with the same destination
ids and leaves the snapshot unchanged; children in a later page find containers imported
earlier through ``ctx.parents``; an item whose bytes are missing or break half-way is FAILED
with a reason while the rest of the page is imported, and a retry delivers it.

Run it like any test: ``.venv/bin/pytest tests/test_folder_kit.py``. The drivers in
:mod:`connectors.testing.harness` (:func:`drain`, :func:`import_pages`) play the framework's part
and are handy in a connector's own tests too.
"""

from .exporter_kit import ExporterKit
from .factory import ExportSetup, ImportSetup, kit_for
from .harness import ExportRun, drain, import_page, import_pages
from .importer_kit import ImporterKit
from .samples import BrokenStream, KitSource, payload, sample_pages

__all__ = [
    "BrokenStream",
    "ExportRun",
    "ExportSetup",
    "ExporterKit",
    "ImportSetup",
    "ImporterKit",
    "KitSource",
    "drain",
    "import_page",
    "import_pages",
    "kit_for",
    "payload",
    "sample_pages",
]
