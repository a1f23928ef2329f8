"""The transfer flow on a real Prefect server with the toy connector pair."""

from __future__ import annotations

import pytest

from connectors import registry
from tests.toy_connector import make_toy


@pytest.fixture
def toy_env(tmp_path, monkeypatch):
    monkeypatch.setenv("FERRY_DATA_DIR", str(tmp_path / "data"))
    registry.register(make_toy(count=10, page_size=4, fail_ids={3}))
    yield tmp_path
    registry.unregister("toy")


def test_transfer_moves_every_item_once_and_records_failures(toy_env, prefect_api, no_flow_heartbeat):
    from flows.context import open_context
    from flows.requests import create_job
    from flows.transfer import transfer

    out = toy_env / "out"
    job = create_job(open_context(), "toy:src", f"toy:{out}", ["photos"])
    summary = transfer(job_id=job.id)
    assert summary.state == "COMPLETE"
    assert summary.imported == 2 + 9
    assert summary.failed == 1
    assert "missing file p3.jpg" in summary.errors[0].message
    files = sorted(p.name for p in out.rglob("*.jpg"))
    assert len(files) == 9
    # resuming a complete job does nothing
    again = transfer(job_id=job.id)
    assert again.imported == summary.imported


def test_transfer_on_a_postgresql_job_store(toy_env, pg_url, monkeypatch, prefect_api, no_flow_heartbeat):
    from flows.context import open_context
    from flows.requests import create_job
    from flows.store import JobStore, Ledger, get_engine
    from flows.transfer import transfer

    monkeypatch.setenv("FERRY_DATABASE_URL", pg_url)
    out = toy_env / "out-pg"
    job = create_job(open_context(), "toy:src", f"toy:{out}", ["photos"])
    summary = transfer(job_id=job.id)
    assert summary.state == "COMPLETE" and summary.imported == 11 and summary.failed == 1
    engine = get_engine(pg_url)
    assert engine.dialect.name == "postgresql"
    assert JobStore(engine).get(job.id).state.value == "COMPLETE"
    assert len([e for e in Ledger(engine).entries(job.id) if e.outcome == "imported"]) == 11


def test_prefect_shows_the_truth_failed_runs_red_paused_runs_paused_names_say_what_moves(toy_env, prefect_api, no_flow_heartbeat):
    from prefect.client.orchestration import get_client

    from flows.context import open_context
    from flows.requests import create_job
    from flows.transfer import transfer

    ctx = open_context()
    blocked = toy_env / "blocked"
    blocked.write_text("a file where the destination folder must be")
    job = create_job(ctx, "toy:src", f"toy:{blocked}", ["photos"])  # the toy importer cannot write there
    failed = transfer(job_id=job.id, return_state=True)
    assert failed.is_failed() and failed.message  # red in the UI, with the reason
    assert ctx.jobs.get(job.id).state.value == "FAILED"
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(ctx.jobs.get(job.id).flow_run_id)
        assert run.state.is_failed() and run.name == f"transfer toy→toy {job.id[:8]}"
        events = _events(client, "ferry.transfer.failed", f"ferry.job.{job.id}")
    assert events, "a failed job emits ferry.transfer.failed for Automations"

    blocked.unlink()
    ctx.jobs.cancel(job.id)
    paused = create_job(ctx, "toy:src", f"toy:{toy_env / 'p'}", ["photos"])
    from flows.runtime import clear_stop, request_stop

    request_stop(paused.id)  # as Ctrl-C does: the run stops before its first page and pauses
    try:
        state = transfer(job_id=paused.id, return_state=True)
    finally:
        clear_stop(paused.id)
    assert state.is_paused() and ctx.jobs.get(paused.id).state.value == "PAUSED"


def _events(client, name: str, resource_id: str, timeout: float = 30.0) -> list:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = {"filter": {"event": {"name": [name]}, "occurred": {"since": "2000-01-01T00:00:00Z"}}, "limit": 50}
        answer = client.request("POST", "/events/filter", json=body)
        found = [e for e in answer.json().get("events", []) if e["resource"]["prefect.resource.id"] == resource_id]
        if found:
            return found
        time.sleep(0.5)
    return []
