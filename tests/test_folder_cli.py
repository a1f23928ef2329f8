"""``ferry transfer --include/--exclude``: folder filters from the command line; bad ones exit 2 at once."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from connectors.meta.sample import write_sample_archive

FERRY = [sys.executable, "-m", "ferry"]


@pytest.fixture
def env(tmp_path):
    return dict(os.environ, FERRY_DATA_DIR=str(tmp_path / "data"), COLUMNS="300")


def _jobs(tmp_path) -> list[tuple[str, str]]:
    db = tmp_path / "data" / "ferry.db"
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT source, options FROM ferry_job").fetchall()


def test_filters_of_a_non_folder_source_or_bad_globs_exit_2_without_a_job(tmp_path, env):
    archive = tmp_path / "facebook.zip"
    write_sample_archive(archive, photos=1, videos=0, posts=0, events=0, albums=1, size_mb=0.01)
    (tmp_path / "src").mkdir()
    for args, needle in (
        ([f"meta:{archive}", str(tmp_path / "out"), "--include", "*.jpg"], "not one"),
        ([str(tmp_path / "src"), str(tmp_path / "out"), "--exclude", "[abc"], "'['"),
    ):
        run = subprocess.run([*FERRY, "transfer", *args, "--no-progress"], env=env, capture_output=True, text=True, timeout=120)
        assert run.returncode == 2, run.stdout + run.stderr
        assert needle in run.stdout + run.stderr and "Traceback" not in run.stderr
    assert _jobs(tmp_path) == []


def test_filters_reach_the_folder_source(tmp_path, env, prefect_api):
    src, out = tmp_path / "src", tmp_path / "out"
    for rel in ("a.jpg", "b.txt", "tmp/c.jpg", "keep/d.jpg"):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(rel.encode())
    run = subprocess.run(
        [*FERRY, "transfer", f"folder:{src}", f"folder:{out}", "--include", "*.jpg", "--exclude", "tmp/", "--no-progress", "--json"],
        env=dict(env, PREFECT_API_URL=prefect_api), capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == ["files/a.jpg", "files/keep/d.jpg"]
    ((_, options),) = _jobs(tmp_path)
    assert json.loads(options)["folder"] == {"include": ["*.jpg"], "exclude": ["tmp/"]}
