"""Parallel byte copies in the folder destination (``transfers``): same tree, same outcomes.

The folder importer claims names in page order and copies bytes on up to ``transfers`` threads.
These tests check that the result cannot be told apart from one-at-a-time copying, that item
failures stay per item, and that a systemic error stops the page cleanly.
"""

from __future__ import annotations

import hashlib
import io
import threading
import uuid

import fsspec
import pytest

from connectors.base import Outcome
from connectors.errors import ConfigError, FatalError
from connectors.folder.factory import make_importer
from connectors.pool import OrderedPool
from connectors.models import File, MediaAlbum, Photo
from connectors.progress import CountingProgress
from connectors.registry import ConnectorContext
from connectors.testing import KitSource, payload
from flows.progress import JobProgress


def importer_at(url: str, transfers: int, storage_options: dict | None = None, **options):
    return make_importer(
        ConnectorContext(location=url, options={"transfers": transfers, **options}, storage_options=storage_options or {})
    )


def many_items(files: int = 40, photos: int = 24) -> list:
    """Blobs and photos with clashing names, so name resolution matters; sizes vary."""
    items: list = []
    for n in range(files):
        name = f"doc-{n % 7}.bin"  # seven names shared by forty files in three folders
        size = 1000 + 7919 * n % 90_000
        items.append(File(id=f"file-{n:03d}", folder=f"/dir{n % 3}", name=name, size=size, ref=f"kit/{size}/f{n}"))
    albums = [MediaAlbum(id=f"album-{a}", name="Trip") for a in range(2)]  # two albums, one name
    items[5:5] = albums
    for n in range(photos):
        size = 2000 + 104_729 * n % 70_000
        album = albums[n % 2].id if n % 5 else None
        items.append(
            Photo(id=f"photo-{n:03d}", album_id=album, file_name=f"IMG_{n % 4}.jpg", size=size, ref=f"kit/{size}/p{n}")
        )
    return items


def tree(url: str, storage_options: dict | None = None) -> dict[str, str]:
    """Relative path -> sha256 of everything under ``url``."""
    fs, root = fsspec.core.url_to_fs(url, **(storage_options or {}))
    fs.invalidate_cache()
    prefix = root.rstrip("/") + "/"
    found = {}
    for path in fs.find(root):
        with fs.open(path, "rb") as handle:
            found[path.removeprefix(prefix).removeprefix(prefix.lstrip("/"))] = hashlib.sha256(handle.read()).hexdigest()
    return found


def summary(outcomes) -> list[tuple]:
    return [(o.item_id, o.status, o.destination_id, o.bytes) for o in outcomes]


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.stack)])  # s3: moto
def destinations(request, tmp_path):
    """A factory of fresh destination URLs (plus storage options) of one kind."""
    if request.param == "local":
        return lambda tag: (str(tmp_path / tag), {})
    bucket, options = request.getfixturevalue("s3_bucket")
    return lambda tag: (f"s3://{bucket}/{tag}", options)


def test_parallel_copies_give_the_same_tree_and_outcomes_as_one_at_a_time(destinations):
    items = many_items()
    runs = {}
    for transfers in (1, 4):
        url, options = destinations(f"out{transfers}")
        progress = CountingProgress()
        outcomes = list(importer_at(url, transfers, options).import_page(items, KitSource().context(progress=progress)))
        runs[transfers] = (summary(outcomes), tree(url, options), progress.bytes)
    assert runs[4] == runs[1]
    outcomes, files, nbytes = runs[4]
    assert [o[0] for o in outcomes] == [i.id for i in items], "one outcome per item, in page order"
    assert {o[1] for o in outcomes} == {Outcome.IMPORTED}
    assert nbytes == sum(i.size for i in items if isinstance(i, File | Photo))
    assert len(files) == 40 + 2 + 2 * 24  # blobs, album records, photos and their sidecars


def test_a_second_parallel_run_skips_everything_and_keeps_the_tree(tmp_path):
    items = many_items(files=20, photos=10)
    url = str(tmp_path / "out")
    first = list(importer_at(url, 4).import_page(items, KitSource().context()))
    before = tree(url)
    source = KitSource()
    again = list(importer_at(url, 4).import_page(items, source.context()))
    assert {o.status for o in again} == {Outcome.SKIPPED}
    assert [o.destination_id for o in again] == [o.destination_id for o in first]
    assert tree(url) == before
    # media are vouched for by their sidecars; a file without a record is compared by content
    # (a second job knows nothing of the first: only equal bytes make it "already there")
    assert sorted(source.opened) == sorted(i.ref for i in items if isinstance(i, File))


class _Rendezvous(KitSource):
    """Opens a stream only once ``parties`` copies are opening at the same time (proof of parallelism)."""

    def __init__(self, parties: int):
        super().__init__()
        self.barrier = threading.Barrier(parties, timeout=30)  # a safety net, not a timing assertion

    def open_bytes(self, item):
        self.barrier.wait()
        return super().open_bytes(item)


def test_copies_run_at_once(tmp_path):
    items = [File(id=f"f{n}", folder="/", name=f"{n}.bin", size=100, ref=f"kit/100/{n}") for n in range(8)]
    outcomes = list(importer_at(str(tmp_path), 4).import_page(items, _Rendezvous(4).context()))
    assert [o.status for o in outcomes] == [Outcome.IMPORTED] * 8


class _ThreadNoting(KitSource):
    """Notes which thread opens each item's bytes; serves real local files when ``files``."""

    def __init__(self, root, files: bool):
        super().__init__()
        self.root, self.files, self.threads = root, files, {}

    def open_bytes(self, item):
        self.threads[item.id] = threading.current_thread()
        if not self.files:
            return super().open_bytes(item)
        path = self.root / item.id
        path.write_bytes(payload(item.ref))
        return open(path, "rb")


@pytest.mark.parametrize("files", [True, False])
def test_small_local_files_copy_on_the_planning_thread_streams_on_copy_threads(tmp_path, files):
    """From local files, a small file's copy (a dozen system calls) runs on the importing thread
    once the first copy showed the sources are files; streamed sources keep the copy threads."""
    (tmp_path / "src").mkdir()
    small = [File(id=f"s{n}", folder="/", name=f"{n}.bin", size=5000, ref=f"kit/5000/{n}") for n in range(6)]
    large = File(id="large", folder="/", name="large.bin", size=300_000, ref="kit/300000/large")
    source = _ThreadNoting(tmp_path / "src", files)
    importer = importer_at(str(tmp_path / "out"), 4)
    first = list(importer.import_page(small[:1], source.context()))  # nothing known about the sources yet
    rest = list(importer.import_page([*small[1:], large], source.context()))
    assert [o.status for o in first + rest] == [Outcome.IMPORTED] * 7
    assert all((tmp_path / "out/files" / f.name).read_bytes() == payload(f.ref) for f in [*small, large])
    here = threading.current_thread()
    assert source.threads["s0"] is not here
    assert all((source.threads[f.id] is here) == files for f in small[1:])
    assert source.threads["large"] is not here  # larger files keep the threads


def test_a_failing_stream_fails_only_its_item(tmp_path):
    items = many_items(files=24, photos=8)
    byte_items = [i for i in items if isinstance(i, File | Photo)]
    broken, missing = byte_items[3], byte_items[10]
    source = KitSource(broken=[broken.ref], missing=[missing.ref])
    outcomes = list(importer_at(str(tmp_path / "out"), 4).import_page(items, source.context()))
    assert [o.item_id for o in outcomes] == [i.id for i in items]
    status = {o.item_id: o for o in outcomes}
    assert status[broken.id].status == Outcome.FAILED and status[broken.id].retryable
    assert status[missing.id].status == Outcome.FAILED and "missing" in status[missing.id].error
    others = [o for o in outcomes if o.item_id not in (broken.id, missing.id)]
    assert {o.status for o in others} == {Outcome.IMPORTED}
    assert not [p for p in tree(str(tmp_path / "out")) if ".partial-" in p]


class _FatalAt(KitSource):
    """Raises FatalError opening ``fatal``; later items wait until it was raised, so it lands mid-flight."""

    def __init__(self, fatal: str):
        super().__init__()
        self.fatal = fatal
        self.raised = threading.Event()

    def open_bytes(self, item):
        if item.id == self.fatal:
            self.raised.set()
            raise FatalError("the source account was closed")
        if item.id > self.fatal:
            self.raised.wait(30)  # a safety net, not a timing assertion
        return super().open_bytes(item)


def test_a_fatal_error_mid_page_yields_the_finished_outcomes_then_raises(tmp_path):
    items = [File(id=f"f{n:02d}", folder="/", name=f"{n}.bin", size=5000, ref=f"kit/5000/{n}") for n in range(30)]
    url = str(tmp_path / "out")
    source = _FatalAt("f06")
    outcomes = []
    with pytest.raises(FatalError, match="account was closed"):
        for outcome in importer_at(url, 4).import_page(items, source.context()):
            outcomes.append(outcome)
    done = {o.item_id for o in outcomes}
    opened = {ref.rsplit("/", 1)[1] for ref in source.opened}
    assert "f06" not in done
    assert {f"f{int(n):02d}" for n in opened} - {"f06"} == done, "every copy started has its outcome"
    assert {o.status for o in outcomes} == {Outcome.IMPORTED}
    assert {f"f{n:02d}" for n in range(6)} <= done  # the items before the failure
    assert len(done) < len(items) - 1, "no new copies start after the failure"
    on_disk = tree(url)
    assert all(f"files/{int(o.item_id[1:])}.bin" in on_disk for o in outcomes)
    assert not [p for p in on_disk if ".partial-" in p]

    # The framework redoes the page: everything lands, finished items are skipped.
    resumed = list(importer_at(url, 4).import_page(items, KitSource().context()))
    assert [o.status for o in resumed] == [Outcome.SKIPPED if o.item_id in done else Outcome.IMPORTED for o in resumed]
    clean = str(tmp_path / "clean")
    list(importer_at(clean, 1).import_page(items, KitSource().context()))
    assert tree(url) == tree(clean)


def test_an_abandoned_page_leaves_only_whole_files(tmp_path):
    size = 3 << 20
    items = [File(id=f"f{n}", folder="/", name=f"{n}.bin", size=size, ref=f"kit/{size}/{n}") for n in range(8)]
    url = str(tmp_path / "out")
    pages = importer_at(url, 4, chunk_size=64 << 10).import_page(items, KitSource().context())
    first = next(pages)
    pages.close()  # the framework stopped listening: copies in flight stop at their next chunk
    assert first.status == Outcome.IMPORTED
    assert not [t for t in threading.enumerate() if t.name.startswith("ferry-copy")], "copy threads ended"
    for rel in tree(url):
        assert ".partial-" not in rel
        assert (tmp_path / "out" / rel).stat().st_size == size


def test_transfers_option_is_checked():
    with pytest.raises(ConfigError, match="option transfers input should be greater than or equal to 1, got 0"):
        importer_at("memory://x", 0)
    with pytest.raises(ConfigError, match="option transfers input should be a valid integer"):
        importer_at("memory://x", "many")
    assert importer_at(f"memory://t-{uuid.uuid4().hex[:6]}", "8").transfers == 8
    assert make_importer(ConnectorContext(location="memory://x")).transfers == 4


def test_the_pool_yields_in_submission_order_and_records_the_first_failure():
    gate = threading.Event()

    def slow():
        gate.wait(30)  # a safety net, not a timing assertion
        return "slow"

    def boom():
        raise FatalError("boom")

    with OrderedPool[str](3) as pool:
        pool.submit(slow)
        pool.put("inline")
        pool.submit(lambda: "fast")
        assert list(pool.ready()) == []  # the head is still running
        gate.set()
        assert list(pool.drain()) == ["slow", "inline", "fast"]
        pool.submit(boom)
        assert list(pool.drain()) == []
        assert isinstance(pool.stopped, FatalError)
        assert pool.submit(lambda: "late") is False


def test_job_progress_counts_bytes_from_many_threads():
    progress = JobProgress("job")
    threads = [threading.Thread(target=lambda: [progress.advance(bytes=1) for _ in range(20_000)]) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert progress.bytes == 160_000


def test_sources_read_on_copy_threads_see_independent_streams(tmp_path):
    """A plain local source read by four copies at once: every byte ends up where it belongs."""
    src = tmp_path / "src"
    src.mkdir()
    items = []
    for n in range(24):
        data = payload(f"kit/{30_000 + n}/s{n}")
        (src / f"{n}.bin").write_bytes(data)
        items.append(File(id=f"s{n:02d}", folder="/", name=f"{n}.bin", size=len(data), ref=f"{n}.bin"))
    source = make_folder_source(str(src))
    ctx = KitSource().context()
    ctx.open_bytes = source.open_bytes
    outcomes = list(importer_at(str(tmp_path / "out"), 4).import_page(items, ctx))
    assert {o.status for o in outcomes} == {Outcome.IMPORTED}
    for n in range(24):
        assert (tmp_path / "out" / "files" / f"{n}.bin").read_bytes() == (src / f"{n}.bin").read_bytes()


def make_folder_source(url: str):
    from connectors.folder.factory import make_exporter

    return make_exporter(ConnectorContext(location=url))


def test_byte_streams_are_closed_after_each_copy(tmp_path):
    opened: list[io.BytesIO] = []

    class Tracking(KitSource):
        def open_bytes(self, item):
            stream = io.BytesIO(payload(item.ref))
            opened.append(stream)
            return stream

    items = [File(id=f"c{n}", folder="/", name=f"{n}.bin", size=900, ref=f"kit/900/{n}") for n in range(12)]
    list(importer_at(str(tmp_path), 4).import_page(items, Tracking().context()))
    assert len(opened) == 12 and all(stream.closed for stream in opened)
