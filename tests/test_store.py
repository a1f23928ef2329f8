"""The job store's rules, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading

import pytest

from flows.store import JobState, JobStore, LeaseLost, Ledger, LedgerRecord, get_engine


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    if request.param == "sqlite":
        return get_engine(f"sqlite:///{tmp_path / 'ferry.db'}")
    return get_engine(request.getfixturevalue("pg_url"))


def record(item_id, outcome, dest=None, h="h1"):
    return LedgerRecord(item_id=item_id, vertical="photos", kind="photo", content_hash=h, outcome=outcome, destination_id=dest, bytes=10)


def test_ledger_page_commit_is_one_transaction_and_failures_never_hide_deliveries(engine):
    jobs, ledger = JobStore(engine), Ledger(engine)
    job = jobs.create(source="a", destination="b", types=["photos"])
    ledger.commit_page(job_id=job.id, scope=job.ledger_scope, vertical="photos",
                       records=[record("x", "imported", "d/x"), record("y", "failed")], cursor_json='{"n":1}')
    # a redo of the page where x now fails (destination hiccup) and y succeeds
    ledger.commit_page(job_id=job.id, scope=job.ledger_scope, vertical="photos",
                       records=[record("x", "failed"), record("y", "imported", "d/y")], cursor_json='{"n":2}', done=True)
    delivered = ledger.delivered(job.ledger_scope, ["x", "y", "z"])
    assert delivered == {"x": ("h1", "d/x"), "y": ("h1", "d/y")}
    cursor = ledger.cursor(job.id, "photos")
    assert cursor.cursor_json == '{"n":2}' and cursor.done and cursor.pages == 2
    assert jobs.get(job.id).items_imported == 2 and jobs.get(job.id).items_failed == 2
    # a changed item (new content hash) is recorded with its new hash
    ledger.commit_page(job_id=job.id, scope=job.ledger_scope, vertical="photos", records=[record("x", "imported", "d/x2", h="h2")], advance_cursor=False)
    assert ledger.delivered(job.ledger_scope, ["x"]) == {"x": ("h2", "d/x2")}


def test_only_one_runner_wins_the_lease(engine):
    jobs = JobStore(engine)
    job = jobs.create(source="a", destination="b", types=["photos"])
    winners, losers = [], []

    def race(name):
        try:
            jobs.claim(job.id, owner=f"otherhost:{name}")
            winners.append(name)
        except LeaseLost:
            losers.append(name)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1 and len(losers) == 5
    with pytest.raises(LeaseLost):
        jobs.renew(job.id, "otherhost:not-the-owner")
    jobs.release(job.id, f"otherhost:{winners[0]}")
    assert jobs.claim(job.id, owner="otherhost:next") == "otherhost:next"


def test_states_and_prefix_lookup(engine):
    jobs = JobStore(engine)
    job = jobs.create(source="a", destination="b", types=["photos"], recurring_id="rec-1")
    assert job.ledger_scope == "rec-1"
    jobs.set_state(job.id, JobState.FAILED, "disk on fire")
    found = jobs.get(job.id[:8])
    assert found.state == JobState.FAILED and found.state_reason == "disk on fire" and found.finished_at is not None
    assert found.state.is_resumable and not found.state.is_final
