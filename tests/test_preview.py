"""Looking before anything moves: ``ferry check``, ``ferry ls`` and ``ferry transfer --dry-run``.

Run as a user runs them (``python -m ferry`` in a fresh data directory): they answer without
Prefect, create no job and write nothing. The dry run's counts are compared with what a real
transfer of the same archive then records in the ledger (the engine's plain steps, no Prefect).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from connectors.meta.sample import write_sample_archive

FERRY = [sys.executable, "-X", "importtime", "-m", "ferry"]


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    path = tmp_path_factory.mktemp("preview") / "facebook.zip"
    return write_sample_archive(path, photos=9, videos=2, posts=4, events=3, albums=2, size_mb=0.3, video_mb=0.05, seed=11)


@pytest.fixture(scope="module")
def archive(sample) -> Path:
    return sample.path


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "data"


def ferry(args, data_dir, *, expect: int = 0):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FERRY_")}
    env.update(FERRY_DATA_DIR=str(data_dir), COLUMNS="120", PYTHONPATH=os.getcwd())
    result = subprocess.run(FERRY + list(args), env=env, capture_output=True, text=True, timeout=180)
    errors = "\n".join(line for line in result.stderr.splitlines() if not line.startswith("import time:"))
    assert result.returncode == expect, (result.returncode, result.stdout[-3000:], errors[-3000:])
    assert "Traceback" not in result.stderr
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert not {m for m in imported if m == "prefect" or m.startswith("prefect.")}, "looking must not start Prefect"
    return result


def _jobs(data_dir) -> list:
    return json.loads(ferry(["jobs", "list", "--json"], data_dir).stdout)


def test_dry_run_counts_what_the_transfer_then_moves_and_writes_nothing(sample, archive, data_dir, tmp_path):
    out = tmp_path / "out"
    planned = json.loads(ferry(["transfer", f"meta:{archive}", str(out), "--dry-run", "--json"], data_dir).stdout)
    assert planned["dry_run"] is True and not out.exists() and _jobs(data_dir) == []
    shown = ferry(["transfer", f"meta:{archive}", str(out), "--dry-run"], data_dir).stdout
    assert "would move" in shown and f"{sample.photos} photos in {sample.albums} albums" in shown and "no job was created" in shown
    assert not out.exists() and _jobs(data_dir) == []

    from flows.context import open_context
    from flows.engine import run_job
    from flows.requests import create_job

    ctx = open_context(data_dir=data_dir)
    job = create_job(ctx, f"meta:{archive}", str(out))
    run_job(ctx, job.id)
    figures = ctx.ledger.figures(job.id).per_vertical
    for vertical, plan in planned["verticals"].items():
        moved = figures[vertical]
        assert plan["count"] + sum(plan["containers"].values()) == moved.imported + moved.skipped + moved.failed, vertical
    photos = planned["verticals"]["photos"]
    assert photos["items"] == {"photo": sample.photos} and photos["containers"] == {"album": sample.albums}
    assert photos["bytes"] == sum(p.stat().st_size for p in out.rglob("*.jpg"))
    assert {p["kind"] for p in planned["problems"]} == {"not-transferred"}


def test_ls_lists_a_folder_source_and_totals_per_type(data_dir, tmp_path):
    src = tmp_path / "photos"
    (src / "2023" / "summer").mkdir(parents=True)
    (src / "2023" / "summer" / "beach.jpg").write_bytes(b"\xff\xd8" + b"x" * 2000)
    (src / "notes [draft].txt").write_text("hello")
    listed = ferry(["ls", f"folder:{src}"], data_dir).stdout
    assert "/2023/summer/beach.jpg" in listed and "notes [draft].txt" in listed and "2.0 KB" in listed
    assert "2 files in" in listed
    limited = ferry(["ls", f"folder:{src}", "--limit", "1"], data_dir).stdout
    assert "… and 3 more" in limited and "2 files in 2 folders" in limited  # not shown, but counted
    as_json = json.loads(ferry(["ls", f"folder:{src}", "--json"], data_dir).stdout)
    assert {row["name"] for row in as_json["items"] if row["kind"] == "file"} == {"beach.jpg", "notes [draft].txt"}
    assert "ref" not in as_json["items"][0]
    assert _jobs(data_dir) == []
    refused = ferry(["ls", f"folder:{src}", "--types", "calendar"], data_dir, expect=2)
    assert "folder does not export calendar" in refused.stderr


def test_check_passes_leaves_nothing_behind_and_names_what_fails(archive, data_dir, tmp_path):
    out = tmp_path / "new" / "out"
    passed = ferry(["check", f"meta:{archive}", str(out)], data_dir)
    assert "✓ meta source can be read" in passed.stdout and "✓ folder destination can be written" in passed.stdout
    assert not (tmp_path / "new").exists() and _jobs(data_dir) == []  # the probe and its folders are gone

    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the destination's folder must go")
    corrupt = tmp_path / "broken.zip"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip")
    failed = ferry(["check", f"meta:{corrupt}", f"folder:{blocker / 'out'}", "--json"], data_dir, expect=1)
    report = json.loads(failed.stdout)
    assert report["ok"] is False and [c["ok"] for c in report["checks"]] == [False, False]
    assert "broken.zip" in report["checks"][0]["detail"] and "a file is in the way" in report["checks"][1]["detail"]
    missing = ferry(["check", f"meta:{tmp_path / 'nope.zip'}", str(out)], data_dir, expect=2)
    assert "no such file or folder" in missing.stderr


def test_check_finds_a_destination_that_refuses_the_credential(archive, tmp_path, monkeypatch):
    """The credential looks fine locally (its access token has not expired), but the destination
    refuses it and refreshing is refused too: ``check`` says so, before anything moves."""
    import httpx
    from typer.testing import CliRunner

    from ferry.cli import app
    from ferry.cli.auth import run_login
    from ferry.servers.destination.app import create_app
    from ferry.servers.threaded import ThreadedServer
    from flows.settings import load_settings

    monkeypatch.setenv("FERRY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FERRY_SECRET_KEY", "x6mK2bq3Yk9mZ5u2p7oQ4iN1yZ8cV0rT3sW6eD9fH2g=")
    web = create_app(str(tmp_path / "dest"), redirect_uris=("http://127.0.0.1/callback",))
    with ThreadedServer(web) as server:
        info = run_login(load_settings(), "generic", client_id="ferry", metadata_url=f"{server.url}/.well-known/oauth-authorization-server",
                         open_url=lambda url: httpx.get(url, follow_redirects=True, timeout=10))
        args = ["check", f"meta:{archive}", f"generic:{server.url}/dtp", "--destination-credential", info.id, "--json"]
        runner = CliRunner()
        fine = runner.invoke(app, args)
        assert fine.exit_code == 0, fine.output
        web.state.oauth.expire_access_tokens()
        web.state.oauth.fail_next_refresh("invalid_grant")
        refused = runner.invoke(app, args)
    report = json.loads(refused.output)
    assert refused.exit_code == 1 and report["ok"] is False
    failing = [c for c in report["checks"] if not c["ok"]]
    assert [c["check"] for c in failing] == ["generic destination can be written"], report


def test_every_run_checks_first_and_stops_before_listing(data_dir, tmp_path):
    """The same checks are a transfer's first step: a destination that cannot be written stops
    the job FAILED with the reason before a single item is listed (no cursor, no ledger row)."""
    from flows.context import open_context
    from flows.engine import run_job
    from flows.requests import create_job

    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    (src / "a.txt").write_text("a")
    ctx = open_context(data_dir=data_dir)
    job = create_job(ctx, f"folder:{src}", f"folder:{out / 'sub'}")
    out.write_text("a file where the destination's parent folder must be, since the job was created")
    summary = run_job(ctx, job.id)
    assert summary.state == "FAILED" and "a file is in the way" in summary.reason
    assert ctx.ledger.cursors(job.id) == [] and ctx.ledger.figures(job.id).total.imported == 0
    out.unlink()
    assert run_job(ctx, job.id).state == "COMPLETE" and (out / "sub" / "files" / "a.txt").read_text() == "a"


def test_check_on_s3_leaves_no_probe_and_no_bucket_behind(archive, tmp_path, s3_bucket):
    """On S3 the probe object is removed, and a bucket the check had to create goes again."""
    import s3fs

    from flows.context import open_context
    from flows.preflight import check, open_transfer

    bucket, options = s3_bucket
    ctx = open_context(data_dir=tmp_path / "data", storage_options=options)
    fs = s3fs.S3FileSystem(**options, skip_instance_cache=True)
    for destination, existed in ((f"s3://{bucket}/backup", True), ("s3://ferry-check-not-there/backup", False)):
        with open_transfer(ctx, f"meta:{archive}", destination) as opened:
            results = check(opened)
        assert all(r.ok for r in results), results
        fs.invalidate_cache()
        if existed:
            assert fs.find(bucket) == []  # no probe object left
        else:
            assert not fs.exists("ferry-check-not-there")
