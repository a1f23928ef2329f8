"""The sample Meta archive generator: layout, determinism, magic bytes, streaming writes, CLI."""

from __future__ import annotations

import hashlib
import json
import tracemalloc
import zipfile
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from connectors.meta.mojibake import fix_tree
from connectors.meta.sample import write_sample_archive


def _sha(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def test_zip_layout_and_magic_bytes(tmp_path):
    summary = write_sample_archive(tmp_path / "s.zip", photos=8, videos=2, posts=6, events=5, albums=2, size_mb=0.1)
    assert summary.path == tmp_path / "s.zip"
    with zipfile.ZipFile(summary.path) as zf:
        names = zf.namelist()
        assert "your_facebook_activity/posts/album/0.json" in names
        assert "your_facebook_activity/posts/your_videos.json" in names
        assert "your_facebook_activity/events/your_event_responses.json" in names
        assert "your_instagram_activity/media/posts_1.json" in names
        jpgs = [n for n in names if n.endswith(".jpg")]
        mp4s = [n for n in names if n.endswith(".mp4")]
        assert len(jpgs) == summary.photo_files == 8
        assert len(mp4s) == summary.videos == 2
        for name in jpgs:
            info = zf.getinfo(name)
            assert info.compress_type == zipfile.ZIP_STORED
            head = zf.open(name).read(4)
            assert head[:3] == b"\xff\xd8\xff"
        for name in mp4s:
            assert zf.open(name).read(8)[4:8] == b"ftyp"
        assert sum(zf.getinfo(n).file_size for n in jpgs) == summary.photo_bytes
        raw = zf.read("your_facebook_activity/posts/album/0.json")
    # Meta's mojibake: every UTF-8 byte is its own \u00XX escape, and the fix restores the name.
    assert b"\\u00c3\\u00a1" in raw  # "á" of "Prázdniny"
    assert fix_tree(json.loads(raw))["name"] == summary.album_names[0] == "Prázdniny 2023 🏖️"
    assert summary.missing_media and summary.odd_file_names


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    a = write_sample_archive(tmp_path / "a.zip", photos=4, size_mb=0.05, seed=7)
    b = write_sample_archive(tmp_path / "b.zip", photos=4, size_mb=0.05, seed=7)
    c = write_sample_archive(tmp_path / "c.zip", photos=4, size_mb=0.05, seed=8)
    assert _sha(a.path) == _sha(b.path)
    assert _sha(a.path) != _sha(c.path)


def test_parts_and_folder_forms(tmp_path):
    parts = write_sample_archive(tmp_path / "parts", photos=6, size_mb=0.05, parts=3)
    assert parts.path == tmp_path / "parts" and len(parts.files) == 3
    assert all(f.name.startswith("facebook-ferrysample-") and f.suffix == ".zip" for f in parts.files)
    media_parts = [f for f in parts.files if any(n.endswith(".jpg") for n in zipfile.ZipFile(f).namelist())]
    assert len(media_parts) >= 2  # media spread away from the JSON's part
    folder = write_sample_archive(tmp_path / "tree", photos=6, size_mb=0.05, zip=False)
    assert (folder.path / "your_facebook_activity/posts/album/0.json").is_file()
    with pytest.raises(ValueError, match="not empty"):
        write_sample_archive(tmp_path / "tree", zip=False)
    with pytest.raises(ValueError, match="OUT must be a folder"):
        write_sample_archive(tmp_path / "x.zip", parts=2)
    with pytest.raises(ValueError, match="photos must be zero or more"):
        write_sample_archive(tmp_path / "y.zip", photos=-1)


def test_no_instagram_and_empty_counts(tmp_path):
    s = write_sample_archive(tmp_path / "s.zip", photos=0, videos=0, posts=0, events=0, albums=0, instagram=False)
    assert s.items_per_vertical() == {"photos": 0, "videos": 0, "social-posts": 0, "calendar": 0}
    assert s.layout == ("facebook-2024",)


def test_writing_streams_memory_stays_flat(tmp_path):
    # 48 MB of photos in 2 files: peak Python allocations must stay near one chunk, not the file size.
    tracemalloc.start()
    try:
        s = write_sample_archive(tmp_path / "big.zip", photos=2, videos=0, posts=0, events=0, albums=1,
                                 size_mb=48, instagram=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert s.photo_bytes >= 48 * 1_000_000 - 1024
    assert peak < 12 * (1 << 20), f"peak {peak} bytes: writing is not streaming"


def test_cli_writes_and_summarises(tmp_path):
    from ferry.cli import sample as sample_cli

    app = typer.Typer()
    sample_cli.register(app)
    app.command("noop")(lambda: None)  # a second command keeps Typer in multi-command mode
    runner = CliRunner()
    result = runner.invoke(app, ["sample-archive", str(tmp_path / "cli.zip"), "--photos", "3", "--size-mb", "0.01",
                                 "--videos", "1", "--posts", "2", "--events", "1", "--albums", "1", "--no-instagram"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cli.zip").is_file()
    assert "photos" in result.output and "Known bad on purpose" in result.output
    bad = runner.invoke(app, ["sample-archive", str(tmp_path / "p.zip"), "--parts", "2"])
    assert bad.exit_code != 0 and "OUT must be a folder" in bad.output
