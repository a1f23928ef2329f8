"""The folder destination beyond the kit: layout, sidecars, atomicity, verification, errors."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tempfile
import uuid
from pathlib import Path

import fsspec
import icalendar
import pytest
from fsspec.implementations.memory import MemoryFileSystem

from connectors.base import Outcome
from connectors.errors import ConfigError, FatalError, RetryableItemError
from connectors.folder.atomic import AtomicWriter
from connectors.folder.factory import make_importer
from connectors.models import File, MediaAlbum, Photo, Vertical
from connectors.progress import CountingProgress
from connectors.registry import ConnectorContext
from connectors.testing import KitSource, import_pages, payload, sample_pages


def importer_at(url: str, ics: str | None = None, **storage_options):
    options = {"ics": ics} if ics else {}
    return make_importer(ConnectorContext(location=url, options=options, storage_options=storage_options))


def run(importer, pages, source=None, parents=None, progress=None):
    source = source or KitSource()
    return import_pages(importer, pages, lambda known: source.context(parents=known, progress=progress), parents)


def by_id(results):
    return {o.item_id: o for page in results for o in page}


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


# -- layout -------------------------------------------------------------------------------


def test_photos_land_in_unique_album_folders_with_sidecars(tmp_path):
    pages = sample_pages(Vertical.PHOTOS)
    summer, twin, p1, p2, p3, p4 = [item for page in pages for item in page]
    out = by_id(run(importer_at(str(tmp_path)), pages))

    assert out[summer.id].destination_id == "photos/Summer 2020"
    assert out[twin.id].destination_id == f"photos/Summer 2020 ({twin.id[:8]})"
    assert out[p1.id].destination_id == "photos/Summer 2020/IMG_0001.jpg"
    assert out[p2.id].destination_id == f"photos/Summer 2020/IMG_0001 ({p2.id[:8]}).jpg"
    assert out[p3.id].destination_id == f"photos/Summer 2020 ({twin.id[:8]})/IMG_0002.jpg"
    assert out[p4.id].destination_id == "photos/loose.png"
    assert (tmp_path / out[p1.id].destination_id).read_bytes() == payload(p1.ref)
    assert out[p1.id].bytes == 3000

    side = json.loads((tmp_path / "photos/Summer 2020/IMG_0001.jpg.json").read_text())
    assert side["source_id"] == p1.id
    assert side["title"] == "IMG_0001.jpg" and side["description"] == "Sunset" and side["favorite"] is True
    assert side["taken_time"] == "2021-07-04T09:30:00+00:00"
    assert side["location"] == {"name": "Pier", "latitude": 52.1, "longitude": 4.3}
    assert side["sha256"] == hashlib.sha256(payload(p1.ref)).hexdigest() and side["size"] == 3000
    album = json.loads((tmp_path / "photos/Summer 2020/album.json").read_text())
    assert album["source_id"] == summer.id and album["description"] == "Beach week"


def test_album_names_are_made_safe_and_videos_land_under_videos(tmp_path):
    pages = sample_pages(Vertical.VIDEOS)
    clips, clip, second = [item for page in pages for item in page]
    out = by_id(run(importer_at(str(tmp_path)), pages))
    assert out[clips.id].destination_id == "photos/Clips_Travel"  # the album's record
    assert out[clip.id].destination_id == "videos/Clips_Travel/clip.mp4"
    assert (tmp_path / "videos/Clips_Travel/clip.mp4").stat().st_size == 70_000
    assert json.loads((tmp_path / "videos/Clips_Travel/clip.mp4.json").read_text())["source_id"] == clip.id
    assert json.loads((tmp_path / "videos/Clips_Travel/album.json").read_text())["source_id"] == clips.id
    assert not [p for p in files_under(tmp_path / "photos") if p.endswith((".mp4", ".mov"))]


def test_videos_stored_under_photos_by_an_earlier_version_are_not_copied_again(tmp_path):
    pages = sample_pages(Vertical.VIDEOS)
    clips, clip, second = [item for page in pages for item in page]
    first = by_id(run(importer_at(str(tmp_path)), pages))
    # what an earlier ferry wrote: the videos inside the album's folder under photos/
    for video in (clip, second):
        old = tmp_path / first[video.id].destination_id
        target = tmp_path / "photos/Clips_Travel" / old.name
        old.rename(target)
        Path(str(old) + ".json").rename(str(target) + ".json")
    (tmp_path / "videos/Clips_Travel/album.json").unlink()
    (tmp_path / "videos/Clips_Travel").rmdir()
    (tmp_path / "videos").rmdir()
    source = KitSource()
    again = by_id(run(importer_at(str(tmp_path)), pages, source=source))
    assert again[clip.id].status == Outcome.SKIPPED and again[clip.id].destination_id == "photos/Clips_Travel/clip.mp4"
    assert again[second.id].destination_id == "photos/Clips_Travel/second.mov"
    assert source.opened == [] and not (tmp_path / "videos").exists()


def test_posts_are_json_and_point_at_stored_media(tmp_path):
    photos = sample_pages(Vertical.PHOTOS)
    posts = sample_pages(Vertical.SOCIAL_POSTS)
    importer = importer_at(str(tmp_path))
    done = by_id(run(importer, photos))
    known = {k: v.destination_id for k, v in done.items()}
    out = by_id(run(importer_at(str(tmp_path)), posts, parents=known))
    first, note = posts[0][0], posts[1][0]
    assert out[first.id].destination_id == f"posts/2021-07-04_{first.id}.json"
    assert out[note.id].destination_id == f"posts/undated_{note.id}.json"
    doc = json.loads((tmp_path / out[first.id].destination_id).read_text())
    assert doc["source_id"] == first.id and doc["content"] == "At the pier"
    assert doc["attachments"][0]["media_path"] == "photos/Summer 2020/IMG_0001.jpg"
    assert "media_path" not in doc["attachments"][1]


def test_one_ics_file_per_calendar_holds_its_events(tmp_path):
    pages = sample_pages(Vertical.CALENDAR)
    work, standup, holiday, loose = [item for page in pages for item in page]
    out = by_id(run(importer_at(str(tmp_path)), pages))
    assert out[work.id].destination_id == "calendars/Work.ics"
    assert out[standup.id].destination_id == f"calendars/Work.ics#{standup.id}"
    assert out[holiday.id].destination_id == f"calendars/Work.ics#{holiday.id}"
    assert out[loose.id].destination_id == f"calendars/Events.ics#{loose.id}"
    assert files_under(tmp_path) == ["calendars/Events.ics", "calendars/Work.ics"]
    cal = icalendar.Calendar.from_ical((tmp_path / "calendars/Work.ics").read_bytes())
    assert str(cal["X-WR-CALNAME"]) == "Work" and str(cal["X-WR-CALDESC"]) == "Office"
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    assert set(events) == {standup.id, holiday.id}
    assert str(events[standup.id]["SUMMARY"]) == "Stand-up" and events[standup.id]["RRULE"].to_ical() == b"FREQ=WEEKLY;COUNT=3"
    assert events[holiday.id]["DTSTART"].to_ical() == b"20210802"

    again = by_id(run(importer_at(str(tmp_path)), pages))  # a re-run: every event is already there
    assert {o.status for o in again.values()} == {Outcome.SKIPPED}
    assert (tmp_path / "calendars/Work.ics").read_bytes().count(b"BEGIN:VEVENT") == 2


def test_a_changed_event_replaces_its_old_version_in_the_calendar_file(tmp_path):
    pages = sample_pages(Vertical.CALENDAR)
    work, standup, holiday, loose = [item for page in pages for item in page]
    run(importer_at(str(tmp_path)), pages)
    moved = standup.model_copy(update={"title": "Stand-up (moved)"})
    out = by_id(run(importer_at(str(tmp_path)), [[work, moved]], parents=None))
    assert out[moved.id].status == Outcome.IMPORTED
    cal = icalendar.Calendar.from_ical((tmp_path / "calendars/Work.ics").read_bytes())
    assert sorted(str(e["SUMMARY"]) for e in cal.walk("VEVENT")) == ["Holiday", "Stand-up (moved)"]


def test_a_foreign_calendar_file_keeps_its_name(tmp_path):
    (tmp_path / "calendars").mkdir()
    theirs = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//them//EN\r\nEND:VCALENDAR\r\n"
    (tmp_path / "calendars/Work.ics").write_bytes(theirs)
    pages = sample_pages(Vertical.CALENDAR)
    work = pages[0][0]
    out = by_id(run(importer_at(str(tmp_path)), pages))
    assert out[work.id].destination_id == f"calendars/Work ({work.id[:8]}).ics"
    assert (tmp_path / "calendars/Work.ics").read_bytes() == theirs


def test_per_event_ics_files_as_an_option(tmp_path):
    pages = sample_pages(Vertical.CALENDAR)
    work, standup, holiday, loose = [item for page in pages for item in page]
    out = by_id(run(importer_at(str(tmp_path), ics="event"), pages))
    assert out[work.id].destination_id == "calendars/Work"
    assert out[standup.id].destination_id == f"calendars/Work/2021-07-04_{standup.id}.ics"
    assert out[loose.id].destination_id == f"calendars/2021-07-04_{loose.id}.ics"

    cal = icalendar.Calendar.from_ical((tmp_path / out[standup.id].destination_id).read_bytes())
    assert str(cal["X-WR-CALNAME"]) == "Work"
    (event,) = cal.walk("VEVENT")
    assert str(event["UID"]) == standup.id and str(event["SUMMARY"]) == "Stand-up"
    assert event["RRULE"].to_ical() == b"FREQ=WEEKLY;COUNT=3"
    assert sorted(str(a) for a in event["ATTENDEE"]) == ["mailto:ada@example.org", "mailto:bob@example.org"]
    day = icalendar.Calendar.from_ical((tmp_path / out[holiday.id].destination_id).read_bytes())
    (event,) = day.walk("VEVENT")
    assert event["DTSTART"].to_ical() == b"20210802"  # all-day: a DATE, not a DATE-TIME


def test_a_calendar_kept_as_per_event_files_by_an_earlier_version_stays_that_way(tmp_path):
    pages = sample_pages(Vertical.CALENDAR)
    run(importer_at(str(tmp_path), ics="event"), pages)
    before = files_under(tmp_path)
    again = by_id(run(importer_at(str(tmp_path)), pages))  # default layout now: one file per calendar
    assert files_under(tmp_path) == before  # no second copy of any event
    assert {o.status for o in again.values()} == {Outcome.SKIPPED}


def test_blobs_keep_their_tree_under_files(tmp_path):
    pages = sample_pages(Vertical.BLOBS)
    run(importer_at(str(tmp_path)), pages)
    assert files_under(tmp_path) == ["files/docs/a.txt", "files/docs/sub/b.bin", "files/top.txt"]
    assert (tmp_path / "files/docs/sub/b.bin").read_bytes() == payload(pages[1][0].ref)


def test_progress_counts_bytes_while_the_framework_counts_items(tmp_path):
    pages = sample_pages(Vertical.MEDIA)
    progress = CountingProgress()
    run(importer_at(str(tmp_path)), pages, progress=progress)
    items = [item for page in pages for item in page]
    assert progress.items == 0  # items are counted once, by flows.steps, from the outcomes
    assert progress.bytes == sum(len(payload(i.ref)) for i in items if hasattr(i, "ref"))


# -- idempotence --------------------------------------------------------------------------


def test_reimport_skips_media_without_reading_the_source(tmp_path):
    pages = sample_pages(Vertical.PHOTOS)
    first = by_id(run(importer_at(str(tmp_path)), pages))
    known = {k: v.destination_id for k, v in first.items()}
    source = KitSource()
    again = by_id(run(importer_at(str(tmp_path)), pages, source=source, parents=known))
    assert {o.status for o in again.values()} == {Outcome.SKIPPED}
    assert source.opened == [], "a complete file must not be transferred again"


def test_bytes_without_sidecar_are_adopted_only_when_the_content_matches(tmp_path):
    same = Photo(id="p-same", size=10, ref="kit/10/x.jpg", file_name="x.jpg")
    lookalike = Photo(id="p-look", size=10, ref="kit/10/z.jpg", file_name="z.jpg")
    other = Photo(id="p-other", size=20, ref="kit/20/y.jpg", file_name="y.jpg")
    (tmp_path / "photos").mkdir(parents=True)
    (tmp_path / "photos/x.jpg").write_bytes(payload(same.ref))  # a crash between bytes and sidecar
    (tmp_path / "photos/z.jpg").write_bytes(b"0" * 10)  # someone's file of the same size
    (tmp_path / "photos/y.jpg").write_bytes(b"mine")  # someone's file of another size
    out = by_id(run(importer_at(str(tmp_path)), [[same, lookalike, other]]))
    assert out["p-same"].status == Outcome.SKIPPED and out["p-same"].destination_id == "photos/x.jpg"
    assert json.loads((tmp_path / "photos/x.jpg.json").read_text())["source_id"] == "p-same"
    assert out["p-look"].destination_id == "photos/z (p-look).jpg"
    assert (tmp_path / "photos/z.jpg").read_bytes() == b"0" * 10
    assert out["p-other"].destination_id == "photos/y (p-other).jpg"
    assert (tmp_path / "photos/y.jpg").read_bytes() == b"mine"


def test_foreign_files_are_never_overwritten_or_taken_for_the_item(tmp_path):
    """Issue 16: a foreign file of another size was overwritten, one of the same size but other
    bytes was reported "already there" and the item was lost. Both must survive, side by side."""
    diff = File(id="f-diff", folder="/", name="diff.txt", size=9, ref="kit/9/diff.txt")
    same = File(id="f-same", folder="/", name="same.txt", size=8, ref="kit/8/same.txt")
    equal = File(id="f-equal", folder="/", name="equal.txt", size=7, ref="kit/7/equal.txt")
    (tmp_path / "files").mkdir()
    (tmp_path / "files/diff.txt").write_bytes(b"theirs")
    (tmp_path / "files/same.txt").write_bytes(b"12345678")
    (tmp_path / "files/equal.txt").write_bytes(payload(equal.ref))
    out = by_id(run(importer_at(str(tmp_path)), [[diff, same, equal]]))
    assert (tmp_path / "files/diff.txt").read_bytes() == b"theirs"
    assert (tmp_path / "files/same.txt").read_bytes() == b"12345678"
    assert out["f-diff"].status == Outcome.IMPORTED and out["f-diff"].destination_id == "files/diff (f-diff).txt"
    assert out["f-same"].status == Outcome.IMPORTED and out["f-same"].destination_id == "files/same (f-same).txt"
    assert (tmp_path / "files/same (f-same).txt").read_bytes() == payload(same.ref)
    assert out["f-equal"].status == Outcome.SKIPPED and out["f-equal"].destination_id == "files/equal.txt"
    again = by_id(run(importer_at(str(tmp_path)), [[diff, same, equal]]))
    assert {o.item_id: o.destination_id for o in again.values()} == {o.item_id: o.destination_id for o in out.values()}
    assert {o.status for o in again.values()} == {Outcome.SKIPPED}


def test_an_earlier_delivery_of_the_same_file_is_updated_in_place(tmp_path):
    old = File(id="f1", folder="/", name="notes.txt", size=4, ref="kit/4/notes.txt")
    new = old.model_copy(update={"size": 6, "ref": "kit/6/notes.txt"})
    run(importer_at(str(tmp_path)), [[old]])
    source = KitSource()
    ctx = source.context()
    ctx.destination_of = lambda item_id: "files/notes.txt" if item_id == "f1" else None  # the ledger's answer
    (outcome,) = list(importer_at(str(tmp_path)).import_page([new], ctx))
    assert outcome.status == Outcome.IMPORTED and outcome.destination_id == "files/notes.txt"
    assert (tmp_path / "files/notes.txt").read_bytes() == payload(new.ref)
    assert files_under(tmp_path) == ["files/notes.txt"]


def test_nothing_is_written_through_a_symbolic_link_out_of_the_destination(tmp_path):
    out_dir, outside = tmp_path / "out", tmp_path / "elsewhere"
    outside.mkdir()
    (out_dir / "files").mkdir(parents=True)
    (out_dir / "files/docs").symlink_to(outside, target_is_directory=True)
    (outside / "keep.txt").write_bytes(b"keep")
    (out_dir / "files/top.txt").symlink_to(outside / "keep.txt")  # a name held by a link
    pages = sample_pages(Vertical.BLOBS)
    out = by_id(run(importer_at(str(out_dir)), pages))
    docs, sub, a, b, top = [item for page in pages for item in page]
    assert sorted(p.name for p in outside.iterdir()) == ["keep.txt"] and (outside / "keep.txt").read_bytes() == b"keep"
    for item in (docs, sub, a, b):
        assert out[item.id].status == Outcome.FAILED and not out[item.id].retryable
        assert str(out_dir / "files/docs") in out[item.id].error and "outside the destination" in out[item.id].error
    assert out[top.id].status == Outcome.IMPORTED and out[top.id].destination_id == f"files/top ({top.id[:8]}).txt"
    assert (out_dir / "files/top.txt").is_symlink()


def test_a_symlinked_destination_root_is_resolved_and_written(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    pages = sample_pages(Vertical.BLOBS)
    outcomes = [o for page in run(importer_at(str(tmp_path / "link")), pages) for o in page]
    assert {o.status for o in outcomes} == {Outcome.IMPORTED}
    assert files_under(real) == ["files/docs/a.txt", "files/docs/sub/b.bin", "files/top.txt"]


def test_an_album_folder_that_is_a_link_out_is_passed_over(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (tmp_path / "out/photos").mkdir(parents=True)
    (tmp_path / "out/photos/Summer 2020").symlink_to(outside, target_is_directory=True)
    pages = sample_pages(Vertical.PHOTOS)
    summer = pages[0][0]
    out = by_id(run(importer_at(str(tmp_path / "out")), pages))
    assert out[summer.id].destination_id == f"photos/Summer 2020 ({summer.id[:8]})"
    assert list(outside.iterdir()) == []


def test_an_empty_album_folder_is_adopted_but_a_foreign_one_is_not(tmp_path):
    (tmp_path / "photos/Mine").mkdir(parents=True)  # a run stopped before writing album.json
    (tmp_path / "photos/Theirs").mkdir()
    (tmp_path / "photos/Theirs/holiday.jpg").write_bytes(b"x")
    mine, theirs = MediaAlbum(id="m1", name="Mine"), MediaAlbum(id="t1", name="Theirs")
    out = by_id(run(importer_at(str(tmp_path)), [[mine, theirs]]))
    assert out["m1"].destination_id == "photos/Mine"
    assert out["t1"].destination_id == "photos/Theirs (t1)"


def test_leftovers_of_a_crashed_run_are_removed_when_the_item_is_written(tmp_path):
    pages = sample_pages(Vertical.BLOBS)
    (tmp_path / "files/docs").mkdir(parents=True)
    leftover = tmp_path / "files/docs/a.txt.partial-deadbeef"
    leftover.write_bytes(b"half")
    run(importer_at(str(tmp_path)), pages)
    assert not leftover.exists()
    assert not [p for p in files_under(tmp_path) if ".partial-" in p]


def test_a_child_whose_album_is_unknown_fails_retryably(tmp_path):
    photo = Photo(id="orphan", album_id="nowhere", size=1, ref="kit/1/o.jpg", file_name="o.jpg")
    (outcome,) = run(importer_at(str(tmp_path)), [[photo]])[0]
    assert outcome.status == Outcome.FAILED and outcome.retryable
    assert "nowhere" in outcome.error


# -- atomicity and verification -----------------------------------------------------------


@pytest.fixture(params=["local", "memory", pytest.param("s3", marks=pytest.mark.stack)])  # s3: moto
def destination(request, tmp_path):
    """(url, storage options, list-all-files) for each kind of destination."""
    if request.param == "local":
        yield str(tmp_path / "out"), {}, lambda: files_under(tmp_path / "out") if (tmp_path / "out").exists() else []
        return
    if request.param == "memory":
        url = f"memory://atomic-{uuid.uuid4().hex[:8]}"
        fs, root = fsspec.core.url_to_fs(url)
        yield url, {}, lambda: sorted(p.removeprefix(root + "/") for p in fs.find(root))
        if fs.exists(root):
            fs.rm(root, recursive=True)
        return
    bucket, options = request.getfixturevalue("s3_bucket")
    options = {**options, "default_block_size": 5 << 20}  # multipart from 5 MiB: test the abort
    fs, root = fsspec.core.url_to_fs(f"s3://{bucket}/out", **options)

    def listing():
        fs.invalidate_cache()
        return sorted(p.removeprefix(root + "/") for p in fs.find(root))

    yield f"s3://{bucket}/out", options, listing


def test_a_stream_failing_mid_file_leaves_nothing_visible(destination):
    url, options, listing = destination
    size = 12 << 20  # past the 5 MiB S3 part size, so a multipart upload is started, then aborted
    big = File(id="big", folder="/", name="big.bin", size=size, ref=f"kit/{size}/big.bin")
    small = File(id="small", folder="/", name="small.txt", size=5, ref="kit/5/small.txt")
    outcomes = run(importer_at(url, **options), [[big, small]], source=KitSource(broken=[big.ref]))[0]
    assert [o.status for o in outcomes] == [Outcome.FAILED, Outcome.IMPORTED]
    assert outcomes[0].retryable and "big.bin" in outcomes[0].error
    assert listing() == ["files/small.txt"]  # no final file and no partial of big.bin
    if url.startswith("s3://"):
        fs, root = fsspec.core.url_to_fs(url, **options)
        uploads = fs.call_s3("list_multipart_uploads", Bucket=root.split("/")[0])
        assert not uploads.get("Uploads"), "the multipart upload must be aborted"


def test_a_size_mismatch_fails_the_item_and_removes_the_file(destination):
    url, options, listing = destination
    liar = File(id="liar", folder="/", name="liar.bin", size=100, ref="kit/50/liar.bin")  # sends 50
    (outcome,) = run(importer_at(url, **options), [[liar]])[0]
    assert outcome.status == Outcome.FAILED and outcome.retryable
    assert "100" in outcome.error and "50" in outcome.error
    assert listing() == []


class _ShrinkingMemoryFS(MemoryFileSystem):
    """A store that loses bytes after accepting them: the only way to test the post-write check."""

    protocol = "shrinking-memory"

    def size(self, path):
        return super().size(path) - 1


def test_verification_after_the_write_catches_a_store_that_lost_bytes():
    fs = _ShrinkingMemoryFS(skip_instance_cache=True, global_store=False)
    fs.makedirs("/v", exist_ok=True)
    writer = AtomicWriter(fs)
    assert writer.strategy == "rename"
    with pytest.raises(RetryableItemError, match="has 9 bytes after writing 10"):
        writer.write_stream("/v/f.bin", io.BytesIO(b"0123456789"), item_id="f", display="memory://v/f.bin")
    assert fs.find("/v") == []


def test_local_writes_never_show_a_partial_file_under_the_final_name(tmp_path):
    seen = []

    class Spy(io.RawIOBase):
        """Looks at the destination while the write is in flight."""

        def __init__(self):
            self.left = 3

        def readable(self):
            return True

        def readinto(self, buffer):
            seen.append(sorted(os.listdir(tmp_path)))
            if not self.left:
                return 0
            self.left -= 1
            buffer[:4] = b"data"
            return 4

    fs = fsspec.filesystem("file")
    AtomicWriter(fs, chunk_size=4).write_stream(str(tmp_path / "f.bin"), Spy(), item_id="f", display="f.bin")
    assert all("f.bin" not in names for names in seen)
    assert any(n.startswith("f.bin.partial-") for names in seen for n in names)
    assert sorted(os.listdir(tmp_path)) == ["f.bin"]


# -- systemic errors ----------------------------------------------------------------------


@contextlib.contextmanager
def unprivileged():
    """Drop root's file permission bypass for the block (root ignores mode bits); no-op otherwise."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(65534)
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


@pytest.fixture
def read_only_dir():
    base = Path(tempfile.mkdtemp(prefix="ferry-ro-"))  # outside pytest's 0700 tree, for the dropped user
    base.chmod(0o755)
    locked = base / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    yield locked
    locked.chmod(0o755)
    for path in sorted(base.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    base.rmdir()


def test_an_unwritable_destination_is_fatal_and_names_the_path(read_only_dir):
    importer = importer_at(str(read_only_dir / "out"))
    pages = sample_pages(Vertical.BLOBS)
    with unprivileged(), pytest.raises(FatalError) as caught:
        run(importer, pages)
    assert str(read_only_dir / "out") in str(caught.value)
    assert "permission denied" in str(caught.value)


def test_an_unwritable_sub_folder_stops_the_job_after_earlier_outcomes(read_only_dir):
    read_only_dir.chmod(0o755)
    (read_only_dir / "posts").mkdir(mode=0o777)
    (read_only_dir / "posts").chmod(0o777)
    read_only_dir.chmod(0o555)
    post = sample_pages(Vertical.SOCIAL_POSTS)[0][0]
    blob = File(id="f", folder="/", name="x", size=1, ref="kit/1/x")
    outcomes = []
    with unprivileged(), pytest.raises(FatalError) as caught:
        for outcome in make_importer(ConnectorContext(location=str(read_only_dir))).import_page(
            [post, blob], KitSource().context()
        ):
            outcomes.append(outcome)
    assert [o.status for o in outcomes] == [Outcome.IMPORTED]  # the post landed before the stop
    assert str(read_only_dir / "files") in str(caught.value)


def test_unknown_protocol_is_a_config_error_naming_the_url():
    with pytest.raises(ConfigError) as caught:
        importer_at("nosuch://bucket/photos")
    message = str(caught.value)
    assert "'nosuch'" in message and "nosuch://bucket/photos" in message
    assert "known protocols" in message and "s3" in message and "memory" in message


def test_credentials_in_the_url_never_reach_messages():
    with pytest.raises(ConfigError) as caught:
        importer_at("nosuch://user:hunter2@bucket/x")
    assert "hunter2" not in str(caught.value)
