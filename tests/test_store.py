"""The job store's rules, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading

import pytest

from flows.store import IllegalTransition, JobState, JobStore, LeaseLost, Ledger, LedgerRecord, Outcome, ProblemRecord, get_engine


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    if request.param == "sqlite":
        return get_engine(f"sqlite:///{tmp_path / 'ferry.db'}", create=True)
    return get_engine(request.getfixturevalue("pg_url"))


def rec(item_id, outcome, dest=None, h="h1", kind="photo", error=None):
    return LedgerRecord(kind=kind, item_id=item_id, content_hash=h, outcome=outcome, item_name=f"{item_id}.jpg", destination_id=dest, bytes=10, error=error)


def test_outcomes_supersede_failures_and_intents_never_hide_deliveries(engine):
    jobs, ledger = JobStore(engine), Ledger(engine)
    job = jobs.create(source="a", destination="b", types=["photos"])
    scope = job.ledger_scope
    ledger.record(job_id=job.id, scope=scope, vertical="photos", records=[rec("x", Outcome.SENDING), rec("y", Outcome.SENDING)])
    assert ledger.in_doubt(scope) == {("photo", "x"), ("photo", "y")}
    ledger.record(job_id=job.id, scope=scope, vertical="photos", records=[rec("x", Outcome.IMPORTED, "d/x"), rec("y", Outcome.FAILED, error="HTTP 500")])
    assert [(r.item_id, r.error) for r in ledger.failures(job.id)] == [("y", "HTTP 500")]
    # a redo: x is sent again and fails (same content: the delivery stands); y now succeeds
    ledger.record(job_id=job.id, scope=scope, vertical="photos", records=[rec("x", Outcome.SENDING), rec("x", Outcome.FAILED, error="late")])
    ledger.record(job_id=job.id, scope=scope, vertical="photos", records=[rec("y", Outcome.IMPORTED, "d/y")])
    known = ledger.known(scope, [("photo", "x"), ("photo", "y"), ("photo", "z")])
    assert {k: (v.outcome, v.destination_id) for k, v in known.items()} == {("photo", "x"): (Outcome.IMPORTED, "d/x"), ("photo", "y"): (Outcome.IMPORTED, "d/y")}
    assert ledger.failures(job.id) == []  # the error was superseded, not kept beside the delivery
    figures = ledger.figures(job.id)
    assert (figures.total.imported, figures.total.failed, figures.total.in_doubt, figures.total.bytes) == (2, 0, 0, 20)
    # changed content (new hash) is recorded again
    ledger.record(job_id=job.id, scope=scope, vertical="photos", records=[rec("x", Outcome.SENDING, h="h2")])
    assert ledger.known(scope, [("photo", "x")])[("photo", "x")].outcome == Outcome.SENDING


def test_a_photo_and_a_file_of_one_source_file_never_share_a_row(engine):
    jobs, ledger = JobStore(engine), Ledger(engine)
    job = jobs.create(source="a", destination="b", types=["photos", "blobs"])
    ledger.record(job_id=job.id, scope=job.ledger_scope, vertical="photos", records=[rec("same", Outcome.IMPORTED, "photos/x.jpg")])
    ledger.record(job_id=job.id, scope=job.ledger_scope, vertical="blobs", records=[rec("same", Outcome.IMPORTED, "files/x.jpg", kind="file")])
    figures = ledger.figures(job.id)
    assert sorted(figures.per_vertical) == ["blobs", "photos"] and figures.total.imported == 2


def test_page_commit_moves_the_cursor_and_problems_count_once(engine):
    jobs, ledger = JobStore(engine), Ledger(engine)
    job = jobs.create(source="a", destination="b", types=["photos"])
    problem = ProblemRecord("posts.json", "invalid JSON at line 3", "failed")
    for n in (1, 2):  # the same page redone: its problem is not counted twice
        ledger.add_problems(job.id, "photos", [problem])
        ledger.commit_page(job_id=job.id, scope=job.ledger_scope, vertical="photos", cursor_json=f'{{"n":{n}}}', done=n == 2)
    cursor = ledger.cursor(job.id, "photos")
    assert cursor.cursor_json == '{"n":2}' and cursor.done and cursor.pages == 2
    assert ledger.count_problems(job.id) == {"failed": 1}


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


def test_states_follow_the_transition_table(engine):
    jobs = JobStore(engine)
    job = jobs.create(source="a", destination="b", types=["photos"], recurring_id="rec-1")
    assert job.ledger_scope == "rec-1"
    with pytest.raises(IllegalTransition, match="NEW; it cannot become COMPLETE"):
        jobs.transition(job.id, JobState.COMPLETE)
    jobs.transition(job.id, JobState.RUNNING)
    jobs.transition(job.id, JobState.FAILED, "disk on fire")
    found = jobs.get(job.id[:8])
    assert found.state == JobState.FAILED and found.state_reason == "disk on fire" and found.finished_at is not None
    assert found.finished_at.tzinfo is not None  # aware on every database
    jobs.transition(job.id, JobState.RUNNING)
    jobs.transition(job.id, JobState.WAITING, "TikTok prepares the export", wake_key="req-1")
    assert [j.id for j in jobs.waiting(key="req-1")] == [job.id]
    jobs.cancel(job.id)
    with pytest.raises(IllegalTransition):
        jobs.transition(job.id, JobState.RUNNING)
