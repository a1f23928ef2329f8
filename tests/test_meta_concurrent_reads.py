"""The Meta exporter's ``open_bytes`` from several threads at once (parallel importers need it).

Members of one zip are read on many threads, in small interleaved chunks, and must hash the same
as when read one by one; then a Meta archive goes into a folder with four copies at once and
lands exactly as with one.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from connectors.base import Outcome
from connectors.errors import ItemError
from connectors.folder.factory import make_importer
from connectors.meta import MetaArchiveExporter
from connectors.meta.sample import write_sample_archive
from connectors.models import Photo, Vertical, Video
from connectors.registry import ConnectorContext
from connectors.testing import KitSource, import_pages


@pytest.fixture(scope="module", params=["zip", "parts"])
def archive(request, tmp_path_factory):
    root = tmp_path_factory.mktemp("meta-threads")
    kw = dict(photos=40, videos=4, posts=3, events=0, albums=3, size_mb=2, seed=7)
    if request.param == "zip":
        return write_sample_archive(root / "one.zip", **kw).path
    return write_sample_archive(root / "parts", parts=2, **kw).path


def media(exporter) -> list:
    """Photos and videos whose bytes are in the archive (the sample has a deliberately missing one)."""
    found = []
    for vertical in (Vertical.PHOTOS, Vertical.VIDEOS):
        for page in _pages(exporter, vertical):
            for item in page:
                if isinstance(item, Photo | Video):
                    try:
                        exporter.open_bytes(item).close()
                    except ItemError:
                        continue
                    found.append(item)
    return found


def digest(exporter, item, chunk: int = 4096) -> str:
    hasher = hashlib.sha256()
    with exporter.open_bytes(item) as stream:
        while block := stream.read(chunk):
            hasher.update(block)
    return hasher.hexdigest()


def test_members_read_on_many_threads_hash_as_read_alone(archive):
    with MetaArchiveExporter(archive) as exporter:
        items = media(exporter)
        assert len(items) >= 40
        alone = {item.id: digest(exporter, item, 1 << 20) for item in items}
        for _ in range(3):  # several rounds: opens and closes of members overlap in many ways
            with ThreadPoolExecutor(8) as pool:
                together = dict(zip([i.id for i in items], pool.map(lambda item: digest(exporter, item), items)))
            assert together == alone
        assert digest(exporter, items[0]) == alone[items[0].id], "the zip is still open after the threads"


def test_a_fresh_exporter_opened_by_many_threads_at_once_serves_every_member(archive):
    with MetaArchiveExporter(archive) as listing:
        items = media(listing)
        alone = [digest(listing, item) for item in items[:16]]
    with MetaArchiveExporter(archive) as exporter:  # nothing listed yet: the first open_bytes loads it
        with ThreadPoolExecutor(8) as pool:
            assert list(pool.map(lambda item: digest(exporter, item), items[:16])) == alone


def tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_meta_into_a_folder_with_four_copies_matches_one(archive, tmp_path):
    results = {}
    for transfers in (1, 4):
        out = tmp_path / f"out{transfers}"
        with MetaArchiveExporter(archive, page_size=25) as exporter:
            pages = [page for vertical in (Vertical.PHOTOS, Vertical.VIDEOS) for page in _pages(exporter, vertical)]
            importer = make_importer(ConnectorContext(location=str(out), options={"transfers": transfers}))

            def context(known, exporter=exporter):
                ctx = KitSource().context(parents=known)
                ctx.open_bytes = exporter.open_bytes
                return ctx

            outcomes = import_pages(importer, pages, context)
        results[transfers] = ([(o.item_id, o.status, o.destination_id) for page in outcomes for o in page], tree(out))
    assert results[4] == results[1]
    failed = [item_id for item_id, status, _ in results[4][0] if status == Outcome.FAILED]
    assert len(failed) == 1, "only the sample's deliberately missing file fails"
    assert sum(status == Outcome.IMPORTED for _, status, _ in results[4][0]) >= 40


def _pages(exporter, vertical):
    cursor = None
    while True:
        page = exporter.list_page(vertical, cursor)
        yield list(page.items)
        if page.next is None:
            return
        cursor = page.next
