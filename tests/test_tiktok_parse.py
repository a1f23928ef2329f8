"""Parsing TikTok downloads (both schema generations) into videos, posts and blobs."""

from __future__ import annotations

import json

import pytest

from connectors.errors import FatalError, RetryableError, SourceNotReady
from connectors.models import File, Folder, Photo, SocialPost, Video, Vertical
from connectors.registry import ConnectorContext
from connectors.state import MemoryStateSlot
from connectors.tiktok.factory import make_exporter
from flows.store import content_hash
from tests.fakes.tiktok import PHOTO_BYTES, VIDEO_BYTES, FakeTikTok, FakeTokens, older_sample_data, sample_data


@pytest.fixture(scope="module")
def fake():
    with FakeTikTok(ready_after_checks=1, single_use=False) as service:
        yield service


@pytest.fixture(autouse=True)
def reset_fake(fake):
    fake.data, fake.data_member, fake.extra_members = None, "user_data_tiktok.json", {}
    fake.added_posts, fake.media_in_zip = [], False
    fake.cdn.reset()
    yield


_SLOTS: dict[str, MemoryStateSlot] = {}


def export_all(fake, tmp_path, **options) -> tuple[dict, object]:
    """Drive a transfer to the end (the fake turns ready at the first Check); items per vertical."""
    ctx = ConnectorContext(
        location="",
        options={"api_base": fake.base_url, **options},
        auth=FakeTokens(fake, ("portability.all.ongoing",)),
        staging_url=str(tmp_path / "staging"),
        state=_SLOTS.setdefault(str(tmp_path), MemoryStateSlot()),  # one job per tmp_path
    )
    exp = make_exporter(ctx)
    out = {}
    for vertical in (Vertical.PHOTOS, Vertical.VIDEOS, Vertical.SOCIAL_POSTS, Vertical.BLOBS):
        cursor, items = None, []
        while True:
            try:
                page = exp.list_page(vertical, cursor)
            except SourceNotReady as wait:
                cursor = wait.cursor
                continue
            items.extend(page.items)
            if page.next is None:
                break
            cursor = page.next
        out[vertical] = items
    return out, exp


def read(exp, item) -> bytes:
    with exp.open_bytes(item) as fh:
        return fh.read()


def test_current_schema_verticals(fake, tmp_path):
    items, exp = export_all(fake, tmp_path)
    with exp:
        videos = [i for i in items[Vertical.VIDEOS] if isinstance(i, Video)]
        assert [v.title for v in videos] == ["first dance", "cat"]  # the "N/A" link has no bytes
        assert videos[0].taken_time.isoformat() == "2025-03-01T10:00:00+00:00"
        assert read(exp, videos[1]) == VIDEO_BYTES("v2.mp4")
        posts = items[Vertical.SOCIAL_POSTS]
        assert all(isinstance(p, SocialPost) for p in posts) and len(posts) == 3
        assert posts[0].location.name == "Lisbon" and posts[1].location is None
        assert posts[0].attachments[0].media_id == videos[0].id
        assert posts[2].url is None and posts[2].attachments[0].media_id is None  # metadata only

        blobs = items[Vertical.BLOBS]
        folders = [b.path for b in blobs if isinstance(b, Folder)]
        files = {f"{b.folder}/{b.name}": b for b in blobs if isinstance(b, File)}
        assert folders.index("/TikTok") < folders.index("/TikTok/Profile")
        assert blobs.index(next(b for b in blobs if isinstance(b, File))) > len(folders) - 1  # parents first
        for path in (
            "/TikTok/Profile/Profile Info.json",
            "/TikTok/Profile/Who can see your following list.json",
            "/TikTok/Activity/Watch History.json",
            "/TikTok/Direct Messages/Chat History with friend1.json",
            "/TikTok/Direct Messages/Chat History with friend2.json",
            "/TikTok/Likes and Favorites/Like List.json",
            "/TikTok/Comment/Comments.json",
            "/TikTok/Post/Posts.json",
        ):
            assert path in files, sorted(files)
        assert "/TikTok/Profile/Follower.json" not in files  # empty sections hold no data
        dm = json.loads(read(exp, files["/TikTok/Direct Messages/Chat History with friend1.json"]))
        assert dm == [{"Date": "2025-02-04 10:00:00", "From": "friend1", "Content": "hey"}]
        profile = files["/TikTok/Profile/Profile Info.json"]
        assert len(read(exp, profile)) == profile.size
        assert exp.problems() == []


def test_older_schema_verticals(fake, tmp_path):
    fake.data, fake.data_member = older_sample_data(fake.base_url), "user_data.json"
    items, exp = export_all(fake, tmp_path)
    with exp:
        videos = [i for i in items[Vertical.VIDEOS] if isinstance(i, Video)]
        assert len(videos) == 1 and read(exp, videos[0]) == VIDEO_BYTES("old1.mp4")  # VideoLink
        assert len(items[Vertical.SOCIAL_POSTS]) == 2
        paths = {f"{b.folder}/{b.name}" for b in items[Vertical.BLOBS] if isinstance(b, File)}
        assert {
            "/TikTok/Profile/Profile Information.json",
            "/TikTok/Activity/Like List.json",
            "/TikTok/Activity/Video Browsing History.json",
            "/TikTok/Direct Messages/Chat History with pal.json",
            "/TikTok/App Settings/Settings.json",
        } <= paths


def test_ids_are_stable_across_runs_and_change_with_content(fake, tmp_path):
    first, exp1 = export_all(fake, tmp_path / "a")
    second, exp2 = export_all(fake, tmp_path / "b")
    exp1.close(), exp2.close()
    for vertical in first:
        assert [i.id for i in first[vertical]] == [i.id for i in second[vertical]]
    data = sample_data(fake.base_url)
    data["Your Activity"]["Searches"]["SearchList"].append({"Date": "2025-03-03 20:00:00", "SearchTerm": "dogs"})
    fake.data = data
    third, exp3 = export_all(fake, tmp_path / "c")
    exp3.close()
    changed = {i.id for i in third[Vertical.BLOBS]} - {i.id for i in first[Vertical.BLOBS]}
    assert [i.name for i in third[Vertical.BLOBS] if i.id in changed] == ["Searches.json"]
    assert [i.id for i in third[Vertical.VIDEOS]] == [i.id for i in first[Vertical.VIDEOS]]


def test_bad_entries_are_problems_not_failures(fake, tmp_path):
    data = sample_data(fake.base_url)
    data["Post"]["Posts"]["VideoList"].append("garbage")
    fake.data = data
    items, exp = export_all(fake, tmp_path)
    with exp:
        problems = exp.problems()
    assert len(items[Vertical.SOCIAL_POSTS]) == 3
    assert [(p.subject, p.message) for p in problems] == [("user_data_tiktok.json → Post → Posts → VideoList → 3", "entry is a str, expected an object; skipped")]


def test_a_link_to_a_web_page_keeps_the_post_and_names_the_problem(fake, tmp_path):
    data = sample_data(fake.base_url)
    data["Post"]["Posts"]["VideoList"][0]["Link"] = f"{fake.base_url}/_fake/page/1"
    fake.data = data
    items, exp = export_all(fake, tmp_path)
    with exp:
        problems = exp.problems()
    assert [v.title for v in items[Vertical.VIDEOS] if isinstance(v, Video)] == ["cat"]
    assert len(items[Vertical.SOCIAL_POSTS]) == 3  # the post itself still moves, as metadata
    assert [(p.subject, p.message) for p in problems] == [
        ("user_data_tiktok.json → Post → Posts → VideoList → 0", "the post's link serves no photo or video (a web page?); the post is transferred without its media")
    ]


def test_malformed_export_is_downloaded_again_a_bounded_number_of_times(fake, tmp_path):
    fake.data = b'{"Post": {"Posts": {"VideoList": [ {"Date": '
    downloads = fake.calls.log.count("download")
    for attempt in (2, 3):
        with pytest.raises(RetryableError, match=rf"member user_data_tiktok.json is not valid JSON: the file ends inside a list or object at byte \d+; downloading it again \(attempt {attempt} of 3\)"):
            export_all(fake, tmp_path)
        assert not list((tmp_path / "staging").glob("*.zip"))  # discarded
    with pytest.raises(FatalError, match="TikTok sent the same malformed export for data request .* 3 times: .*not valid JSON.*ferry stops downloading it") as info:
        export_all(fake, tmp_path)
    assert fake.calls.log.count("download") == downloads + 3
    # resuming says the same at once: nothing is downloaded again
    with pytest.raises(FatalError) as again:
        export_all(fake, tmp_path)
    assert str(again.value) == str(info.value) and fake.calls.log.count("download") == downloads + 3


def test_a_malformed_export_fixed_by_the_next_download_goes_on(fake, tmp_path):
    fake.data = b'{"Post": [1, 2'
    with pytest.raises(RetryableError, match="not valid JSON"):
        export_all(fake, tmp_path)
    fake.data = None  # TikTok serves a good file again
    adds = fake.adds()
    items, exp = export_all(fake, tmp_path)  # same job: same request, downloaded again
    exp.close()
    assert len(items[Vertical.SOCIAL_POSTS]) == 3
    assert fake.adds() == adds  # resumed the same request, no new Add call


def test_wrongly_typed_section_is_a_problem_and_the_rest_transfers(fake, tmp_path):
    data = sample_data(fake.base_url)
    data["Direct Message"]["Direct Messages"]["ChatHistory"] = "oops"
    fake.data = data
    items, exp = export_all(fake, tmp_path)
    with exp:
        problems = exp.problems()
    assert ("user_data_tiktok.json → Direct Message → Direct Messages → ChatHistory", "is a string, expected an object; skipped") in [
        (p.subject, p.message) for p in problems
    ]
    names = {b.name for b in items[Vertical.BLOBS] if isinstance(b, File)}
    assert "Profile Info.json" in names and not any(n.startswith("Chat History with") for n in names)
    assert len(items[Vertical.SOCIAL_POSTS]) == 3


def test_text_format_exports_every_file_as_blob(fake, tmp_path):
    fake.data, fake.data_member = b"You have no data in this section", "Profile.txt"
    fake.extra_members = {"Activity/Watch History.txt": b"Date: 2025-01-01\nLink: x\n"}
    items, exp = export_all(fake, tmp_path, data_format="text")
    with exp:
        files = {f"{b.folder}/{b.name}": b for b in items[Vertical.BLOBS] if isinstance(b, File)}
        assert set(files) == {"/TikTok/Profile.txt", "/TikTok/Activity/Watch History.txt"}
        assert read(exp, files["/TikTok/Activity/Watch History.txt"]).startswith(b"Date:")
    assert items[Vertical.VIDEOS] == [] and items[Vertical.SOCIAL_POSTS] == []


def test_photo_posts_are_photos_told_from_their_bytes(fake, tmp_path):
    data = sample_data(fake.base_url)
    data["Post"]["Posts"]["VideoList"] += [
        {"Date": "2025-05-04 08:00:00", "Link": f"{fake.base_url}/_fake/media/ph1.jpg", "Title": "beach"},
        {"Date": "2025-05-05 08:00:00", "Link": f"{fake.base_url}/_fake/media/ph2.jpg", "Title": "mislabelled"},
    ]
    fake.data = data
    fake.cdn.labels = {"ph2.jpg": "video/mp4", "v2.mp4": "application/octet-stream"}  # labels lie, bytes do not
    items, exp = export_all(fake, tmp_path)
    with exp:
        photos = [i for i in items[Vertical.PHOTOS] if isinstance(i, Photo)]
        videos = [i for i in items[Vertical.VIDEOS] if isinstance(i, Video)]
        assert [(p.title, p.mime_type, p.file_name) for p in photos] == [
            ("beach", "image/jpeg", "tiktok-20250504-080000.jpg"),
            ("mislabelled", "image/jpeg", "tiktok-20250505-080000.jpg"),
        ]
        assert [(v.title, v.mime_type, v.file_name) for v in videos] == [
            ("first dance", "video/mp4", "tiktok-20250301-100000.mp4"),
            ("cat", "video/mp4", "tiktok-20250402-113000.mp4"),
        ]
        assert read(exp, photos[1]) == PHOTO_BYTES("ph2.jpg")
        assert items[Vertical.PHOTOS][0].kind == "album" and items[Vertical.VIDEOS][0].id == items[Vertical.PHOTOS][0].id
        posts = {p.title: p for p in items[Vertical.SOCIAL_POSTS]}
        assert posts["beach"].attachments[0].type == "IMAGE" and posts["beach"].attachments[0].media_id == photos[0].id
        assert posts["cat"].attachments[0].type == "VIDEO"
        assert posts["cat"].url is None  # a signed link is not kept: it expires and changes each request


def test_each_link_is_probed_once_per_job(fake, tmp_path):
    export_all(fake, tmp_path)[1].close()
    fetched = sum(fake.cdn.fetches.values())
    items, exp = export_all(fake, tmp_path)  # a new process of the same job: answers are in its state
    exp.close()
    assert sum(fake.cdn.fetches.values()) == fetched and fetched == 2
    assert len([v for v in items[Vertical.VIDEOS] if isinstance(v, Video)]) == 2


def test_ids_survive_links_signed_anew_for_every_request(fake, tmp_path):
    first, exp1 = export_all(fake, tmp_path / "a")
    links_before = set(fake.cdn.signed)
    fake.add_posts(2)
    second, exp2 = export_all(fake, tmp_path / "b")
    exp1.close(), exp2.close()
    assert links_before and not links_before & (set(fake.cdn.signed) - links_before)  # every link is new
    for vertical in (Vertical.VIDEOS, Vertical.SOCIAL_POSTS):
        old = {i.id: i for i in first[vertical]}
        new = {i.id: i for i in second[vertical]}
        assert set(old) <= set(new) and len(new) == len(old) + (2 if vertical == Vertical.SOCIAL_POSTS else 2)
        for item_id, item in old.items():
            assert content_hash(new[item_id]) == content_hash(item), item  # unchanged posts look unchanged
    posts_blob = lambda run: next(f for f in run[Vertical.BLOBS] if isinstance(f, File) and f.name == "Posts.json")  # noqa: E731
    assert posts_blob(first).id != posts_blob(second).id  # it grew
    again, exp3 = export_all(fake, tmp_path / "c")
    exp3.close()
    assert posts_blob(again).id == posts_blob(second).id  # signed links are not written into it


def test_media_inside_the_zip_is_delivered_once_from_the_zip(fake, tmp_path):
    data = sample_data(fake.base_url)
    data["Post"]["Posts"]["VideoList"].append({"Date": "2025-05-04 08:00:00", "Link": f"{fake.base_url}/_fake/media/ph1.jpg", "Title": "beach"})
    fake.data, fake.media_in_zip = data, True
    fake.extra_members = {"Posts/notes.bin": b"\x89PNG\r\n\x1a\n" + b"x" * 20, "Other/readme.txt": b"hello"}
    items, exp = export_all(fake, tmp_path)
    with exp:
        media = [i for v in (Vertical.PHOTOS, Vertical.VIDEOS) for i in items[v] if isinstance(i, Photo | Video)]
        assert sorted((m.file_name, m.ref) for m in media) == [
            ("tiktok-20250301-100000.mp4", "zip:Posts/20250301100000.mp4"),
            ("tiktok-20250402-113000.mp4", "zip:Posts/20250402113000.mp4"),
            ("tiktok-20250504-080000.jpg", "zip:Posts/20250504080000.jpg"),
        ]
        assert read(exp, next(m for m in media if m.title == "cat")) == VIDEO_BYTES("v2.mp4")
        files = {f"{b.folder}/{b.name}": b for b in items[Vertical.BLOBS] if isinstance(b, File)}
        assert not any(path.endswith((".mp4", ".jpg")) for path in files)  # each file once
        assert files["/TikTok/Posts/notes.bin"].mime_type == "image/png"  # told from its bytes
        assert files["/TikTok/Other/readme.txt"].mime_type == "text/plain"
    assert not fake.cdn.fetches  # nothing fetched: the bytes were in the zip
