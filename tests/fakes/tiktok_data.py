"""Deterministic TikTok export data for the fake service: both schema generations, zipped.

Made up for the tests (no real user data); shapes follow the public notes on TikTok's
``user_data_tiktok.json`` (current, 2025-26) and ``user_data.json`` (older, 2020-23).
"""

from __future__ import annotations

import io
import json
import zipfile

__all__ = ["VIDEO_BYTES", "PHOTO_BYTES", "media_bytes", "media_type", "sample_data", "older_sample_data", "new_post", "build_zip"]


def VIDEO_BYTES(name: str) -> bytes:
    """Deterministic bytes of the fake video ``name`` (a few KB, starts like an mp4)."""
    seed = name.encode()
    return b"\x00\x00\x00\x18ftypmp42" + (seed * 1000)[:5000]


def PHOTO_BYTES(name: str) -> bytes:
    """Deterministic bytes of the fake photo ``name`` (starts like a JPEG/JFIF file)."""
    seed = name.encode()
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + (seed * 500)[:3000] + b"\xff\xd9"


def media_bytes(name: str) -> bytes:
    """A ``.jpg``/``.jpeg``/``.png`` name is a photo, anything else a video."""
    return PHOTO_BYTES(name) if name.lower().endswith((".jpg", ".jpeg", ".png")) else VIDEO_BYTES(name)


def media_type(name: str) -> str:
    return "image/jpeg" if name.lower().endswith((".jpg", ".jpeg", ".png")) else "video/mp4"


def new_post(base_url: str, number: int, *, photo: bool = False) -> dict:
    """Post number ``number`` of a growing account: a date of its own (one an hour from June 2025)."""
    from datetime import datetime, timedelta

    when = datetime(2025, 6, 1) + timedelta(hours=number)
    name = f"grow{number}.{'jpg' if photo else 'mp4'}"
    return {
        "Date": when.strftime("%Y-%m-%d %H:%M:%S"),
        "Link": f"{base_url}/_fake/media/{name}",
        "Likes": str(number),
        "Title": f"post {number}",
        "WhoCanView": "Everyone",
    }


def sample_data(base_url: str) -> dict:
    """A small current-schema export (2025-26 keys) whose video links point at the fake."""
    return {
        "Post": {
            "Posts": {
                "VideoList": [
                    {"Date": "2025-03-01 10:00:00", "Link": f"{base_url}/_fake/media/v1.mp4", "Likes": "12",
                     "Title": "first dance", "WhoCanView": "Everyone", "Location": "Lisbon", "Sound": "orig"},
                    {"Date": "2025-04-02 11:30:00", "Link": f"{base_url}/_fake/media/v2.mp4", "Likes": "3",
                     "Title": "cat", "WhoCanView": "Friends", "Location": "N/A"},
                    {"Date": "2025-05-03 12:00:00", "Link": "N/A", "Likes": "0", "Title": "no link"},
                ]
            },
            "Recently Deleted Posts": {"PostList": []},
        },
        "Likes and Favorites": {
            "Like List": {"ItemFavoriteList": [{"date": "2025-01-01 09:00:00", "link": "https://www.tiktokv.com/share/video/1/"}]},
            "Favorite Videos": {"FavoriteVideoList": [{"Date": "2025-01-02 09:00:00", "Link": "https://www.tiktokv.com/share/video/2/"}]},
        },
        "Profile And Settings": {
            "Profile Info": {"ProfileMap": {"userName": "fakeuser", "displayName": "Fake User", "bioDescription": "hi"}},
            "Following": {"Following": [{"Date": "2024-12-01 08:00:00", "UserName": "friend1"}]},
            "Follower": {"FansList": []},
            "Who can see your following list::": "Everyone",
        },
        "Your Activity": {
            "Watch History": {"VideoList": [{"Date": "2025-02-01 20:00:00", "Link": "https://www.tiktokv.com/share/video/3/"}]},
            "Searches": {"SearchList": [{"Date": "2025-02-02 20:00:00", "SearchTerm": "cats"}]},
        },
        "Comment": {"Comments": {"CommentsList": [{"date": "2025-02-03 10:00:00 UTC", "comment": "nice!"}]}},
        "Direct Message": {
            "Direct Messages": {
                "ChatHistory": {
                    "Chat History with friend1:": [{"Date": "2025-02-04 10:00:00", "From": "friend1", "Content": "hey"}],
                    "Chat History with friend2:": [{"Date": "2025-02-05 10:00:00", "From": "fakeuser", "Content": "yo"}],
                }
            }
        },
        "TikTok Shop": None,
    }


def older_sample_data(base_url: str) -> dict:
    """The same account in the older (≈2020-23) schema: ``Video``, ``Activity``, ``VideoLink``."""
    return {
        "Video": {
            "Videos": {
                "VideoList": [
                    {"Date": "2021-06-01 10:00:00", "VideoLink": f"{base_url}/_fake/media/old1.mp4", "Likes": "5"},
                    {"Date": "2021-07-01 10:00:00", "Link": "", "Likes": "1"},
                ]
            }
        },
        "Activity": {
            "Video Browsing History": {"VideoList": [{"Date": "2021-06-02 10:00:00", "VideoLink": "https://www.tiktokv.com/share/video/9/"}]},
            "Like List": {"ItemFavoriteList": [{"Date": "2021-06-03 10:00:00", "VideoLink": "https://www.tiktokv.com/share/video/8/"}]},
        },
        "Profile": {"Profile Information": {"ProfileMap": {"userName": "olduser"}}},
        "Direct Messages": {"Chat History": {"ChatHistory": {"Chat History with pal:": [{"Date": "2021-06-04 10:00:00", "From": "pal", "Content": "hi"}]}}},
        "App Settings": {"Settings": {"SettingsMap": {"Interests": "cats"}}},
    }


def build_zip(data: dict | bytes | str, *, member: str = "user_data_tiktok.json", extra: dict[str, bytes] | None = None) -> bytes:
    """A deterministic zip holding ``data`` as JSON (or raw bytes/text, e.g. malformed JSON)."""
    buf = io.BytesIO()
    payload = data if isinstance(data, bytes) else (data.encode() if isinstance(data, str) else json.dumps(data, indent=2).encode())
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in [(member, payload), *sorted((extra or {}).items())]:
            info = zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, content)
    return buf.getvalue()
