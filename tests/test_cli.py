"""The `ferry` command as a person meets it: one-line errors naming what to fix, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from connectors.meta.sample import write_sample_archive

FERRY = [sys.executable, "-m", "ferry"]


@pytest.fixture
def env(tmp_path, prefect_api):
    return dict(os.environ, FERRY_DATA_DIR=str(tmp_path / "data"), PREFECT_API_URL=prefect_api, COLUMNS="200")


def ferry(args, env, timeout=180):
    return subprocess.run(FERRY + list(args), env=env, capture_output=True, text=True, timeout=timeout)


def assert_clean_error(result, code: int, *needles: str) -> None:
    assert result.returncode == code, (result.returncode, result.stdout[-1500:], result.stderr[-1500:])
    text = (result.stdout + result.stderr).replace("\n", "")  # Rich wraps long lines
    assert "Traceback" not in text
    for needle in needles:
        assert needle in text, text[-1500:]


def test_help_lists_the_commands(env):
    result = ferry(["--help"], env)
    assert result.returncode == 0
    for command in ("transfer", "resume", "cancel", "jobs", "connectors", "demo", "sample-archive", "catalog", "auth"):
        assert command in result.stdout


def test_corrupt_archive_names_the_file(tmp_path, env):
    broken = tmp_path / "facebook-broken.zip"
    broken.write_bytes(b"PK\x03\x04 this is not really a zip")
    result = ferry(["transfer", f"meta:{broken}", str(tmp_path / "out"), "--no-progress"], env)
    assert_clean_error(result, 3, "facebook-broken.zip", "ferry resume")


def test_unknown_type_and_protocol_are_usage_errors(tmp_path, env):
    archive = tmp_path / "facebook-x.zip"
    write_sample_archive(archive, photos=2, videos=0, posts=0, events=0, albums=1, size_mb=0.1)
    assert_clean_error(ferry(["transfer", f"meta:{archive}", str(tmp_path / "o"), "-t", "fotos"], env), 2, "unknown data type 'fotos'")
    assert_clean_error(ferry(["transfer", f"meta:{archive}", "nosuchproto://bucket/x", "-t", "photos"], env), 2, "nosuchproto://bucket/x")
    assert_clean_error(ferry(["jobs", "show", "deadbeef"], env), 2, "no job 'deadbeef'")


def test_unwritable_destination_stops_resumable_then_resumes(tmp_path, env):
    archive = tmp_path / "facebook-x.zip"
    write_sample_archive(archive, photos=4, videos=0, posts=0, events=0, albums=1, size_mb=0.2)
    out = tmp_path / "out"
    out.write_text("a file where the destination folder should be")  # unwritable, even for root
    result = ferry(["transfer", f"meta:{archive}", f"folder:{out}", "-t", "photos", "--no-progress"], env)
    assert_clean_error(result, 3, f"cannot write to {out}", "a file is in the way", "ferry resume")
    jobs = json.loads(ferry(["jobs", "list", "--json"], env).stdout)
    assert jobs[0]["state"] == "FAILED"
    out.unlink()
    resumed = ferry(["resume", jobs[0]["id"][:8], "--no-progress", "--json"], env)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    summary = json.loads(resumed.stdout)
    assert summary["state"] == "COMPLETE" and summary["imported"] >= 4


def test_demo_runs_end_to_end_and_says_where_the_data_is(tmp_path, env):
    result = subprocess.run(FERRY + ["demo", "--photos", "6", "--size-mb", "1", "--no-progress", "--out", str(tmp_path / "demo-out")],
                            env=env, capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Your data is in:" in result.stdout and str(tmp_path / "demo-out") in result.stdout.replace("\n", "")
    assert "COMPLETE" in result.stdout
    assert any((tmp_path / "demo-out" / "photos").rglob("*.jpg"))
    listing = ferry(["jobs", "list"], dict(env, FERRY_DATA_DIR=str(tmp_path / "data")))
    assert listing.returncode == 0 and "COMPLETE" in listing.stdout
