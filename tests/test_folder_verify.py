"""``ferry verify JOB`` on folder and S3 destinations: a tampered file and a deleted one are listed
by name (exit 1); an intact destination passes (exit 0).

The job is run by the engine's steps in this process (no Prefect needed: verify asks the
destination, not the orchestrator); ``ferry verify`` runs as the real command.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys

import fsspec
import pytest

from flows import steps
from flows.context import open_context
from flows.requests import create_job
from flows.runtime import close_runtime, open_runtime

FERRY = [sys.executable, "-m", "ferry"]


def transfer(data_dir, source, destination, storage_options=None) -> str:
    """Run a whole transfer through flows.steps; return the job id."""
    ctx = open_context(data_dir=data_dir, storage_options=storage_options or {})
    job = create_job(ctx, f"folder:{source}", destination, ["blobs"])
    rt = open_runtime(ctx, job.id)
    try:
        steps.authorize_job(rt)
        for vertical in rt.routes:
            while True:
                page = steps.export_page(rt, vertical)
                steps.import_page(rt, steps.convert_page(rt, page))
                if page.done:
                    break
    finally:
        close_runtime(job.id)
    figures = ctx.ledger.figures(job.id).total
    assert figures.imported == 5 and figures.failed == 0  # 4 files and their folder
    return job.id


def verify(job_id, data_dir, **env_extra):
    env = dict(os.environ, FERRY_DATA_DIR=str(data_dir), FERRY_RUNNER="off", COLUMNS="300", **env_extra)
    return subprocess.run([*FERRY, "verify", job_id], env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def source(tmp_path):
    root = tmp_path / "src"
    for name, data in {"a.txt": b"alpha", "b.txt": b"bravo", "c.txt": b"charlie", "d/e.bin": bytes(range(256)) * 40}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def test_verify_a_folder_destination(tmp_path, source):
    data_dir, out = tmp_path / "data", tmp_path / "out"
    job_id = transfer(data_dir, source, f"folder:{out}")
    clean = verify(job_id, data_dir)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "5 present" in clean.stdout

    (out / "files/b.txt").write_bytes(b"BRAVO")  # same size, other bytes
    (out / "files/c.txt").unlink()
    broken = verify(job_id, data_dir)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    lines = broken.stdout.splitlines()
    assert any("b.txt" in line and "changed" in line and "xxh3-128" in line for line in lines), broken.stdout  # local copies: XXH3
    assert any("c.txt" in line and "missing" in line for line in lines), broken.stdout
    assert not any("a.txt" in line for line in lines[1:]) and "Traceback" not in broken.stderr


def test_rows_recorded_before_the_algorithm_column_verify_with_sha256(tmp_path, source):
    """A store written before ``checksum_algorithm`` (revision 0005) held ``sha256:<hex>`` in
    ``checksum``: ``ferry verify`` upgrades it and checks those rows with sha256."""
    data_dir, out = tmp_path / "data", tmp_path / "out"
    job_id = transfer(data_dir, source, f"folder:{out}")
    with sqlite3.connect(data_dir / "ferry.db") as conn:
        rows = conn.execute("SELECT item_id, destination_id FROM ferry_ledger WHERE checksum IS NOT NULL").fetchall()
        assert len(rows) == 4 and {a for (a,) in conn.execute("SELECT checksum_algorithm FROM ferry_ledger WHERE checksum IS NOT NULL")} == {"xxh3-128"}
        for item_id, destination_id in rows:  # what ferry 0005 wrote: the algorithm in a prefix
            old = "sha256:" + hashlib.sha256((out / destination_id).read_bytes()).hexdigest()
            conn.execute("UPDATE ferry_ledger SET checksum = ? WHERE item_id = ?", (old, item_id))
        conn.execute("ALTER TABLE ferry_ledger DROP COLUMN checksum_algorithm")
        conn.execute("UPDATE ferry_schema_version SET version_num = '0005'")
    clean = verify(job_id, data_dir)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "5 present" in clean.stdout
    with sqlite3.connect(data_dir / "ferry.db") as conn:
        assert {a for (a,) in conn.execute("SELECT checksum_algorithm FROM ferry_ledger WHERE checksum IS NOT NULL")} == {"sha256"}

    (out / "files/b.txt").write_bytes(b"BRAVO")
    broken = verify(job_id, data_dir)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert any("b.txt" in line and "changed" in line and "sha256" in line for line in broken.stdout.splitlines()), broken.stdout


def test_verify_an_s3_destination(tmp_path, source, s3_bucket):
    bucket, options = s3_bucket
    data_dir = tmp_path / "data"
    job_id = transfer(data_dir, source, f"s3://{bucket}/backup", options)
    env = {"FERRY_STORAGE_OPTIONS": json.dumps(options)}
    clean = verify(job_id, data_dir, **env)
    assert clean.returncode == 0, clean.stdout + clean.stderr

    fs, _ = fsspec.core.url_to_fs(f"s3://{bucket}", **options)
    fs.pipe_file(f"{bucket}/backup/files/b.txt", b"BRAVO")  # replaced behind ferry's back
    fs.rm_file(f"{bucket}/backup/files/d/e.bin")
    broken = verify(job_id, data_dir, **env)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert any("b.txt" in line and "changed" in line for line in broken.stdout.splitlines()), broken.stdout
    assert any("e.bin" in line and "missing" in line for line in broken.stdout.splitlines()), broken.stdout
