"""Bad Meta archives: each failure names the file or member, and the rest of the archive goes on."""

from __future__ import annotations

import json
import zipfile

import pytest

from connectors.base import ProblemKind
from connectors.errors import FatalError, ItemError
from connectors.meta import MetaArchiveExporter
from connectors.meta.mojibake import meta_escape_tree
from connectors.meta.sample import write_sample_archive
from connectors.models import Photo, Vertical


def build_zip(path, members: dict[str, object]):
    """Write a zip whose values are JSON-able (dumped Meta-style) or raw bytes."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, value in members.items():
            data = value if isinstance(value, bytes) else json.dumps(meta_escape_tree(value)).encode()
            zf.writestr(name, data)
    return path


def all_items(exporter, vertical):
    items, cursor = [], None
    while True:
        page = exporter.list_page(vertical, cursor)
        items.extend(page.items)
        if (cursor := page.next) is None:
            return items


JPEG = b"\xff\xd8\xff\xe0" + b"x" * 100
ALBUM = "your_facebook_activity/posts/album/{n}.json"
MEDIA = "your_facebook_activity/posts/media/Album_1/{name}"


def album(name, *uris):
    return {"name": name, "photos": [{"uri": u, "creation_timestamp": 1600000000} for u in uris]}


def test_corrupt_zip_is_fatal_naming_the_file(tmp_path):
    bad = tmp_path / "facebook-jane-2025-01-01-abc.zip"
    bad.write_bytes(b"PK\x03\x04 this is not really a zip" * 10)
    with pytest.raises(FatalError, match="facebook-jane-2025-01-01-abc.zip"):
        MetaArchiveExporter(bad).list_page(Vertical.PHOTOS, None)


def test_truncated_zip_is_fatal_naming_the_file(tmp_path):
    summary = write_sample_archive(tmp_path / "full.zip", photos=4, size_mb=0.05)
    cut = tmp_path / "cut.zip"
    data = summary.path.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(FatalError, match=r"cut\.zip.*download it again"):
        MetaArchiveExporter(cut).list_page(Vertical.PHOTOS, None)


def test_one_bad_part_among_parts_is_fatal(tmp_path):
    summary = write_sample_archive(tmp_path / "parts", photos=4, size_mb=0.05, parts=2)
    victim = summary.files[1]
    victim.write_bytes(victim.read_bytes()[:100])
    with pytest.raises(FatalError, match=victim.name):
        MetaArchiveExporter(summary.path).list_page(Vertical.PHOTOS, None)


def test_missing_location_is_fatal(tmp_path):
    with pytest.raises(FatalError, match="not found"):
        MetaArchiveExporter(tmp_path / "nope.zip").list_page(Vertical.PHOTOS, None)


def test_invalid_json_member_is_a_problem_and_others_continue(tmp_path):
    path = build_zip(tmp_path / "a.zip", {
        ALBUM.format(n=0): b'{"name": "Broken", "photos": [',
        ALBUM.format(n=1): album("Good", MEDIA.format(name="1.jpg")),
        MEDIA.format(name="1.jpg"): JPEG,
    })
    with MetaArchiveExporter(path) as ex:
        items = all_items(ex, Vertical.PHOTOS)
        problems = [(p.subject, p.message) for p in ex.problems() if p.kind == ProblemKind.FAILED]
    # What came before the break (the album's name) still moves; the break is named.
    assert [(i.kind, getattr(i, "name", None)) for i in items] == [("album", "Broken"), ("album", "Good"), ("photo", None)]
    assert len(problems) == 1
    member, message = problems[0]
    assert member == ALBUM.format(n=0) and "invalid JSON" in message and "the file ends" in message
    assert ex.problems() == []  # problems() clears


def test_wrong_shape_is_a_problem(tmp_path):
    path = build_zip(tmp_path / "a.zip", {
        "your_facebook_activity/posts/your_posts_1.json": {"not": "a list"},
        ALBUM.format(n=0): album("Ok"),
    })
    with MetaArchiveExporter(path) as ex:
        assert all_items(ex, Vertical.SOCIAL_POSTS) == []
        assert [(p.subject, p.message) for p in ex.problems() if p.kind == ProblemKind.FAILED] == [
            ("your_facebook_activity/posts/your_posts_1.json", "expected a JSON array of posts; the file is an object")
        ]


def test_path_traversal_members_and_uris_are_never_followed(tmp_path):
    path = build_zip(tmp_path / "a.zip", {
        ALBUM.format(n=0): album("Trap", "../../etc/passwd.jpg", "/etc/shadow.jpg", "media\\win.jpg",
                                 MEDIA.format(name="ok.jpg")),
        "../evil.jpg": JPEG,
        "/abs/evil.jpg": JPEG,
        "dir\\evil.jpg": JPEG,
        MEDIA.format(name="ok.jpg"): JPEG,
    })
    with MetaArchiveExporter(path) as ex:
        items = all_items(ex, Vertical.PHOTOS)
        problems = [(p.subject, p.message) for p in ex.problems() if p.kind == ProblemKind.FAILED]
    assert [i.file_name for i in items if isinstance(i, Photo)] == ["ok.jpg"]
    members = {m for m, _ in problems}
    assert {"a.zip:../evil.jpg", "a.zip:/abs/evil.jpg", "a.zip:dir\\evil.jpg"} <= members
    uri_problems = [msg for m, msg in problems if m == ALBUM.format(n=0)]
    assert len(uri_problems) == 3 and all("unsafe media uri" in msg for msg in uri_problems)
    assert any("../../etc/passwd.jpg" in msg for msg in uri_problems)


def test_html_export_is_fatal_with_reexport_hint(tmp_path):
    path = build_zip(tmp_path / "html.zip", {
        "your_facebook_activity/posts/your_posts_1.html": b"<html></html>",
        "your_facebook_activity/posts/album/0.html": b"<html></html>",
        "start_here.html": b"<html></html>",
    })
    with pytest.raises(FatalError, match=r"HTML export.*Format: JSON"):
        MetaArchiveExporter(path).list_page(Vertical.PHOTOS, None)


def test_unrecognised_archive_is_fatal(tmp_path):
    path = build_zip(tmp_path / "other.zip", {"readme.txt": b"hello"})
    with pytest.raises(FatalError, match="no Facebook or Instagram JSON"):
        MetaArchiveExporter(path).list_page(Vertical.PHOTOS, None)


def test_web_uris_skipped_and_nonsense_times_dropped(tmp_path):
    path = build_zip(tmp_path / "a.zip", {
        ALBUM.format(n=0): {"name": "Web", "cover_photo": {"uri": "https://facebook.com/"}, "photos": [
            {"uri": "https://scontent.xx.fbcdn.net/a.jpg", "creation_timestamp": 1},
            {"uri": MEDIA.format(name="t.jpg"), "creation_timestamp": 0,
             "media_metadata": {"photo_metadata": {"exif_data": [{"taken_timestamp": -62169958800}]}}},
        ]},
        MEDIA.format(name="t.jpg"): JPEG,
    })
    with MetaArchiveExporter(path) as ex:
        items = all_items(ex, Vertical.PHOTOS)
        assert [p for p in ex.problems() if p.kind == ProblemKind.FAILED] == []
    photo = items[1]
    assert len(items) == 2 and photo.taken_time is None and photo.uploaded_time is None
    assert photo.size == len(JPEG) and photo.mime_type == "image/jpeg"


def test_corrupt_member_bytes_raise_item_error_naming_the_member(tmp_path):
    path = build_zip(tmp_path / "a.zip", {ALBUM.format(n=0): album("A", MEDIA.format(name="c.jpg")),
                                          MEDIA.format(name="c.jpg"): JPEG * 50})
    raw = bytearray(path.read_bytes())
    offset = raw.find(JPEG * 2)
    raw[offset + 10] ^= 0xFF  # flip a byte of the stored data: CRC check fails at the end
    path.write_bytes(bytes(raw))
    with MetaArchiveExporter(path) as ex:
        photo = all_items(ex, Vertical.PHOTOS)[1]
        with pytest.raises(ItemError, match=r"cannot read a\.zip:.*c\.jpg") as info:
            with ex.open_bytes(photo) as stream:
                while stream.read(1024):
                    pass
    assert info.value.item_id == photo.id


def test_symlink_leaving_folder_is_ignored(tmp_path):
    root = tmp_path / "export"
    (root / "your_facebook_activity/posts/album").mkdir(parents=True)
    (root / "your_facebook_activity/posts/album/0.json").write_text(json.dumps(album("S", "secret.jpg")))
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(JPEG)
    (root / "secret.jpg").symlink_to(outside)
    with MetaArchiveExporter(root) as ex:
        photo = all_items(ex, Vertical.PHOTOS)[1]
        assert ("secret.jpg", "symlink leaving the archive folder ignored") in [(p.subject, p.message) for p in ex.problems()]
        with pytest.raises(ItemError, match="missing file secret.jpg referenced by"):
            ex.open_bytes(photo)
