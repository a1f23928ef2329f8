"""``ferry report``: rates per source -> destination pair from the job store, 1% bar."""

from __future__ import annotations

import json
from datetime import timedelta

from flows.report import pair_report
from flows.store import JobState, JobStore, Ledger, LedgerRecord, Outcome, get_engine, utcnow


def _job(store, source, destination, *, imported, failed, state=JobState.COMPLETE, skipped=0):
    """A finished job whose ledger holds these outcomes (the ledger is the only source of counts)."""
    job = store.create(source=source, destination=destination, types=["photos"])
    outcomes = [Outcome.IMPORTED] * imported + [Outcome.FAILED] * failed + [Outcome.SKIPPED] * skipped
    records = [LedgerRecord("photo", f"p{n}", "h", outcome, bytes=10 if outcome == Outcome.IMPORTED else 0) for n, outcome in enumerate(outcomes)]
    Ledger(store.engine).record(job_id=job.id, scope=job.ledger_scope, vertical="photos", records=records)
    store.transition(job.id, JobState.RUNNING)
    store.transition(job.id, state)
    return job


def test_pairs_above_one_percent_failures_are_flagged(tmp_path):
    engine = get_engine(f"sqlite:///{tmp_path / 'jobs.db'}", create=True)
    store = JobStore(engine)
    _job(store, "meta:/a.zip", "folder:/out", imported=990, failed=10)  # exactly 1%: not above the bar
    _job(store, "meta:/b.zip", "folder:/out2", imported=500, failed=0, skipped=500)
    _job(store, "meta:/c.zip", "generic:https://dest.example/dtp", imported=95, failed=5, state=JobState.FAILED)
    pairs = pair_report(engine, timedelta(days=7))
    assert [(p.source, p.destination) for p in pairs] == [("meta", "generic"), ("meta", "folder")]
    generic, folder = pairs
    assert generic.flagged and generic.failure_rate == 0.05 and generic.jobs_failed == 1
    assert not folder.flagged and folder.items == 2000 and folder.failed == 10 and folder.jobs == 2
    assert pair_report(engine, timedelta(days=7), now=utcnow() + timedelta(days=30)) == []


def test_report_command_prints_rates_and_exits_1_when_strict(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from ferry.cli import app

    monkeypatch.setenv("FERRY_DATA_DIR", str(tmp_path))
    engine = get_engine(f"sqlite:///{(tmp_path / 'ferry.db').resolve()}", create=True)
    _job(JobStore(engine), "meta:/a.zip", "generic:https://dest.example/dtp", imported=98, failed=2)
    runner = CliRunner()
    shown = runner.invoke(app, ["report", "--since", "7d"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "meta → generic" in shown.output and "2.00%" in shown.output and "ABOVE 1%" in shown.output
    as_json = runner.invoke(app, ["report", "--since", "24h", "--json"])
    pair = json.loads(as_json.output)["pairs"][0]
    assert pair["flagged"] is True and pair["failed"] == 2 and pair["items"] == 100
    assert runner.invoke(app, ["report", "--strict"]).exit_code == 1
    assert runner.invoke(app, ["report", "--since", "soon"]).exit_code == 2
