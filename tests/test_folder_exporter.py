"""The folder source beyond the kit: order, ids, cursors, skipped entries, metadata round trip."""

from __future__ import annotations

import os

import pytest

import connectors.folder as folder
from connectors.errors import ConfigError, FatalError, ItemError
from connectors.folder.exporter import FolderCursor
from connectors.folder.factory import make_exporter, make_importer, sniff_destination, sniff_source
from connectors.models import File, Folder, Location, MediaAlbum, Photo, Vertical, Video, stable_id
from connectors.registry import ConnectorContext
from connectors.testing import KitSource, drain, import_pages, sample_pages


def exporter_at(path, page_size=500):
    return make_exporter(ConnectorContext(location=str(path), options={"page_size": page_size}))


def build(root, files):
    for rel, data in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def test_blobs_walk_sorted_depth_first_with_stable_ids(tmp_path):
    build(tmp_path, {"b.txt": b"b", "a/2.txt": b"22", "a/1.txt": b"1", "A.txt": b"A"})
    items = drain(exporter_at(tmp_path), Vertical.BLOBS).items
    assert [(type(i).__name__, getattr(i, "path", None) or i.ref) for i in items] == [
        ("File", "A.txt"),
        ("Folder", "/a"),
        ("File", "a/1.txt"),
        ("File", "a/2.txt"),
        ("File", "b.txt"),
    ]
    assert items[2].id == stable_id("folder", "file", "a/1.txt") and items[2].folder == "/a"
    assert items[3].size == 2 and items[0].folder == "/" and items[0].mime_type == "text/plain"
    assert items[1] == Folder(id=stable_id("folder", "folder", "a"), path="/a")


def test_ids_never_collide_between_verticals(tmp_path):
    """A photo and the file made of the same image, an album and the folder it is, differ."""
    build(tmp_path, {"Trip/a.jpg": b"a", "Trip/b.mov": b"b", "top.jpg": b"t"})
    blobs = {(i.kind, getattr(i, "ref", None) or i.path.strip("/")): i.id for i in drain(exporter_at(tmp_path), Vertical.BLOBS).items}
    media = {(i.kind, getattr(i, "ref", None) or i.name): i.id for i in drain(exporter_at(tmp_path), Vertical.MEDIA).items}
    assert len(set(blobs.values()) | set(media.values())) == len(blobs) + len(media)
    # media keep the ids their sidecars and album records name; blobs name their kind
    assert media[("album", "Trip")] == stable_id("folder", "Trip") and media[("photo", "Trip/a.jpg")] == stable_id("folder", "Trip/a.jpg")
    assert blobs[("folder", "Trip")] == stable_id("folder", "folder", "Trip")


def test_the_path_id_scheme_keeps_the_ids_of_older_transfers(tmp_path):
    build(tmp_path, {"a/1.txt": b"1"})
    exporter = make_exporter(ConnectorContext(location=str(tmp_path), options={"id_scheme": "path"}))
    assert [i.id for i in drain(exporter, Vertical.BLOBS).items] == [stable_id("folder", "a"), stable_id("folder", "a/1.txt")]
    with pytest.raises(ConfigError, match="id_scheme"):
        make_exporter(ConnectorContext(location=str(tmp_path), options={"id_scheme": "nope"}))


def test_cursor_is_the_last_path_and_resumes_even_if_that_path_is_gone(tmp_path):
    build(tmp_path, {"a/1.txt": b"1", "a/2.txt": b"2", "b/3.txt": b"3"})
    page = exporter_at(tmp_path, page_size=2).list_page(Vertical.BLOBS, None)
    assert page.next == FolderCursor(after="a/1.txt")
    os.remove(tmp_path / "a/1.txt")
    rest = exporter_at(tmp_path).list_page(Vertical.BLOBS, FolderCursor(after="a/1.txt"))
    assert [getattr(i, "ref", None) or i.path for i in rest.items] == ["a/2.txt", "/b", "b/3.txt"]
    assert rest.next is None


def test_media_verticals_make_albums_of_folders_that_hold_media(tmp_path):
    build(tmp_path, {"top.jpg": b"t", "Trip/a.JPG": b"aa", "Trip/b.mov": b"bbb", "Trip/x.txt": b"x", "Docs/d.pdf": b"d"})
    photos = drain(exporter_at(tmp_path), Vertical.PHOTOS).items
    trip = MediaAlbum(id=stable_id("folder", "Trip"), name="Trip")
    assert [type(i) for i in photos] == [MediaAlbum, Photo, Photo]
    assert photos[0] == trip
    assert photos[1].album_id == trip.id and photos[1].mime_type == "image/jpeg" and photos[1].size == 2
    assert photos[2].ref == "top.jpg" and photos[2].album_id is None
    videos = drain(exporter_at(tmp_path), Vertical.VIDEOS).items
    assert [type(i) for i in videos] == [MediaAlbum, Video]
    assert videos[1].mime_type == "video/quicktime"
    assert len(drain(exporter_at(tmp_path), Vertical.MEDIA).items) == 4  # the album once, three media


def test_partials_and_directory_symlinks_are_skipped(tmp_path):
    build(tmp_path, {"a.txt": b"a", "a.txt.partial-0badc0de": b"half"})
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)
    items = drain(exporter_at(tmp_path), Vertical.BLOBS).items
    assert [i.ref for i in items] == ["a.txt"]


def test_folder_to_folder_keeps_metadata_through_sidecars(tmp_path):
    pages = sample_pages(Vertical.PHOTOS)
    import_pages(make_importer(ConnectorContext(location=str(tmp_path))), pages, lambda k: KitSource().context(parents=k))
    exported = drain(exporter_at(tmp_path / "photos"), Vertical.PHOTOS).items
    albums = [i.name for i in exported if isinstance(i, MediaAlbum)]
    assert sorted(albums) == ["Summer 2020", "Summer 2020"]
    sunset = next(i for i in exported if isinstance(i, Photo) and i.description == "Sunset")
    assert sunset.favorite is True and sunset.taken_time.isoformat() == "2021-07-04T09:30:00+00:00"
    assert sunset.location == Location(name="Pier", latitude=52.1, longitude=4.3)
    assert not [i for i in exported if getattr(i, "ref", "").endswith(".json")]


def test_missing_root_and_file_root_are_fatal(tmp_path):
    with pytest.raises(FatalError, match="does not exist"):
        exporter_at(tmp_path / "nope").list_page(Vertical.BLOBS, None)
    (tmp_path / "f").write_bytes(b"x")
    with pytest.raises(FatalError, match="not a folder"):
        exporter_at(tmp_path / "f").list_page(Vertical.BLOBS, None)


def test_open_bytes_of_a_vanished_file_is_an_item_error(tmp_path):
    build(tmp_path, {"gone.txt": b"x"})
    exporter = exporter_at(tmp_path)
    (item,) = exporter.list_page(Vertical.BLOBS, None).items
    os.remove(tmp_path / "gone.txt")
    with pytest.raises(ItemError, match="gone.txt"):
        exporter.open_bytes(item)


def test_unsupported_vertical_and_bad_options_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="calendar"):
        exporter_at(tmp_path).list_page(Vertical.CALENDAR, None)
    with pytest.raises(ConfigError, match="page_size"):
        make_exporter(ConnectorContext(location=str(tmp_path), options={"page_size": "many"}))


def test_sniffing_claims_folders_and_storage_urls(tmp_path):
    (tmp_path / "f.zip").write_bytes(b"PK")
    assert sniff_source(str(tmp_path)) and sniff_source("s3://bucket/x") and sniff_source("memory://x")
    assert not sniff_source(str(tmp_path / "f.zip")) and not sniff_source("https://example.org/x")
    assert not sniff_source(str(tmp_path / "missing"))
    assert sniff_destination(str(tmp_path / "new")) and sniff_destination("s3://bucket/out")
    assert not sniff_destination(str(tmp_path / "f.zip")) and not sniff_destination("nosuch://x")


def test_registration():
    connector = folder.CONNECTOR
    assert connector.name == "folder" and connector.priority == 90 and connector.capabilities.repeat_safety == "recognises"
    assert Vertical.CALENDAR in connector.capabilities.imports
    assert connector.capabilities.exports >= {Vertical.BLOBS, Vertical.PHOTOS, Vertical.VIDEOS}
    assert connector.services == ("Local files", "Amazon S3", "Backblaze B2")


def test_file_items_carry_modified_times(tmp_path):
    build(tmp_path, {"a.txt": b"a"})
    os.utime(tmp_path / "a.txt", (1_600_000_000, 1_600_000_000))
    (item,) = drain(exporter_at(tmp_path), Vertical.BLOBS).items
    assert isinstance(item, File) and item.modified.timestamp() == 1_600_000_000


def test_special_files_and_symlinks_are_named_never_opened(tmp_path):
    from connectors.base import ProblemKind
    from tests.hostile.folders import special_files

    made = special_files(tmp_path / "src", tmp_path / "outside")
    try:
        exporter = exporter_at(tmp_path / "src")
        photos = drain(exporter, Vertical.PHOTOS).items
        refs = sorted(i.ref for i in photos if isinstance(i, Photo))
        assert refs == sorted(made.good)
        for item in photos:
            if isinstance(item, Photo):
                with exporter.open_bytes(item) as stream:
                    assert stream.read()[:2] == b"\xff\xd8"
        named = {p.subject.rsplit("/", 1)[-1]: p for p in exporter.problems()}
        for name, fragment in made.expect.items():
            assert fragment in named[name].message, (name, named.get(name))
        assert named["fifo.jpg"].kind == ProblemKind.FAILED and named["escape.jpg"].kind == ProblemKind.NOT_TRANSFERRED
        assert named["fifo.jpg"].subject == f"{tmp_path / 'src'}/Trip/fifo.jpg"
        blobs = drain(exporter_at(tmp_path / "src"), Vertical.BLOBS).items
        assert not [i for i in blobs if getattr(i, "name", "") in made.expect and i.kind == "file"]
    finally:
        made.close()


def test_a_file_swapped_for_a_fifo_after_listing_is_an_item_error_not_a_hang(tmp_path):
    build(tmp_path, {"x.jpg": b"\xff\xd8"})
    exporter = exporter_at(tmp_path)
    (photo,) = drain(exporter, Vertical.PHOTOS).items
    os.remove(tmp_path / "x.jpg")
    os.mkfifo(tmp_path / "x.jpg")
    with pytest.raises(ItemError, match="FIFO"):
        exporter.open_bytes(photo)


def test_a_fifo_sidecar_is_not_read(tmp_path):
    build(tmp_path, {"x.jpg": b"\xff\xd8"})
    os.mkfifo(tmp_path / "x.jpg.json")
    (photo,) = drain(exporter_at(tmp_path), Vertical.PHOTOS).items
    assert photo.title == "x.jpg"


# -- --include / --exclude ---------------------------------------------------------------


def _refs(items):
    return [getattr(i, "ref", None) or i.path for i in items]


def filtered(tmp_path, vertical=Vertical.BLOBS, **options):
    return _refs(drain(make_exporter(ConnectorContext(location=str(tmp_path), options=options)), vertical).items)


def test_include_and_exclude_globs_follow_rclones_pattern_language(tmp_path):
    build(tmp_path, {"top.jpg": b"1", "top.txt": b"2", "2020/a.jpg": b"3", "2020/b.png": b"4", "2020/raw/c.jpg": b"5", "tmp/d.jpg": b"6"})
    assert filtered(tmp_path, include=["*.jpg"]) == ["2020/a.jpg", "2020/raw/c.jpg", "tmp/d.jpg", "top.jpg"]
    assert filtered(tmp_path, include=["/*.jpg"]) == ["top.jpg"]  # anchored at the root
    assert filtered(tmp_path, include=["2020/**"]) == ["/2020", "2020/a.jpg", "2020/b.png", "/2020/raw", "2020/raw/c.jpg"]
    assert filtered(tmp_path, include=["*.{jpg,png}"], exclude=["tmp/", "raw/*"]) == ["2020/a.jpg", "2020/b.png", "top.jpg"]
    assert filtered(tmp_path, exclude=["*.jpg"]) == ["/2020", "2020/b.png", "/2020/raw", "/tmp", "top.txt"]
    assert filtered(tmp_path, include=["?op.*"]) == ["top.jpg", "top.txt"]
    photos = drain(make_exporter(ConnectorContext(location=str(tmp_path), options={"exclude": "tmp/\nraw/"})), Vertical.PHOTOS).items
    assert [(type(i).__name__, getattr(i, "ref", None) or i.name) for i in photos] == [("MediaAlbum", "2020"), ("Photo", "2020/a.jpg"), ("Photo", "2020/b.png"), ("Photo", "top.jpg")]


def test_an_excluded_folder_is_never_listed(tmp_path):
    build(tmp_path, {"keep/a.txt": b"a", "secret/b.txt": b"b"})
    (tmp_path / "secret").chmod(0o000)  # listing it would fail (for a non-root user)
    try:
        assert filtered(tmp_path, exclude=["secret/"]) == ["/keep", "keep/a.txt"]
    finally:
        (tmp_path / "secret").chmod(0o755)


def test_bad_globs_are_config_errors(tmp_path):
    for options in ({"include": ["[abc"]}, {"exclude": "{a,b"}, {"include": 5}):
        with pytest.raises(ConfigError, match="folder"):
            make_exporter(ConnectorContext(location=str(tmp_path), options=options))
