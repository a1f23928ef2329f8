"""Generate a realistic, deterministic Meta "Download Your Information" archive for tests and demos.

:func:`write_sample_archive` writes the 2024-25 Facebook JSON layout (``your_facebook_activity/``)
and optionally an Instagram 2025 tree (``your_instagram_activity/media/`` + top-level ``media/``),
as one zip, several zip parts, or a folder. Everything Meta gets wrong is reproduced on purpose:

* all JSON text is mojibake (every UTF-8 byte written as ``\\u00XX``), including album folder
  names inside ``uri`` values; names mix Czech, Japanese and emoji;
* odd media file names (spaces, non-ASCII, a ~200-character name), a nested album folder;
* a nonsense ``taken_timestamp`` (-62169958800), a web thumbnail uri, a web cover photo;
* one post that references a file missing from the archive (``SampleSummary.missing_media``);
* the first "joined" event repeated in ``event_invitations.json`` (listed once).
* with ``photos >= 6`` and ``posts >= 1``, the kinds real exports carry beyond albums and posts:
  a note post with an image (``attachments[].data[].note.media[]``), a post with no content at
  all (never emitted), group posts (``groups/your_posts_in_groups.json``) with a photo, an archived
  story (``stories/archived_stories.json``), an Instagram profile photo
  (``media/profile_photos.json``), and files no vertical takes (a Messenger thread with a photo,
  the profile), listed in ``SampleSummary.not_transferred``.

Media bytes are pseudo-random but start with real JPEG/MP4 structure (:mod:`.sample_media`) and
are the same for the same ``seed``. Members are written in chunks (``ZipFile.open(name, "w")``,
media ``ZIP_STORED``), so memory stays flat for a multi-GB archive. The returned
:class:`SampleSummary` says what a reader should find, so tests and demos can compare.
"""

from __future__ import annotations

import builtins
import json
import os
import random
import string
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..models import stable_id
from .mojibake import meta_escape_tree
from .sample_media import jpeg_chunks, jpeg_size, mp4_chunks, mp4_size

__all__ = ["write_sample_archive", "SampleSummary"]

#: sizes are decimal megabytes, like every figure ferry prints (ferry/cli/_common.human_bytes)
MB = 1_000_000
FB = "your_facebook_activity/"
_BASE_TS = 1672531200  # 2023-01-01T00:00:00Z
ALBUM_NAMES = ("Prázdniny 2023 🏖️", "東京 旅行 🗼", "Rodina – Štědrý den 🎄", "Mobile Uploads", "Žluťoučký kůň 🐴", "夏祭り")
POST_TEXTS = (
    "Příliš žluťoučký kůň úpěl ďábelské ódy 🐴",
    "東京で最高の一日でした 🍣",
    "Čau lidi, jak se máte? 😀",
    "Happy new year! 🎉",
    "週末はハイキング ⛰️",
    "Just a plain ASCII post.",
)
EVENT_NAMES = ("Koncert v Lucerně 🎸", "花見パーティー 🌸", "Štědrovečerní večeře", "Board games night 🎲", "Běh kolem Prahy 🏃")
ODD_NAMES = ("IMG 0001 (kopie).jpg", "žluťoučký kůň 🐴.jpg", ("very_long_file_name_" * 10)[:196] + ".jpg")
_RSVP_CYCLE = ("joined", "interested", "declined", "hosting", "invited")


@dataclass(frozen=True)
class SampleSummary:
    """What :func:`write_sample_archive` wrote and what a correct reader must find.

    Attributes:
        path: the location to give the ``meta`` connector (zip file, or folder of parts/tree).
        files: the zip parts written, or the folder.
        layout: layouts present, e.g. ``("facebook-2024", "instagram-2025")``.
        albums: album items in the photos vertical (Facebook albums + "Instagram posts").
        photos: photo items listed, including the missing one.
        photo_files: photo files written; ``photo_bytes`` their total size.
        videos: video items; ``video_albums``: album items in the videos vertical.
        posts: social posts (Facebook + Instagram); ``calendars``/``events``: calendar vertical.
        archive_bytes: bytes on disk of everything written.
        missing_media: ``(uri, json member)`` of media referenced but absent (one ItemError each).
        missing_media_ids: the item ids the connector gives those media.
        album_names: Facebook album names, repaired (what the connector must show).
        post_texts / event_names: repaired texts used (for exact mojibake checks).
        odd_file_names: the odd media file names written.
        not_transferred: files no vertical reads (when every vertical is moved), each of which a
            reader must name as NOT_TRANSFERRED.
    """

    path: Path
    files: tuple[Path, ...]
    layout: tuple[str, ...]
    albums: int
    photos: int
    photo_files: int
    photo_bytes: int
    videos: int
    video_albums: int
    video_bytes: int
    posts: int
    calendars: int
    events: int
    archive_bytes: int
    missing_media: tuple[tuple[str, str], ...]
    missing_media_ids: tuple[str, ...]
    album_names: tuple[str, ...]
    post_texts: tuple[str, ...]
    event_names: tuple[str, ...]
    odd_file_names: tuple[str, ...]
    not_transferred: tuple[str, ...] = ()

    def items_per_vertical(self) -> dict[str, int]:
        """Items each exported vertical must yield (keys are vertical values)."""
        return {
            "photos": self.albums + self.photos,
            "videos": self.video_albums + self.videos,
            "social-posts": self.posts,
            "calendar": self.calendars + self.events,
        }


@dataclass
class _Entry:
    path: str
    kind: str  # json | jpeg | mp4
    size: int
    mtime: int
    data: bytes = b""


@dataclass
class _Builder:
    seed: int
    rng: random.Random
    entries: list[_Entry] = field(default_factory=list)

    def rand_id(self, n: int = 10) -> str:
        return "".join(self.rng.choice(string.ascii_letters + string.digits) for _ in range(n))

    def json(self, path: str, value: Any, mtime: int = _BASE_TS) -> None:
        data = json.dumps(meta_escape_tree(value), indent=2).encode("ascii")
        self.entries.append(_Entry(path, "json", len(data), mtime, data))

    def media(self, path: str, kind: str, size: int, mtime: int) -> int:
        real = jpeg_size(size) if kind == "jpeg" else mp4_size(size)
        self.entries.append(_Entry(path, kind, real, mtime))
        return real


def _photo(uri: str, ts: int, title: str, exif: dict[str, Any] | None = None) -> dict[str, Any]:
    data = {"upload_ip": "203.0.113.9", "taken_timestamp": ts - 3600, **(exif or {})}
    return {
        "uri": uri, "creation_timestamp": ts, "title": title, "description": "",
        "media_metadata": {"photo_metadata": {"exif_data": [data]}},
    }


def _album_name(i: int) -> str:
    base = ALBUM_NAMES[i % len(ALBUM_NAMES)]
    return base if i < len(ALBUM_NAMES) else f"{base} {i // len(ALBUM_NAMES) + 1}"


def _check(**counts: int) -> None:
    for name, value in counts.items():
        if value < 0:
            raise ValueError(f"{name} must be zero or more, got {value}")


def write_sample_archive(
    out: Path,
    *,
    photos: int = 20,
    videos: int = 2,
    posts: int = 10,
    events: int = 5,
    albums: int = 3,
    size_mb: float = 2.0,
    zip: bool = True,  # noqa: A002 - mirrors the --zip/--folder CLI flag
    seed: int = 0,
    instagram: bool = True,
    parts: int = 1,
    video_mb: float = 0.25,
) -> SampleSummary:
    """Write a sample Meta export and return what a reader should find in it.

    Args:
        out: with ``zip`` and ``parts == 1``, a ``.zip`` file path, or a folder to put
            ``facebook-ferrysample-<date>-<rand>.zip`` in; with ``parts > 1`` a folder for the
            parts; with ``zip=False`` the (new or empty) folder to hold the tree.
        photos: photo files in all (about a quarter go to Instagram when ``instagram``; one to
            uncategorized photos; the rest round-robin into ``albums`` Facebook albums).
        videos: video files (one Instagram reel when ``instagram`` and ``videos >= 2``).
        posts: Facebook posts (Instagram posts come on top, made from the Instagram photos).
        events: Facebook events, spread over joined/interested/declined/hosting/invited.
        albums: Facebook albums (empty ones are written too).
        size_mb: total photo bytes in MB, 10^6 bytes (split evenly; each photo is at least ~160 bytes).
        zip: write zip part(s) (media stored, JSON deflated) or a plain folder.
        seed: same seed, same archive bytes.
        instagram: add an Instagram tree beside the Facebook one.
        parts: number of zip parts; JSON goes to the first, media are spread by size.
        video_mb: size of each video in MB (10^6 bytes).

    Raises:
        ValueError: a negative count, ``parts < 1``, ``parts > 1`` without ``zip`` or with a
            ``.zip`` path, or a non-empty folder for ``zip=False``.
    """
    _check(photos=photos, videos=videos, posts=posts, events=events, albums=albums, seed=seed)
    if parts < 1:
        raise ValueError(f"parts must be 1 or more, got {parts}")
    if parts > 1 and not zip:
        raise ValueError("parts > 1 needs zip output (a folder tree has no parts)")
    if parts > 1 and out.suffix.lower() == ".zip":
        raise ValueError(f"with parts > 1, OUT must be a folder to hold the parts, not {out.name}")
    if size_mb < 0 or video_mb < 0:
        raise ValueError("size_mb and video_mb must be zero or more")
    b = _Builder(seed, random.Random(f"ferry-sample/{seed}"))

    ig_photos = photos // 4 if instagram else 0
    extras = photos >= 6 and posts >= 1
    extra_photos = (4 if instagram else 3) if extras else 0  # note, group post, story (, profile)
    fb_photos = photos - ig_photos - extra_photos
    uncategorized = fb_photos if albums == 0 else (1 if fb_photos >= albums + 1 else 0)
    ig_reels = 1 if instagram and videos >= 2 else 0
    fb_videos = videos - ig_reels
    photo_size = round(size_mb * MB / photos) if photos else 0
    video_size = round(video_mb * MB)
    photo_bytes = video_bytes = 0
    names_used: list[str] = []

    # Facebook albums -------------------------------------------------------------------------
    album_photos: list[list[dict[str, Any]]] = [[] for _ in range(albums)]
    folders = [f"{FB}posts/media/{_album_name(a).replace(' ', '')}_{b.rand_id()}" for a in range(albums)]
    all_album_media: list[dict[str, Any]] = []
    for i in range(fb_photos - uncategorized):
        a = i % albums
        name = ODD_NAMES[i] if i < len(ODD_NAMES) else f"{100000000 + i}_{b.rng.randrange(10**9)}_n.jpg"
        names_used.append(name)
        folder = folders[a] + ("/2023-07" if a == 1 else "")
        ts = _BASE_TS + i * 86400 + b.rng.randrange(3600)
        exif = {"taken_timestamp": -62169958800} if i == 1 else {"latitude": 50.0875, "longitude": 14.4213} if i == 2 else None
        media = _photo(f"{folder}/{name}", ts, _album_name(a), exif)
        photo_bytes += b.media(media["uri"], "jpeg", photo_size, ts)
        album_photos[a].append(media)
        all_album_media.append(media)
    for a in range(albums):
        first = album_photos[a][0]["uri"] if album_photos[a] else "https://facebook.com/"
        b.json(f"{FB}posts/album/{a}.json", {
            "name": _album_name(a), "description": f"Fotky: {_album_name(a)}",
            "last_modified_timestamp": _BASE_TS + a, "cover_photo": {"uri": first, "creation_timestamp": 0},
            "photos": album_photos[a],
        })
    if uncategorized:
        folder = f"{FB}posts/media/UncategorizedPhotos_{b.rand_id()}"
        other = []
        for j in range(uncategorized):
            ts = _BASE_TS + 400 * 86400 + j * 3600
            other.append(_photo(f"{folder}/{200000000 + j}_n.jpg", ts, "Uncategorized"))
            photo_bytes += b.media(other[-1]["uri"], "jpeg", photo_size, ts)
        b.json(f"{FB}posts/your_uncategorized_photos.json", {"other_photos_v2": other})

    # Facebook videos -------------------------------------------------------------------------
    fb_video_media = []
    if fb_videos:
        folder = f"{FB}posts/media/YourVideos_{b.rand_id()}"
        for v in range(fb_videos):
            ts = _BASE_TS + v * 7 * 86400
            fb_video_media.append({
                "uri": f"{folder}/{300000000 + v}_n.mp4", "creation_timestamp": ts, "title": "", "description": f"Video {v + 1} 🎬",
                "thumbnail": {"uri": "https://scontent.xx.fbcdn.net/v/t15/thumb.jpg"},
                "media_metadata": {"video_metadata": {"exif_data": [{"upload_ip": "203.0.113.9", "upload_timestamp": 0}]}},
            })
            video_bytes += b.media(fb_video_media[-1]["uri"], "mp4", video_size, ts)
        b.json(f"{FB}posts/your_videos.json", {"videos_v2": fb_video_media})

    # Facebook posts --------------------------------------------------------------------------
    missing: list[tuple[str, str]] = []
    posts_file = f"{FB}posts/your_posts__check_ins__photos_and_videos_1.json"
    fb_posts = []
    for j in range(posts):
        ts = _BASE_TS + j * 5 * 86400 + 600
        post: dict[str, Any] = {"timestamp": ts, "data": [{"post": POST_TEXTS[j % len(POST_TEXTS)]}, {"update_timestamp": ts}],
                                "title": "Ferry Sámple updated their status."}
        data: list[dict[str, Any]] = []
        if j == 0:
            ghost = f"{FB}posts/media/TimelinePhotos_{b.rand_id()}/ghost_čtvrtek.jpg"
            data.append({"media": {"uri": ghost, "creation_timestamp": ts, "title": "Timeline Photos"}})
            missing.append((ghost, posts_file))
        elif j == 1 and all_album_media:
            data.append({"media": all_album_media[0]})
        elif j == 2 and fb_video_media:
            data.append({"media": fb_video_media[0]})
        elif j == 3:
            data.append({"external_context": {"url": "https://example.org/článek", "name": "Zajímavý článek"}})
        elif j == 4:
            data.append({"place": {"name": "Kavárna Slavia ☕", "coordinate": {"latitude": 50.0815, "longitude": 14.4134}}})
        elif j == 5 and len(all_album_media) >= 3:
            data.extend({"media": m} for m in all_album_media[1:3])
        if data:
            post["attachments"] = [{"data": data}]
        fb_posts.append(post)

    # Facebook events -------------------------------------------------------------------------
    lists: dict[str, list[dict[str, Any]]] = {k: [] for k in _RSVP_CYCLE}
    event_names = []
    for e in range(events):
        name = EVENT_NAMES[e % len(EVENT_NAMES)] + ("" if e < len(EVENT_NAMES) else f" #{e // len(EVENT_NAMES) + 1}")
        event_names.append(name)
        start = _BASE_TS + 30 * 86400 + e * 86400 * 3
        entry: dict[str, Any] = {"name": name, "start_timestamp": start, "end_timestamp": 0 if e == 1 else start + 7200}
        rsvp = _RSVP_CYCLE[e % len(_RSVP_CYCLE)]
        if rsvp == "hosting":
            entry |= {"description": "Přijďte všichni! 🎉", "place": {"name": "Praha"}}
        lists[rsvp].append(entry)
    if events:
        invited = lists["invited"] + lists["joined"][:1]  # the same event twice: must be listed once
        b.json(f"{FB}events/your_event_responses.json", {"event_responses_v2": {
            "events_joined": lists["joined"], "events_declined": lists["declined"], "events_interested": lists["interested"]}})
        b.json(f"{FB}events/event_invitations.json", {"events_invited_v2": invited})
        b.json(f"{FB}events/your_events.json", {"your_events_v2": lists["hosting"]})
    extra_posts = extra_albums = 0
    not_transferred = ["personal_information/profile_information/profile_information.json"]
    if extras:
        extra_posts, extra_albums, added = _extras(b, fb_posts, posts_file, photo_size, instagram)
        photo_bytes += added
        not_transferred += [MESSAGES_JSON, MESSAGES_PHOTO]
    if posts:
        b.json(posts_file, fb_posts)
    b.json("personal_information/profile_information/profile_information.json",
           {"profile_v2": {"name": {"full_name": "Ferry Sámple"}, "registration_timestamp": _BASE_TS}})

    # Instagram -------------------------------------------------------------------------------
    ig_posts = 0
    if instagram:
        groups = ([3] + [1] * (ig_photos - 3)) if ig_photos >= 3 else [1] * ig_photos
        ig_list, k = [], 0
        for g, size in enumerate(groups):
            ts = _BASE_TS + 200 * 86400 + g * 86400
            month = time.strftime("%Y%m", time.gmtime(ts))
            media = []
            for _ in range(size):
                uri = f"media/posts/{month}/{17900000000000000 + k}.jpg"
                photo_bytes += b.media(uri, "jpeg", photo_size, ts)
                media.append({"uri": uri, "creation_timestamp": ts, "title": "" if size > 1 else POST_TEXTS[g % len(POST_TEXTS)],
                              "cross_post_source": {"source_app": "FB"}})
                k += 1
            ig_list.append({"media": media, "title": POST_TEXTS[g % len(POST_TEXTS)], "creation_timestamp": ts} if size > 1
                           else {"media": media})
        ig_posts = len(ig_list)
        if ig_list:
            b.json("your_instagram_activity/media/posts_1.json", ig_list)
        if ig_reels:
            ts = _BASE_TS + 250 * 86400
            uri = f"media/reels/{time.strftime('%Y%m', time.gmtime(ts))}/18000000000000000.mp4"
            video_bytes += b.media(uri, "mp4", video_size, ts)
            b.json("your_instagram_activity/media/reels.json",
                   {"ig_reels_media": [{"media": [{"uri": uri, "creation_timestamp": ts, "title": "Můj první reel 🎥"}]}]})

    files = _write(out, b, zip=zip, parts=parts)
    return SampleSummary(
        path=files[0] if zip and parts == 1 else out,
        files=tuple(files),
        layout=("facebook-2024",) + (("instagram-2025",) if instagram else ()),
        albums=albums + (1 if ig_photos else 0) + extra_albums,
        photos=photos + len(missing),
        photo_files=photos,
        photo_bytes=photo_bytes,
        videos=videos,
        video_albums=1 if ig_reels else 0,
        video_bytes=video_bytes,
        posts=posts + ig_posts + extra_posts,
        calendars=1 if events else 0,
        events=events,
        archive_bytes=sum(_disk_size(f) for f in files),
        missing_media=tuple(missing),
        missing_media_ids=tuple(stable_id("meta", "media", uri) for uri, _ in missing),
        album_names=tuple(_album_name(a) for a in range(albums)),
        post_texts=tuple(POST_TEXTS[j % len(POST_TEXTS)] for j in range(min(posts, len(POST_TEXTS)))),
        event_names=tuple(event_names),
        odd_file_names=tuple(n for n in names_used if n in ODD_NAMES),
        not_transferred=tuple(sorted(not_transferred)),
    )


MESSAGES_JSON = f"{FB}messages/inbox/janahorakova_10158/message_1.json"
MESSAGES_PHOTO = f"{FB}messages/inbox/janahorakova_10158/photos/431_n.png"
_PNG = bytes.fromhex("89504E470D0A1A0A") + b"\x00" * 24


def _extras(b: _Builder, fb_posts: list[dict[str, Any]], posts_file: str, photo_size: int, instagram: bool) -> tuple[int, int, int]:
    """Write the less common kinds; returns (posts, albums, photo bytes) they add."""
    ts = _BASE_TS + 300 * 86400
    added = 0
    note_photo = _photo(f"{FB}posts/media/Notes_{b.rand_id()}/note_obrázek.jpg", ts, "Poznámka")
    added += b.media(note_photo["uri"], "jpeg", photo_size, ts)
    fb_posts.append({"timestamp": ts, "title": "Ferry Sámple wrote a note.", "attachments": [{"data": [{"note": {
        "tags": [], "title": "Poznámka o výletě 📝", "text": "Dlouhý text poznámky… 🏔️", "media": [note_photo],
        "created_timestamp": ts, "updated_timestamp": ts}}]}]})
    fb_posts.append({"timestamp": ts + 60, "title": "Ferry Sámple updated their status.", "data": [{"update_timestamp": ts + 60}]})
    group_photo = _photo(f"{FB}groups/media/PrahaHikers_{b.rand_id()}/skupina_1.jpg", ts + 3600, "Praha Hikers")
    added += b.media(group_photo["uri"], "jpeg", photo_size, ts + 3600)
    b.json(f"{FB}groups/your_posts_in_groups.json", {"group_posts_v2": [
        {"timestamp": ts + 3600, "title": "Ferry Sámple posted in Praha Hikers 🥾.",
         "data": [{"post": "Kdo jde v sobotu na Říp? ⛰️"}], "attachments": [{"data": [{"media": group_photo}]}]},
        {"timestamp": ts + 7200, "title": "Ferry Sámple posted in 東京 Foodies.", "data": [{"post": "ラーメンのおすすめは？ 🍜"}]},
    ]})
    story_photo = _photo(f"{FB}stories/media/Stories_{b.rand_id()}/story_1.jpg", ts + 86400, "")
    added += b.media(story_photo["uri"], "jpeg", photo_size, ts + 86400)
    b.json(f"{FB}stories/archived_stories.json", {"archived_stories_v2": [
        {"timestamp": ts + 86400, "title": "Ferry Sámple's story", "attachments": [{"data": [{"media": story_photo}]}]}]})
    albums = 1
    if instagram:
        month = time.strftime("%Y%m", time.gmtime(ts))
        uri = f"media/profile/{month}/17841400000000000.jpg"
        added += b.media(uri, "jpeg", photo_size, ts)
        b.json("your_instagram_activity/media/profile_photos.json",
               {"ig_profile_picture": [{"uri": uri, "creation_timestamp": ts, "title": ""}]})
        albums += 1
    b.json(MESSAGES_JSON, {"participants": [{"name": "Jana Horáková"}, {"name": "Ferry Sámple"}], "messages": [
        {"sender_name": "Jana Horáková", "timestamp_ms": (ts + 500) * 1000, "photos": [{"uri": MESSAGES_PHOTO, "creation_timestamp": ts}]},
        {"sender_name": "Ferry Sámple", "timestamp_ms": ts * 1000, "content": "Ahoj! 👋"}], "title": "Jana Horáková"})
    b.entries.append(_Entry(MESSAGES_PHOTO, "raw", len(_PNG), ts, _PNG))
    return 3, albums, added


# -- writing -------------------------------------------------------------------------------------
def _chunks(entry: _Entry, seed: int) -> Iterator[bytes]:
    key = f"{seed}/{entry.path}"
    if entry.kind in ("json", "raw"):
        yield entry.data
    elif entry.kind == "jpeg":
        yield from jpeg_chunks(entry.size, key)
    else:
        yield from mp4_chunks(entry.size, key)


def _disk_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _write(out: Path, b: _Builder, *, zip: bool, parts: int) -> list[Path]:  # noqa: A002
    if not zip:
        if out.exists() and any(out.iterdir()):
            raise ValueError(f"{out} exists and is not empty; give a new or empty folder")
        for entry in b.entries:
            target = out / entry.path
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as fh:
                for chunk in _chunks(entry, b.seed):
                    fh.write(chunk)
            os.utime(target, (entry.mtime, entry.mtime))
        return [out]
    date = time.strftime("%Y-%m-%d", time.gmtime(_BASE_TS + 730 * 86400))
    if parts == 1 and out.suffix.lower() == ".zip":
        out.parent.mkdir(parents=True, exist_ok=True)
        paths = [out]
    else:
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / f"facebook-ferrysample-{date}-{b.rand_id(8)}.zip" for _ in range(parts)]
    load = [0] * parts
    assigned: list[list[_Entry]] = [[] for _ in range(parts)]
    for entry in b.entries:
        p = 0 if entry.kind == "json" else min(range(parts), key=lambda i: (load[i], i))
        load[p] += entry.size
        assigned[p].append(entry)
    for path, entries in builtins.zip(paths, assigned):
        with zipfile.ZipFile(path, "w", allowZip64=True) as zf:
            for entry in entries:
                info = zipfile.ZipInfo(entry.path, date_time=time.gmtime(max(entry.mtime, 315532800))[:6])
                info.compress_type = zipfile.ZIP_DEFLATED if entry.kind == "json" else zipfile.ZIP_STORED
                info.external_attr = 0o644 << 16
                info.file_size = entry.size  # lets zipfile pick zip64 headers up front
                with zf.open(info, "w", force_zip64=entry.size > (1 << 31)) as fh:
                    for chunk in _chunks(entry, b.seed):
                        fh.write(chunk)
    return paths

