"""The engine without Prefect: retries in one place, exactly once across crashes, prompt stops.

Time is a fake clock (tests/engine_support.py): the engine's waits are recorded, never slept.
"""

from __future__ import annotations

from collections import Counter

import pytest

from connectors import registry
from connectors.base import RepeatSafety
from flows.context import open_context
from flows.engine import run_job
from flows.requests import create_job
from flows.retry import RetryBudget, RetryPolicy
from flows.runtime import close_runtime, open_runtime
from flows.store import JobState
from tests.engine_support import Crash, FakeClock, Script, register_script


@pytest.fixture
def ctx(tmp_path):
    yield open_context(data_dir=tmp_path / "data")
    registry.unregister("script")


def start(ctx, script: Script, clock: FakeClock | None = None, policy: RetryPolicy | None = None):
    register_script(script)
    job = create_job(ctx, "script:src", "script:dst", ["photos"], options={"script": {"page_size": "4"}})
    return job, attach(ctx, job.id, clock or FakeClock(), policy)


def attach(ctx, job_id, clock, policy=None):
    """Open the job's runtime with the fake clock (what the CLI does with the real one)."""
    runtime = open_runtime(ctx, job_id)
    runtime.budget = RetryBudget(policy=policy or RetryPolicy(), clock=clock)
    clock.stop = runtime.stop
    return runtime


def run(ctx, job_id):
    return run_job(ctx, job_id)


def every_photo_once(script: Script) -> bool:
    return script.received == Counter({f"p{i}.jpg": 1 for i in range(script.photos)} | {"Trip": 1})


def test_a_rate_limit_is_waited_out_honouring_retry_after(ctx):
    script = Script(busy_calls=[7.0])
    clock = FakeClock()
    job, _ = start(ctx, script, clock)
    summary = run(ctx, job.id)
    assert summary.state == "COMPLETE" and summary.imported == 11 and summary.failed == 0
    assert every_photo_once(script)
    assert clock.sleeps == [7.0]  # exactly what the destination asked for


def test_being_told_to_wait_is_not_a_failed_attempt_but_the_job_budget_bounds_it(ctx):
    script = Script(busy_calls=[2.0] * 10)
    clock = FakeClock()
    job, _ = start(ctx, script, clock, RetryPolicy(page_attempts=3))
    assert run(ctx, job.id).state == "COMPLETE" and every_photo_once(script)
    assert set(clock.sleeps) == {2.0} and len(clock.sleeps) > 3  # more waits than the page has attempts
    script = Script(busy_calls=[60.0] * 100)
    clock = FakeClock()
    job, _ = start(ctx, script, clock, RetryPolicy(job_wait_seconds=300))
    summary = run(ctx, job.id)
    assert summary.state == "FAILED" and "gave up after waiting 300 s" in summary.reason and sum(clock.sleeps) == 300


def test_retryable_items_are_retried_with_capped_jittered_backoff(ctx):
    script = Script(item_failures=Counter({"p1.jpg": 3}))
    clock = FakeClock()
    job, _ = start(ctx, script, clock, RetryPolicy(base_seconds=1.0, factor=2.0, cap_seconds=3.0, jitter=0.25))
    summary = run(ctx, job.id)
    assert summary.state == "COMPLETE" and summary.failed == 0 and every_photo_once(script)
    assert len(clock.sleeps) == 3
    for delay, nominal in zip(clock.sleeps, (1.0, 2.0, 3.0)):  # the third is capped at 3 s
        assert nominal * 0.75 <= delay <= nominal * 1.25


def test_an_item_that_keeps_failing_is_recorded_and_the_rest_still_arrive(ctx):
    script = Script(item_failures=Counter({"p2.jpg": 100}))
    job, _ = start(ctx, script, FakeClock(), RetryPolicy(page_attempts=3))
    summary = run(ctx, job.id)
    assert summary.state == "COMPLETE" and summary.imported == 10 and summary.failed == 1
    assert [(e.item, e.message) for e in summary.errors] == [("p2.jpg", "p2.jpg: HTTP 503")]


def test_past_the_budget_the_job_stops_resumable_with_the_reason_then_resumes(ctx):
    script = Script(busy_calls=[None] * 3)  # busy without saying for how long: backoff, counted
    job, _ = start(ctx, script, FakeClock(), RetryPolicy(page_attempts=3))
    summary = run(ctx, job.id)
    assert summary.state == "FAILED" and "gave up after 3 attempts" in summary.reason and "429" in summary.reason
    attach(ctx, job.id, FakeClock())
    resumed = run(ctx, job.id)
    assert resumed.state == "COMPLETE" and every_photo_once(script)


def test_a_transient_listing_error_is_retried(ctx):
    script = Script(list_busy=2)
    clock = FakeClock()
    job, _ = start(ctx, script, clock)
    assert run(ctx, job.id).state == "COMPLETE"
    assert len(clock.sleeps) == 2 and min(clock.sleeps) >= 2.0


@pytest.mark.parametrize("safety", [RepeatSafety.FINDS, RepeatSafety.RECOGNISES])
def test_a_crash_after_the_destination_accepted_an_item_sends_nothing_twice(ctx, safety):
    script = Script(safety=safety, crash_after_accepting="p5.jpg")
    job, _ = start(ctx, script)
    with pytest.raises(Crash):
        run(ctx, job.id)
    close_runtime(job.id)  # the process is gone; a new one resumes
    assert ctx.ledger.figures(job.id).total.in_doubt >= 1
    attach(ctx, job.id, FakeClock())
    summary = run_job(ctx, job.id, force=True)
    assert summary.state == "COMPLETE" and every_photo_once(script)
    assert summary.imported == 11 and summary.skipped == 0 and summary.in_doubt == 0  # "it was us", not "already there"


def test_without_a_way_to_ask_the_destination_each_outcome_is_committed_before_the_next_send(ctx):
    # crash right after p5 was accepted: only p5 is in doubt (sent again, and reported), nothing else
    script = Script(safety=RepeatSafety.NONE, crash_after_accepting="p5.jpg")
    job, _ = start(ctx, script)
    with pytest.raises(Crash):
        run(ctx, job.id)
    close_runtime(job.id)
    assert ctx.ledger.figures(job.id).total.in_doubt == 1
    attach(ctx, job.id, FakeClock())
    assert run_job(ctx, job.id, force=True).state == "COMPLETE"
    assert script.received.pop("p5.jpg") == 2 and all(count == 1 for count in script.received.values())


def test_a_stop_request_ends_after_the_item_in_flight_and_the_job_resumes(ctx):
    script = Script(stop_after="p3.jpg")
    job, runtime = start(ctx, script)
    script.stop_event = runtime.stop
    summary = run(ctx, job.id)
    assert summary.state == "PAUSED" and "interrupted" in summary.reason
    delivered = sum(script.received.values())
    assert summary.imported == delivered and delivered < 11  # stopped early, every outcome recorded
    script.stop_after = None
    attach(ctx, job.id, FakeClock())
    assert run(ctx, job.id).state == "COMPLETE" and every_photo_once(script)


def test_a_failure_fixed_by_a_retry_is_superseded_and_counted_once(ctx):
    script = Script(item_failures=Counter({"p2.jpg": 100}))
    job, _ = start(ctx, script, FakeClock(), RetryPolicy(page_attempts=1))
    first = run(ctx, job.id)
    assert first.failed == 1 and first.state == "COMPLETE"
    script.item_failures.clear()
    ctx.ledger.reset_cursors(job.id)  # what `ferry resume --retry-failed` does
    ctx.jobs.transition(job.id, JobState.PAUSED, "retrying failed items")
    attach(ctx, job.id, FakeClock())
    second = run(ctx, job.id)
    assert (second.state, second.imported, second.failed, second.errors) == ("COMPLETE", 11, 0, [])
    assert every_photo_once(script)


def test_a_cursor_saved_by_an_older_version_is_upgraded_when_the_job_resumes(ctx):
    from tests.engine_support import ScriptCursor

    class RenamedCursor(ScriptCursor.__base__):  # the cursor's field was renamed in version 2
        version = 2
        position: int

        @classmethod
        def upgrade(cls, data, version):
            return {"position": data["offset"]} if version == 1 else data

    script = Script()
    job, _ = start(ctx, script)
    ctx.ledger.save_cursor(job.id, "photos", '{"offset": 5}', cursor_version=1)  # paused under version 1
    loaded = RenamedCursor.load(ctx.ledger.cursor(job.id, "photos").cursor_json, ctx.ledger.cursor(job.id, "photos").cursor_version)
    assert loaded == RenamedCursor(position=5)
    assert ScriptCursor.load('{"offset": 5}') == ScriptCursor(offset=5)
