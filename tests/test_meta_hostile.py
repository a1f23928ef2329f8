"""Hostile Meta archives at the exporter: each bad thing is named, bounded, and costs only itself.

The archives come from ``tests/hostile/archives.py`` (built at test time); the end-to-end runs
under a memory and time bound are in ``tests/test_hostile_transfer.py``.
"""

from __future__ import annotations

import io
import json
import resource
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.base import ProblemKind
from connectors.errors import FatalError, FerryError, ItemError
from connectors.meta import CONNECTOR, MetaArchiveExporter
from connectors.jsonread import JsonMember
from connectors.readlimits import BoundedReader, LimitExceeded, ReadLimits
from connectors.meta.sample import write_sample_archive
from connectors.models import MediaAlbum, Photo, SocialPost, Vertical
from connectors.registry import ConnectorContext
from tests.hostile import archives as hostile
from tests.hostile.folders import hostile_meta_folder

MiB = 1 << 20
ALL = (Vertical.PHOTOS, Vertical.VIDEOS, Vertical.SOCIAL_POSTS, Vertical.CALENDAR)


def drain(exporter, vertical):
    items, cursor = [], None
    while True:
        page = exporter.list_page(vertical, cursor)
        items.extend(page.items)
        if (cursor := page.next) is None:
            return items


def deliver(exporter, items):
    """Read every photo; return (file names read, {file name: item error})."""
    read, failed = [], {}
    for item in items:
        if isinstance(item, Photo):
            try:
                with exporter.open_bytes(item) as stream:
                    while stream.read(1 << 16):
                        pass
                read.append(item.file_name)
            except ItemError as exc:
                failed[item.file_name] = str(exc)
    return read, failed


def problems_by_subject(exporter, kind=ProblemKind.FAILED):
    return {p.subject: p.message for p in exporter.problems() if p.kind == kind}


def test_bad_entries_are_named_and_the_good_ones_move(tmp_path):
    made = hostile.hostile_entries(tmp_path)
    with MetaArchiveExporter(made.path, selected=frozenset({Vertical.PHOTOS, Vertical.SOCIAL_POSTS})) as ex:
        photos = drain(ex, Vertical.PHOTOS)
        posts = drain(ex, Vertical.SOCIAL_POSTS)
        read, failed = deliver(ex, photos)
        named = problems_by_subject(ex)
    assert sorted(read) == ["ok_1.jpg", "ok_2.jpg", "post_0.jpg", "post_1.jpg", "post_2.jpg"]
    assert [p.content for p in posts if isinstance(p, SocialPost)] == [f"Dobrý příspěvek {i} 👍" for i in range(3)]
    for subject, fragment in made.expect.items():
        where = [m for s, m in named.items() if s == subject] or [m for name, m in failed.items() if name == subject]
        assert where and fragment in where[0], (subject, named, failed)
    # the items built were serialisable (a lone surrogate never reaches a model)
    for item in photos + posts:
        item.model_dump_json()


@pytest.mark.parametrize("build", [hostile.ratio_bomb, hostile.lying_header_bomb], ids=["ratio", "lying-headers"])
def test_zip_bombs_stop_early_naming_the_member(tmp_path, build):
    made = build(tmp_path, 300 * MiB)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with MetaArchiveExporter(made.path) as ex:
        read, failed = deliver(ex, drain(ex, Vertical.PHOTOS))
        named = problems_by_subject(ex)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert len(read) == made.good_photos and not failed
    ((subject, fragment),) = made.expect.items()
    assert fragment in named[subject]
    assert grown_mib < 100  # nowhere near the 300 MiB the member inflates to


def test_member_inflating_past_the_ratio_mid_stream_is_stopped():
    """Headers that look fine, data that does not: the counting reader stops it, not zipfile."""
    bomb = zipfile.ZipFile(io.BytesIO(_deflated_zip(b" " * (40 * MiB))))
    info = bomb.infolist()[0]
    with bomb.open(info) as raw:
        reader = BoundedReader(raw, limit=None, compressed=info.compress_size, limits=ReadLimits(max_ratio=50), what="this member")
        with pytest.raises(LimitExceeded, match="inflates more than 50 times"):
            while reader.read(1 << 16):
                pass
    assert reader.produced < 6 * MiB  # stopped just past the 4 MiB grace


def test_member_over_the_cap_is_stopped_whatever_its_size_claims():
    data = b"[" + b" " * (3 * MiB) + b"]"
    reader = BoundedReader(io.BytesIO(data), limit=1_000_000, compressed=None, limits=ReadLimits(), what="JSON files")
    with pytest.raises(LimitExceeded, match="larger than 1 MB"):  # decimal units, like all ferry prints
        while reader.read(1 << 16):
            pass
    assert reader.produced == 1_000_000 + 1


def _deflated_zip(data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("your_facebook_activity/posts/album/0.json", data)
    return out.getvalue()


def test_huge_json_string_is_refused_without_reading_it(tmp_path):
    made = hostile.huge_json_string(tmp_path, 100 * MiB)
    with MetaArchiveExporter(made.path) as ex:
        read, _ = deliver(ex, drain(ex, Vertical.PHOTOS))
        named = problems_by_subject(ex)
    assert len(read) == 2 and "limit for JSON files" in named[hostile.POSTS]


def test_json_cap_is_an_option_and_a_member_under_it_is_read(tmp_path):
    made = hostile.huge_json_string(tmp_path, 10 * MiB)
    small = CONNECTOR.make_exporter(ConnectorContext(location=str(made.path), options={"max_json_mb": "5"}))
    big = CONNECTOR.make_exporter(ConnectorContext(location=str(made.path), options={"max_json_mb": "20"}))
    with small, big:
        assert drain(small, Vertical.SOCIAL_POSTS) == []
        assert "larger than 5 MB" in problems_by_subject(small)[hostile.POSTS]
        (post,) = drain(big, Vertical.SOCIAL_POSTS)
        assert len(post.content) >= 9 * MiB


def test_too_many_members_is_fatal_before_indexing(tmp_path):
    made = hostile.too_many_members(tmp_path, 2_000)
    exporter = CONNECTOR.make_exporter(ConnectorContext(location=str(made.path), options={"max_members": "1000"}))
    with pytest.raises(FatalError, match=r"more than 1,000 files.*max_members"):
        exporter.list_page(Vertical.PHOTOS, None)


def test_meta_folder_with_fifo_and_directory_never_opens_them(tmp_path):
    made = hostile_meta_folder(tmp_path / "export")
    with MetaArchiveExporter(made.root) as ex:
        items = drain(ex, Vertical.PHOTOS)
        read, failed = deliver(ex, items)
        named = problems_by_subject(ex)
    assert read == ["good.jpg"]
    assert "FIFO" in failed["pipe.jpg"] and "directory" in failed["folder.jpg"]
    assert "FIFO" in named["your_facebook_activity/posts/album/1.json"]


def test_symlink_member_is_not_followed(tmp_path):
    path = tmp_path / "facebook-link-2026-01-01-x.zip"
    with hostile.RawZip(path) as z:
        z.add_bytes(hostile.ALBUM.format(n=0), json.dumps({"name": "L", "photos": [{"uri": "your_facebook_activity/posts/media/x/l.jpg"}]}).encode())
        hostile.symlink_member(z, "your_facebook_activity/posts/media/x/l.jpg")
        hostile.symlink_member(z, "your_facebook_activity/posts/media/x/unused.jpg")
    with MetaArchiveExporter(path, selected=frozenset({Vertical.PHOTOS})) as ex:
        read, failed = deliver(ex, drain(ex, Vertical.PHOTOS))
        left = problems_by_subject(ex, ProblemKind.NOT_TRANSFERRED)
    assert read == [] and "symbolic link" in failed["l.jpg"]
    assert "symbolic link" in left["your_facebook_activity/posts/media/x/unused.jpg"]


# -- issue 16 part 7: nothing skipped silently ----------------------------------------------------------


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return write_sample_archive(tmp_path_factory.mktemp("s") / "s.zip", photos=12, videos=3, posts=7, events=4, albums=3, size_mb=0.1, seed=2)


def test_note_images_group_posts_stories_and_profile_photos_move(sample):
    with MetaArchiveExporter(sample.path) as ex:
        photos = drain(ex, Vertical.PHOTOS)
        posts = drain(ex, Vertical.SOCIAL_POSTS)
    by_name = {p.file_name: p for p in photos if isinstance(p, Photo)}
    albums = {a.id: a.name for a in photos if isinstance(a, MediaAlbum)}
    assert {"note_obrázek.jpg", "skupina_1.jpg", "story_1.jpg", "17841400000000000.jpg"} <= set(by_name)
    assert albums[by_name["story_1.jpg"].album_id] == "Facebook stories"
    assert albums[by_name["17841400000000000.jpg"].album_id] == "Instagram profile photos"
    note = next(p for p in posts if p.type == "NOTE")
    assert note.title == "Poznámka o výletě 📝" and note.attachments[0].media_id == by_name["note_obrázek.jpg"].id
    group = next(p for p in posts if "Praha Hikers" in (p.title or ""))
    assert group.content == "Kdo jde v sobotu na Říp? ⛰️" and group.attachments[0].media_id == by_name["skupina_1.jpg"].id
    assert not [p for p in posts if not (p.content or p.attachments or p.location)]  # the empty post is not emitted
    assert len(posts) == sample.posts


def test_every_file_not_transferred_is_named_once_with_its_reason(sample):
    with MetaArchiveExporter(sample.path, selected=frozenset(ALL)) as ex:
        for vertical in ALL:
            drain(ex, vertical)
        problems = ex.problems()
    left = {p.subject: p.message for p in problems if p.kind == ProblemKind.NOT_TRANSFERRED}
    assert sorted(left) == list(sample.not_transferred)
    assert len([p for p in problems if p.kind == ProblemKind.NOT_TRANSFERRED]) == len(left)  # once each
    assert all("messages are not a vertical" in m for s, m in left.items() if "/messages/" in s)
    assert "profile information" in left["personal_information/profile_information/profile_information.json"]


def test_files_of_verticals_not_selected_are_named_as_not_selected(sample):
    exporter = CONNECTOR.make_exporter(ConnectorContext(location=str(sample.path), options={"verticals": "photos"}))
    with exporter:
        drain(exporter, Vertical.PHOTOS)
        left = problems_by_subject(exporter, ProblemKind.NOT_TRANSFERRED)
    assert "not selected" in left["your_facebook_activity/events/your_event_responses.json"]
    assert "not selected" in left["your_facebook_activity/posts/your_videos.json"]
    assert "not selected" in left["your_facebook_activity/posts/your_posts__check_ins__photos_and_videos_1.json"]
    mp4s = [s for s in left if s.endswith(".mp4")]
    assert len(mp4s) == sample.videos and all("videos are not part of this transfer" in left[s] for s in mp4s)
    assert not [s for s in left if s.endswith(".jpg")]  # every photo moves


# -- fuzz: the reader raises nothing but ferry's own errors ---------------------------------------------

_json_ish = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.sampled_from(["photos", "uri", "name", "data", "post", "media", "attachments"]) | st.text(max_size=5), kids, max_size=4),
    max_leaves=20,
)


def _member_bytes(value, mangle: bytes, cut: int) -> bytes:
    data = json.dumps(value, allow_nan=True).encode() if not isinstance(value, bytes) else value
    if mangle:
        at = cut % (len(data) + 1)
        data = data[:at] + mangle + data[at:]
    return data


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=_json_ish, mangle=st.binary(max_size=6), cut=st.integers(min_value=0, max_value=400),
       name=st.sampled_from([hostile.ALBUM.format(n=0), hostile.POSTS, "your_facebook_activity/events/your_events.json",
                             "your_instagram_activity/media/stories.json", "your_facebook_activity/groups/your_posts_in_groups.json"]))
def test_fuzz_archive_reader_raises_only_ferry_errors(tmp_path_factory, value, mangle, cut, name):
    path = tmp_path_factory.mktemp("fuzz") / "facebook-fuzz-2026-01-01-x.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(name, _member_bytes(value, mangle, cut))
        zf.writestr(hostile.ALBUM.format(n=9), json.dumps({"name": "ok", "photos": [{"uri": "media/x.jpg"}]}))
        zf.writestr("media/x.jpg", hostile.JPEG)
    try:
        with MetaArchiveExporter(path, page_size=3) as ex:
            for vertical in ALL:
                for item in drain(ex, vertical):
                    item.model_dump_json()
            ex.problems()
    except FerryError:
        pass


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=300) | st.text(max_size=200).map(str.encode))
def test_fuzz_json_member_raises_only_its_shape_error(data):
    from connectors.jsonread import JsonShapeError

    try:
        doc = JsonMember(data)
        for path in ((), ("photos",)):
            for element in doc.elements(*path):
                assert (element.value is None) or element.error is None
        doc.fields()
    except JsonShapeError:
        pass


def test_nothing_is_listed_as_not_transferred_when_the_transfer_is_unknown(sample):
    with MetaArchiveExporter(sample.path) as ex:
        drain(ex, Vertical.PHOTOS)
        assert [p for p in ex.problems() if p.kind == ProblemKind.NOT_TRANSFERRED] == []


def test_sniffing_a_zip_of_too_many_members_does_not_index_it(tmp_path):
    from connectors.meta import sniff_source

    made = hostile.too_many_members(tmp_path)
    plain = made.path.rename(tmp_path / "export.zip")  # no facebook- prefix: sniffing must look inside
    import tracemalloc

    tracemalloc.start()
    try:
        assert sniff_source(str(plain))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5 * MiB  # zipfile's index of 300,000 members would take well over 100 MiB
