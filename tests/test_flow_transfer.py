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
    from flows.transfer import create_job, transfer

    out = toy_env / "out"
    job = create_job("toy:src", f"toy:{out}", ["photos"])
    summary = transfer(job_id=job.id)
    assert summary["state"] == "COMPLETE"
    assert summary["imported"] == 2 + 9
    assert summary["failed"] == 1
    assert "missing file p3.jpg" in summary["errors"][0]["message"]
    files = sorted(p.name for p in out.rglob("*.jpg"))
    assert len(files) == 9
    # resuming a complete job does nothing
    again = transfer(job_id=job.id)
    assert again["imported"] == summary["imported"]


def test_transfer_on_a_postgresql_job_store(toy_env, pg_url, monkeypatch, prefect_api, no_flow_heartbeat):
    from flows.store import JobStore, Ledger, get_engine
    from flows.transfer import create_job, transfer

    monkeypatch.setenv("FERRY_DATABASE_URL", pg_url)
    out = toy_env / "out-pg"
    job = create_job("toy:src", f"toy:{out}", ["photos"])
    summary = transfer(job_id=job.id)
    assert summary["state"] == "COMPLETE" and summary["imported"] == 11 and summary["failed"] == 1
    engine = get_engine(pg_url)
    assert engine.dialect.name == "postgresql"
    assert JobStore(engine).get(job.id).state.value == "COMPLETE"
    assert len([e for e in Ledger(engine).entries(job.id) if e.outcome == "imported"]) == 11
