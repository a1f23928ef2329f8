"""The Meta archive exporter over the generated sample: zip, folder and 2-part forms."""

from __future__ import annotations

import pytest

from connectors import registry
from connectors.base import ProblemKind
from connectors.errors import ConfigError, ItemError
from connectors.meta import CONNECTOR, MetaArchiveExporter, sniff_source
from connectors.meta.cursor import MetaCursor
from connectors.meta.sample import write_sample_archive
from connectors.models import CalendarEvent, MediaAlbum, Photo, SocialPost, Vertical
from connectors.registry import ConnectorContext

VERTICALS = (Vertical.PHOTOS, Vertical.VIDEOS, Vertical.SOCIAL_POSTS, Vertical.CALENDAR)


def drain(exporter, vertical, *, via_json: bool = False):
    """All items of a vertical, following cursors (optionally through their JSON form)."""
    items, cursor, hints = [], None, set()
    while True:
        page = exporter.list_page(vertical, cursor)
        items.extend(page.items)
        hints.add(page.total_hint)
        cursor = page.next
        if cursor is None:
            return items, hints
        if via_json:
            cursor = MetaCursor.model_validate_json(cursor.model_dump_json())


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    root = tmp_path_factory.mktemp("meta")
    kw = dict(photos=12, videos=3, posts=7, events=6, albums=3, size_mb=0.2, seed=1)
    return {
        "zip": write_sample_archive(root / "one.zip", **kw),
        "folder": write_sample_archive(root / "tree", zip=False, **kw),
        "parts": write_sample_archive(root / "parts", parts=2, **kw),
    }


@pytest.mark.parametrize("form", ["zip", "folder", "parts"])
def test_counts_match_summary(samples, form):
    summary = samples[form]
    with MetaArchiveExporter(summary.path, page_size=5) as exporter:
        for vertical in VERTICALS:
            items, hints = drain(exporter, vertical)
            expected = summary.items_per_vertical()[vertical.value]
            assert len(items) == expected, vertical
            assert hints == {expected}
            assert len({i.id for i in items}) == len(items)
        assert [p for p in exporter.problems() if p.kind == ProblemKind.FAILED] == []


def test_ids_stable_across_runs_and_forms(samples):
    def ids(path, page_size):
        with MetaArchiveExporter(path, page_size=page_size) as ex:
            return {v: [i.id for i in drain(ex, v, via_json=True)[0]] for v in VERTICALS}

    first = ids(samples["zip"].path, 4)
    assert first == ids(samples["zip"].path, 1000)
    assert first == ids(samples["folder"].path, 3)
    assert first == ids(samples["parts"].path, 7)


def test_mojibake_repaired_exactly(samples):
    summary = samples["zip"]
    with MetaArchiveExporter(summary.path) as ex:
        photos, _ = drain(ex, Vertical.PHOTOS)
        posts, _ = drain(ex, Vertical.SOCIAL_POSTS)
        events, _ = drain(ex, Vertical.CALENDAR)
    albums = [i.name for i in photos if isinstance(i, MediaAlbum)]
    assert albums[:3] == list(summary.album_names) == ["Prázdniny 2023 🏖️", "東京 旅行 🗼", "Rodina – Štědrý den 🎄"]
    assert "Instagram posts" in albums
    contents = {p.content for p in posts if isinstance(p, SocialPost)}
    assert "Příliš žluťoučký kůň úpěl ďábelské ódy 🐴" in contents
    assert "東京で最高の一日でした 🍣" in contents
    assert {e.title for e in events if isinstance(e, CalendarEvent)} == set(summary.event_names)
    names = {i.file_name for i in photos if isinstance(i, Photo)}
    assert "IMG 0001 (kopie).jpg" in names and "žluťoučký kůň 🐴.jpg" in names
    long_name = next(n for n in names if n.startswith("very_long"))
    assert long_name.endswith(".jpg") and len(long_name.encode()) <= 180
    # uri folder names are repaired too: the nested album folder is found, bytes listed.
    assert all(i.size for i in photos if isinstance(i, Photo) and i.id not in summary.missing_media_ids)


def test_items_are_well_formed(samples):
    with MetaArchiveExporter(samples["parts"].path) as ex:
        photos, _ = drain(ex, Vertical.PHOTOS)
        videos, _ = drain(ex, Vertical.VIDEOS)
        posts, _ = drain(ex, Vertical.SOCIAL_POSTS)
        events, _ = drain(ex, Vertical.CALENDAR)
    seen_albums = set()
    for item in photos + videos:
        if isinstance(item, MediaAlbum):
            seen_albums.add(item.id)
            continue
        assert item.album_id is None or item.album_id in seen_albums  # parents come first
        assert "/" not in item.file_name and "\\" not in item.file_name
        assert item.mime_type == ("image/jpeg" if item.kind == "photo" else "video/mp4")
        for t in (item.taken_time, item.uploaded_time):
            assert t is None or (t.tzinfo is not None and t.year >= 1970)
    # the photo with taken_timestamp -62169958800 keeps only its upload time
    assert any(p.kind == "photo" and p.taken_time is None and p.uploaded_time for p in photos)
    media_ids = {i.id for i in photos + videos}
    attached = [a.media_id for p in posts for a in p.attachments if a.media_id]
    assert attached and set(attached) <= media_ids
    assert {e.rsvp for e in events if isinstance(e, CalendarEvent)} == {"joined", "interested", "declined", "hosting", "invited"}
    assert any(isinstance(e, CalendarEvent) and e.end is None for e in events)  # end_timestamp 0


def test_open_bytes_streams_in_chunks_and_missing_file_is_item_error(samples):
    summary = samples["parts"]
    with MetaArchiveExporter(summary.path, page_size=1000) as ex:
        photos, _ = drain(ex, Vertical.PHOTOS)
        videos, _ = drain(ex, Vertical.VIDEOS)
        for item in [p for p in photos if p.kind == "photo" and p.id not in summary.missing_media_ids] + videos[-1:]:
            if item.kind == "album":
                continue
            total = 0
            with ex.open_bytes(item) as stream:
                first = stream.read(4)
                total += len(first)
                while chunk := stream.read(4096):
                    assert len(chunk) <= 4096
                    total += len(chunk)
            assert total == item.size
            assert first[:3] == b"\xff\xd8\xff" if item.kind == "photo" else first
        missing = [p for p in photos if p.id in summary.missing_media_ids]
        assert len(missing) == 1 and missing[0].size is None
        with pytest.raises(ItemError) as info:
            ex.open_bytes(missing[0])
    uri, member = summary.missing_media[0]
    assert info.value.item_id == missing[0].id
    assert f"missing file {uri} referenced by {member}" in str(info.value)


def test_cursor_resume_in_a_new_exporter(samples):
    path = samples["zip"].path
    with MetaArchiveExporter(path, page_size=1000) as ex:
        everything, _ = drain(ex, Vertical.PHOTOS)
    with MetaArchiveExporter(path, page_size=6) as ex:
        page = ex.list_page(Vertical.PHOTOS, None)
        saved = page.next.model_dump_json()
    with MetaArchiveExporter(path, page_size=6) as ex:  # a restarted worker
        rest, _ = drain_from(ex, Vertical.PHOTOS, MetaCursor.model_validate_json(saved))
    assert [i.id for i in page.items + tuple(rest)] == [i.id for i in everything]


def drain_from(exporter, vertical, cursor):
    items = []
    while cursor is not None:
        page = exporter.list_page(vertical, cursor)
        items.extend(page.items)
        cursor = page.next
    return items, None


def test_registration_and_sniffing(samples, tmp_path):
    assert CONNECTOR.name == "meta" and CONNECTOR.priority == 10
    assert CONNECTOR.capabilities.exports == frozenset(VERTICALS)
    assert CONNECTOR.services == ("Facebook", "Instagram")
    assert registry.get("meta") is CONNECTOR
    for form in ("zip", "folder", "parts"):
        assert sniff_source(str(samples[form].path)), form
    assert not sniff_source(str(tmp_path))
    assert not sniff_source("s3://bucket/x.zip")
    endpoint = registry.parse_endpoint(str(samples["zip"].path), role="source")
    assert endpoint.connector.name == "meta"
    exporter = CONNECTOR.make_exporter(ConnectorContext(location=str(samples["zip"].path), options={"page_size": "3"}))
    assert exporter.page_size == 3 and len(exporter.list_page(Vertical.CALENDAR, None).items) == 3
    with pytest.raises(ConfigError, match="page_size"):
        CONNECTOR.make_exporter(ConnectorContext(location="x", options={"page_size": "many"}))
    with pytest.raises(ConfigError, match="cannot export media"):
        exporter.list_page(Vertical.MEDIA, None)
