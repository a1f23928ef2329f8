"""``ferry verify`` against a Generic Importer destination, through ferry's lookup extension.

The transfer runs through the engine without Prefect (flows.engine.run_job, plain steps) from a
folder to the reference destination on 127.0.0.1; then the destination's stored items are
removed or changed behind ferry's back and ``ferry verify`` must say which.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ferry.cli import app as cli
from tests.generic_support import start_destination


@pytest.fixture
def transferred(tmp_path, monkeypatch):
    """A finished folder -> generic job: (context, job id, destination, files sent)."""
    from connectors.oauth import build_client_config, discover
    from flows.context import open_context
    from flows.engine import run_job
    from flows.requests import create_job

    source = tmp_path / "src"
    for n in range(6):
        (source / f"d{n % 2}").mkdir(parents=True, exist_ok=True)
        (source / f"d{n % 2}" / f"f{n}.txt").write_bytes(f"file {n}\n".encode() * (n + 1))
    monkeypatch.setenv("FERRY_DATA_DIR", str(tmp_path / "data"))
    with start_destination(tmp_path / "received") as dest:
        ctx = open_context(create=True)
        client = build_client_config(client_id="ferry", metadata=discover(dest.server.url))
        grant = {**dest.tokens.issue("alice", client_id="ferry"), "token_type": "Bearer"}
        credential = ctx.credentials.create("generic", grant, client).id
        job = create_job(ctx, f"folder:{source}", f"generic:{dest.url}", ["blobs"], destination_credential_id=credential)
        summary = run_job(ctx, job.id)
        assert summary.state == "COMPLETE", summary
        again = {**dest.tokens.issue("alice", client_id="ferry"), "token_type": "Bearer"}  # the job revoked its own
        yield ctx, job.id, dest, ctx.credentials.create("generic", again, client).id


def stored_files(dest) -> list[Path]:
    return sorted(p for p in (dest.root / "alice" / "blobs").rglob("f*.txt"))


def test_verify_finds_every_item_present(transferred):
    from flows.verify import verify_job

    ctx, job_id, dest, credential = transferred
    report = verify_job(ctx, job_id, destination_credential_id=credential)
    assert report.ok and report.unknown == 0
    assert report.present == 6 + 2  # six files and their two folders
    lookups = [r for r in dest.api.received if r.suffix == "ferry/items"]
    assert lookups == []  # lookups are not item requests; the store was asked, nothing re-sent
    assert dest.api.repeats == []


def test_verify_names_missing_and_changed_items_and_exits_1(transferred):
    ctx, job_id, dest, credential = transferred
    files = stored_files(dest)
    assert len(files) == 6
    files[0].unlink()  # removed at the destination
    files[1].write_bytes(files[1].read_bytes() + b"tampered")  # another size
    original = files[2].read_bytes()
    files[2].write_bytes(bytes([original[0] ^ 1]) + original[1:])  # same size, other bytes
    result = CliRunner().invoke(cli, ["verify", job_id[:8], "--destination-credential", credential[:8]])
    assert result.exit_code == 1, result.output
    assert "5 present" in result.output and "3 missing or changed" in result.output
    assert f"{files[0].name} missing" in result.output
    assert f"{files[1].name} changed" in result.output and "bytes at the destination" in result.output
    assert f"{files[2].name} changed" in result.output and "sha256 differs" in result.output


def test_a_busy_destination_is_asked_again(transferred):
    from flows.verify import verify_job

    ctx, job_id, dest, credential = transferred
    dest.api.knobs.lookup_errors_next, dest.api.knobs.retry_after = 2, "0"  # two lookups answered 503
    report = verify_job(ctx, job_id, destination_credential_id=credential)
    assert report.ok and report.present == 8 and dest.api.knobs.lookup_errors_next == 0


def test_a_destination_without_the_extension_cannot_be_checked(transferred):
    from flows.verify import verify_job

    ctx, job_id, dest, credential = transferred
    dest.api.knobs.offer_lookup = False
    report = verify_job(ctx, job_id, destination_credential_id=credential)
    assert report.ok and report.present == 0 and report.unknown == 8


def test_the_revoked_credential_of_a_finished_job_is_named_with_the_fix(transferred):
    ctx, job_id, dest, credential = transferred
    result = CliRunner().invoke(cli, ["verify", job_id[:8]])
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert "was revoked when the job finished" in said and "--destination-credential" in said
