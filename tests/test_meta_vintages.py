"""Older and newer Meta layouts, built by hand here, and the mojibake rule itself."""

from __future__ import annotations

import json
import zipfile

import pytest

from connectors.meta import MetaArchiveExporter
from connectors.meta.mojibake import fix_text, fix_tree, meta_escape
from connectors.models import CalendarEvent, MediaAlbum, Photo, SocialPost, Video, Vertical

JPEG = b"\xff\xd8\xff\xe0fake"
MP4 = b"\x00\x00\x00\x18ftypisom"


def write_tree(root, members):
    for name, value in members.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        data = value if isinstance(value, bytes) else json.dumps(value).encode()  # plain ASCII escapes
        target.write_bytes(data)
    return root


def items(path, vertical):
    out, cursor = [], None
    with MetaArchiveExporter(path, page_size=2) as ex:
        while True:
            page = ex.list_page(vertical, cursor)
            out.extend(page.items)
            if (cursor := page.next) is None:
                return out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Rados\u00c5\u0082aw", "Radosław"),
        ("\u00f0\u009f\u0090\u00b4", "🐴"),
        ("\u00c5\u0099", "ř"),
        ("Radosław", "Radosław"),  # already fixed: unchanged (idempotent)
        ("café", "café"),  # Latin-1 text that is not UTF-8 bytes: kept
        ("plain", "plain"),
        ("東京", "東京"),
    ],
)
def test_fix_text(text, expected):
    assert fix_text(text) == expected
    assert fix_text(fix_text(text)) == expected


def test_meta_escape_round_trip():
    original = {"name": "Žluťoučký 🐴 東京", "list": ["ř"]}
    dumped = json.dumps({meta_escape(k): v for k, v in {"k": meta_escape("ř")}.items()})
    assert dumped == '{"k": "\\u00c5\\u0099"}'
    assert fix_tree(json.loads(json.dumps({"name": meta_escape(original["name"]), "list": [meta_escape("ř")]}))) == original


def test_facebook_2018_photos_and_videos_layout(tmp_path):
    root = write_tree(tmp_path / "fb2018", {
        "photos_and_videos/album/0.json": {"name": meta_escape("Výlet"), "photos": [
            {"uri": "photos_and_videos/Vylet_abc/1.jpg", "creation_timestamp": 1400000000}]},
        "photos_and_videos/Vylet_abc/1.jpg": JPEG,
        "photos_and_videos/your_videos.json": {"videos": [
            {"uri": "photos_and_videos/videos/v.mp4", "creation_timestamp": 1400000100}]},
        "photos_and_videos/videos/v.mp4": MP4,
        "posts/your_posts_1.json": [{"timestamp": 1400000200, "data": [{"post": meta_escape("Ahoj světe")}]}],
        "events/your_event_responses.json": {"event_responses": {"events_joined": [
            {"name": "Party", "start_timestamp": 1400000300, "end_timestamp": 0}]}},
    })
    photos = items(root, Vertical.PHOTOS)
    assert [type(i) for i in photos] == [MediaAlbum, Photo] and photos[0].name == "Výlet"
    assert photos[1].size == len(JPEG)
    videos = items(root, Vertical.VIDEOS)
    assert [type(i) for i in videos] == [Video]
    posts = items(root, Vertical.SOCIAL_POSTS)
    assert [p.content for p in posts] == ["Ahoj světe"]
    events = items(root, Vertical.CALENDAR)
    assert [e.title for e in events if isinstance(e, CalendarEvent)] == ["Party"]


def test_facebook_2021_posts_media_layout_with_wrapper_folder(tmp_path):
    # an extracted export inside a wrapper folder; album folder name still mojibake in the uri
    folder = meta_escape("Léto_xyz")
    root = write_tree(tmp_path / "fb2021", {
        "facebook-jane/posts/album/0.json": {"name": "Summer", "photos": [
            {"uri": f"posts/media/{folder}/a.jpg", "creation_timestamp": 1600000000}]},
        "facebook-jane/posts/media/Léto_xyz/a.jpg": JPEG,
        "facebook-jane/posts/your_uncategorized_photos.json": {"other_photos_v2": [
            {"uri": "posts/media/Other_1/b.jpg", "creation_timestamp": 1600000001}]},
        "facebook-jane/posts/media/Other_1/b.jpg": JPEG,
        "facebook-jane/posts/your_posts_1.json": [{"timestamp": 1600000002, "attachments": [{"data": [
            {"media": {"uri": f"posts/media/{folder}/a.jpg"}},
            {"place": {"name": "Brno", "coordinate": {"latitude": 49.2, "longitude": 16.6}}}]}]}],
    })
    photos = items(root, Vertical.PHOTOS)
    assert [i.kind for i in photos] == ["album", "photo", "photo"]  # the post's photo is not listed twice
    assert photos[1].size == len(JPEG) and "Léto_xyz/a.jpg" in photos[1].ref
    (post,) = items(root, Vertical.SOCIAL_POSTS)
    assert post.type == "CHECKIN" and post.location.name == "Brno"
    assert post.attachments[0].media_id == photos[1].id


def test_split_zip_parts_merge(tmp_path):
    parts = tmp_path / "parts"
    parts.mkdir()
    with zipfile.ZipFile(parts / "facebook-jane-2025-01-01-aaa.zip", "w") as zf:
        zf.writestr("your_facebook_activity/posts/your_posts_1.json", json.dumps([{"timestamp": 1700000000,
                    "attachments": [{"data": [{"media": {"uri": "your_facebook_activity/posts/media/T_1/p.jpg"}}]}]}]))
    with zipfile.ZipFile(parts / "facebook-jane-2025-01-01-bbb.zip", "w") as zf:
        zf.writestr("your_facebook_activity/posts/media/T_1/p.jpg", JPEG)
    (photo,) = items(parts, Vertical.PHOTOS)
    assert photo.size == len(JPEG) and photo.album_id is None
    with MetaArchiveExporter(parts) as ex, ex.open_bytes(photo) as stream:
        assert stream.read() == JPEG


@pytest.mark.parametrize("prefix", ["content/", "your_instagram_activity/content/", "your_instagram_activity/media/"])
def test_instagram_vintages(tmp_path, prefix):
    root = write_tree(tmp_path / "ig", {
        f"{prefix}posts_1.json": [
            {"media": [{"uri": "media/posts/202101/1.jpg", "creation_timestamp": 1609459200,
                        "title": meta_escape("Praha ❤️")}]},
            {"title": "carousel", "creation_timestamp": 1609459300,
             "media": [{"uri": "media/posts/202101/2.jpg"}, {"uri": "media/posts/202101/3.mp4"}]},
        ],
        f"{prefix}reels.json": {"ig_reels_media": [{"media": [{"uri": "media/reels/202102/r.mp4"}]}]},
        "media/posts/202101/1.jpg": JPEG, "media/posts/202101/2.jpg": JPEG,
        "media/posts/202101/3.mp4": MP4, "media/reels/202102/r.mp4": MP4,
    })
    photos = items(root, Vertical.PHOTOS)
    assert [i.kind for i in photos] == ["album", "photo", "photo"] and photos[0].name == "Instagram posts"
    assert photos[1].description == "Praha ❤️"
    videos = items(root, Vertical.VIDEOS)
    assert [(i.kind, getattr(i, "name", None)) for i in videos] == [
        ("album", "Instagram posts"), ("video", None), ("album", "Instagram reels"), ("video", None)]
    posts = items(root, Vertical.SOCIAL_POSTS)
    assert [p.content for p in posts] == ["Praha ❤️", "carousel"]
    assert [a.type for a in posts[1].attachments] == ["IMAGE", "VIDEO"]
    assert isinstance(posts[0], SocialPost) and posts[0].published.year == 2021


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("IMG 0001 (kopie).jpg", "IMG 0001 (kopie).jpg"),
        ('a:b?c*"d<e>|f.jpg', "a_b_c__d_e__f.jpg"),
        ("tab\there.jpg", "tab_here.jpg"),
        ("..", "fallback.jpg"),
        ("ž" * 200 + ".jpg", "ž" * 88 + ".jpg"),  # cut to 180 UTF-8 bytes, extension kept
    ],
)
def test_safe_file_name(name, expected):
    from connectors.names import safe_segment

    assert safe_segment(name, fallback="fallback.jpg") == expected


def test_epoch_drops_nonsense():
    from connectors.meta.media import epoch

    assert epoch(0) is None and epoch(-62169958800) is None and epoch(True) is None and epoch("x") is None
    assert epoch(1609459200).isoformat() == "2021-01-01T00:00:00+00:00"
    assert epoch(1609459200000) == epoch(1609459200)  # milliseconds
