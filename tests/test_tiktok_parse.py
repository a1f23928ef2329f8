"""Parsing TikTok downloads (both schema generations) into videos, posts and blobs."""

from __future__ import annotations

import json

import pytest

from connectors.errors import FatalError, ItemError, SourceNotReady
from connectors.models import File, Folder, SocialPost, Video, Vertical
from connectors.registry import ConnectorContext
from connectors.state import MemoryStateSlot
from connectors.tiktok.factory import make_exporter
from tests.fakes.tiktok import VIDEO_BYTES, FakeTikTok, FakeTokens, older_sample_data, sample_data


@pytest.fixture(scope="module")
def fake():
    with FakeTikTok(ready_after_checks=1, single_use=False) as service:
        yield service


@pytest.fixture(autouse=True)
def reset_fake(fake):
    fake.data, fake.data_member, fake.extra_members = None, "user_data_tiktok.json", {}
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
    for vertical in (Vertical.VIDEOS, Vertical.SOCIAL_POSTS, Vertical.BLOBS):
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


def test_video_link_to_a_web_page_fails_that_item_only(fake, tmp_path):
    data = sample_data(fake.base_url)
    data["Post"]["Posts"]["VideoList"][0]["Link"] = f"{fake.base_url}/_fake/page/1"
    fake.data = data
    items, exp = export_all(fake, tmp_path)
    with exp:
        video = next(i for i in items[Vertical.VIDEOS] if isinstance(i, Video))
        with pytest.raises(ItemError, match="is a web page") as info:
            exp.open_bytes(video)
        assert info.value.item_id == video.id


def test_malformed_data_file_names_the_part_and_resumes_after_fix(fake, tmp_path):
    fake.data = b'{"Post": {"Posts": {"VideoList": [ {"Date": '
    with pytest.raises(FatalError, match=r"member user_data_tiktok.json is not valid JSON.*line 1") as info:
        export_all(fake, tmp_path)
    assert "resuming the transfer downloads it again" in str(info.value)
    assert not list((tmp_path / "staging").glob("*.zip"))
    fake.data = None  # TikTok serves a good file again
    adds = fake.adds()
    items, exp = export_all(fake, tmp_path)  # same staging: same request, downloaded again
    exp.close()
    assert len(items[Vertical.SOCIAL_POSTS]) == 3
    assert fake.adds() == adds  # resumed the same request, no new Add call


def test_wrongly_typed_section_names_the_json_path(fake, tmp_path):
    data = sample_data(fake.base_url)
    data["Direct Message"]["Direct Messages"]["ChatHistory"] = "oops"
    fake.data = data
    with pytest.raises(FatalError, match="Direct Message → Direct Messages → ChatHistory is a str"):
        export_all(fake, tmp_path)


def test_text_format_exports_every_file_as_blob(fake, tmp_path):
    fake.data, fake.data_member = b"You have no data in this section", "Profile.txt"
    fake.extra_members = {"Activity/Watch History.txt": b"Date: 2025-01-01\nLink: x\n"}
    items, exp = export_all(fake, tmp_path, data_format="text")
    with exp:
        files = {f"{b.folder}/{b.name}": b for b in items[Vertical.BLOBS] if isinstance(b, File)}
        assert set(files) == {"/TikTok/Profile.txt", "/TikTok/Activity/Watch History.txt"}
        assert read(exp, files["/TikTok/Activity/Watch History.txt"]).startswith(b"Date:")
    assert items[Vertical.VIDEOS] == [] and items[Vertical.SOCIAL_POSTS] == []
