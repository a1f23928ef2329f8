"""The TikTok cases of issue 12 through the real transfer flow and CLI, against the fake service.

Each test is one documented case: growth across recurring rounds (each post once), transient
failures that a ``--wait`` transfer rides out (429 with Retry-After, 503, a cut download, a
throttled media host), a spent single-use consent (one command fixes it: ``ferry reconnect``),
media links that expire mid-transfer (fresh links, each dead link fetched once, no revocation
while a retry can help), cancel while waiting, which grants are revoked, and the download bar.
"""

from __future__ import annotations

import re

import httpx
import pytest
from typer.testing import CliRunner

from connectors.errors import SourceNotReady
from connectors.models import Vertical
from ferry.cli import app as cli
from ferry.cli.reconnect import expiring_credentials, reconnect_one
from flows import progress
from flows.context import open_context
from flows.credentials import CredentialStore
from flows.recurring import create_recurring
from flows.requests import create_job
from flows.runtime import close_runtime, open_runtime
from flows.settings import load_settings
from flows.state_slot import SOURCE
from flows.store import CredentialStatus, JobState
from flows.summary import summarize
from flows.wakeups import wake_due_jobs
from tests.engine_support import run_flow
from tests.fakes.tiktok import FakeTikTok, VIDEO_BYTES
from tests.tiktok_support import ferry_home, files_under, tiktok_credential, tiktok_options  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("prefect_api", "no_flow_heartbeat")


def ready_and_wake(fake: FakeTikTok) -> None:
    fake.advance(max(fake.requests), "downloading", deliver=False)
    wake_due_jobs(open_context(), via_deployment=False)


def media_files(out) -> list[str]:
    return [f for f in files_under(out) if f.endswith((".mp4", ".jpg"))]


def credential_status(credential: str) -> CredentialStatus:
    return CredentialStore.from_settings(load_settings()).get(credential).status


def test_recurring_rounds_deliver_each_post_once(ferry_home):
    out = ferry_home / "out"
    with FakeTikTok() as fake:
        credential = tiktok_credential(fake, ("portability.all.ongoing",))
        ctx, rounds = open_context(), []
        recurring = create_recurring(
            "tiktok-weekly", "tiktok:", f"folder:{out}", ["videos", "photos", "posts"], options=tiktok_options(fake, ongoing="true"),
            source_credential_id=credential, schedule="every 7d", ctx=ctx,
        )
        for number in range(3):
            fake.add_posts(2, photo=number == 1)  # the account grows by two posts a round
            job = create_job(ctx, recurring.source, recurring.destination, recurring.types, options=recurring.options,
                             source_credential_id=credential, recurring_id=recurring.id)
            assert run_flow(job.id).state == "WAITING"
            fetched = sum(fake.cdn.fetches.values())
            ready_and_wake(fake)
            done = ctx.jobs.get(job.id)
            assert done.state == JobState.COMPLETE, done.state_reason
            figures = ctx.ledger.figures(job.id)
            rounds.append(({v: f.imported for v, f in figures.per_vertical.items()}, sum(fake.cdn.fetches.values()) - fetched))
        assert fake.adds() == 3 and len(set(fake.cdn.signed)) > 10  # a new request, newly signed links, each round
    first, second, third = (imported for imported, _ in rounds)
    assert first == {"videos": 5, "social-posts": 5}  # album, 2 sample videos, 2 new; 3 sample posts (one without media), 2 new
    assert second == {"photos": 2, "social-posts": 2}  # only the two new (photo) posts; their album is already there
    assert third == {"videos": 2, "social-posts": 2}
    # bytes fetched per round: a probe per link, plus the media of the new posts only
    assert [fetches for _, fetches in rounds] == [4 + 4, 6 + 2, 8 + 2]
    media = media_files(out)
    assert len(media) == len({m.rsplit("/", 1)[-1] for m in media}) == 8  # each post's media once, no copies
    assert sum(1 for f in files_under(out) if f.startswith("posts/")) == 9
    assert credential_status(credential) == CredentialStatus.ACTIVE  # an ongoing grant serves the next round


def test_transient_failures_are_ridden_out_by_a_waiting_transfer(ferry_home):
    out = ferry_home / "out"
    with FakeTikTok(ready_after_checks=2) as fake:
        credential = tiktok_credential(fake)
        fake.rate_limit_next(1, retry_after=1)  # the Add call
        fake.fail_next("internal_error", 503, call="check")
        fake.fail_next("internal_error", 500, call="download")
        fake.truncate_next_download("cut")
        fake.cdn.throttle_next(1, retry_after=1)
        fake.cdn.fail_next(503)
        result = CliRunner().invoke(cli, [
            "transfer", "tiktok:", f"folder:{out}", "-t", "videos,posts", "--source-credential", credential,
            "-o", f"tiktok.api_base={fake.base_url}", "-o", "tiktok.poll_interval=0", "-o", "tiktok.max_poll_interval=0",
            "--wait", "--no-progress",
        ])
        assert result.exit_code == 0, result.output
        log = fake.calls.log
        assert log.count("add") == 2 and log.count("download") == 3 and log.count("check") >= 3
        adds = [t for name, t in fake.calls.times if name == "add"]
        assert adds[1] - adds[0] >= 0.95  # the engine waited as long as Retry-After said
        throttled = next(i for i, (_, status, _) in enumerate(fake.cdn.times) if status == 429)
        assert fake.cdn.times[throttled + 1][2] - fake.cdn.times[throttled][2] >= 0.95  # the media host's too
    assert sorted(open(out / m, "rb").read() for m in media_files(out)) == sorted([VIDEO_BYTES("v1.mp4"), VIDEO_BYTES("v2.mp4")])
    assert "Your data is in" in result.output


def test_a_spent_single_use_consent_names_the_one_command_that_fixes_it(ferry_home):
    out = ferry_home / "out"
    with FakeTikTok() as fake:
        credential = tiktok_credential(fake, ("portability.all.single",))
        ctx = open_context()
        job = create_job(ctx, "tiktok:", f"folder:{out}", ["videos"], options=tiktok_options(fake), source_credential_id=credential)
        assert run_flow(job.id).state == "WAITING"
        fake.advance(max(fake.requests), "expired")  # four days passed before ferry downloaded it
        wake_due_jobs(open_context(), via_deployment=False)
        stopped = ctx.jobs.get(job.id)
        assert stopped.state == JobState.NEEDS_REAUTH
        assert "expired before ferry could download it" in stopped.state_reason
        assert f"run `ferry reconnect {credential[:8]}`, then `ferry resume {job.id[:8]}`" in stopped.state_reason
        assert credential_status(credential) == CredentialStatus.NEEDS_REAUTH
        assert [c["id"] for c in expiring_credentials(ctx.engine, 0)] == [credential]  # `ferry reconnect` lists it
        assert [c.id for c in summarize(ctx, job.id).credentials_to_fix] == [credential]
        early = CliRunner().invoke(cli, ["resume", job.id[:8], "--no-progress"])  # before re-authorizing
        text = " ".join(early.output.split())
        assert early.exit_code == 4 and "Resume with" not in text, text
        assert f"Authorize again with: ferry reconnect {credential[:8]}, then ferry resume {job.id[:8]}" in text

        resumed = reconnect_one(load_settings(), credential, open_url=lambda url: httpx.get(url, follow_redirects=True, timeout=30))
        assert [job_id for job_id, _ in resumed] == [job.id]
        assert ctx.jobs.get(job.id).state == JobState.PAUSED and credential_status(credential) == CredentialStatus.ACTIVE
        assert run_flow(job.id).state == "WAITING"  # the new consent allows a new request
        ready_and_wake(fake)
        assert ctx.jobs.get(job.id).state == JobState.COMPLETE
        assert [c for c in fake.calls.log if c == "add"] == ["add", "add", "add"]  # asked, refused, asked again
    assert len(media_files(out)) == 2


def test_expired_media_links_are_fetched_afresh_and_each_dead_one_once(ferry_home):
    out = ferry_home / "out"
    with FakeTikTok() as fake:
        credential = tiktok_credential(fake)
        job = create_job(open_context(), "tiktok:", f"folder:{out}", ["videos", "posts"], options=tiktok_options(fake), source_credential_id=credential)
        assert run_flow(job.id).state == "WAITING"
        fake.cdn.kill_next_downloads(1)  # the links in the first download are dead by the time they are used
        ready_and_wake(fake)
        done = open_context().jobs.get(job.id)
        assert done.state == JobState.COMPLETE, done.state_reason
        assert open_context().ledger.figures(job.id).total.failed == 0
        assert fake.calls.log.count("download") == 2  # the request downloaded again for fresh links
        assert fake.cdn.dead_fetches() and set(fake.cdn.dead_fetches().values()) == {1}
    assert len(media_files(out)) == 2
    assert credential_status(credential) == CredentialStatus.REVOKED  # the one-off consent is done


def test_links_that_stay_dead_fail_retryably_keep_the_credential_and_resume_fixes_them(ferry_home):
    out = ferry_home / "out"
    with FakeTikTok() as fake:
        credential = tiktok_credential(fake)
        ctx = open_context()
        job = create_job(ctx, "tiktok:", f"folder:{out}", ["videos", "posts"], options=tiktok_options(fake), source_credential_id=credential)
        assert run_flow(job.id).state == "WAITING"
        fake.cdn.kill_next_downloads(5)
        ready_and_wake(fake)
        done = ctx.jobs.get(job.id)
        assert done.state == JobState.COMPLETE
        failures = ctx.ledger.failures(job.id)
        assert len(failures) == 2 and all(row.retryable and "expired" in row.error for row in failures)
        assert set(fake.cdn.dead_fetches().values()) == {1}  # staging, import and retries never refetch a dead link
        assert credential_status(credential) == CredentialStatus.ACTIVE  # a retry can still fix them
        assert ctx.ledger.state(job.id, SOURCE) is not None  # and the request is remembered for it

        fake.cdn.reset()  # TikTok signs working links again
        old_errors = [row.error for row in failures]
        result = CliRunner().invoke(cli, ["resume", job.id[:8], "--retry-failed", "--no-progress"])
        assert result.exit_code == 0, result.output
        text = " ".join(result.output.split())
        assert not any(error in text for error in old_errors) and "expired" not in text, text  # superseded, not reprinted
        assert "COMPLETE" in text and re.search(r"total │ \d+ │ \d+ │ 0 │", text), text  # the failed column says 0
        assert ctx.ledger.failures(job.id) == []
        assert [c for c in fake.calls.log if c == "add"] == ["add"]  # the same request, downloaded again
    assert len(media_files(out)) == 2
    assert credential_status(credential) == CredentialStatus.REVOKED


def test_cancel_while_waiting_cancels_at_tiktok_and_cleans_up(ferry_home):
    with FakeTikTok() as fake:
        credential = tiktok_credential(fake)
        ctx = open_context()
        job = create_job(ctx, "tiktok:", f"folder:{ferry_home / 'out'}", ["videos"], options=tiktok_options(fake), source_credential_id=credential)
        assert run_flow(job.id).state == "WAITING"
        (request_id,) = fake.requests
        result = CliRunner().invoke(cli, ["cancel", job.id[:8]])
        assert result.exit_code == 0, result.output
        assert fake.requests[request_id].status == "cancelled"
        assert ctx.jobs.get(job.id).state == JobState.CANCELED
        assert ctx.ledger.state(job.id, SOURCE) is None
        assert not (ctx.settings.resolved_staging_url and list((ferry_home / "data").rglob(f"*{job.id}*/*")))
        assert credential_status(credential) == CredentialStatus.REVOKED


def test_cancel_finds_a_request_recorded_before_any_cursor_was_saved(ferry_home):
    with FakeTikTok() as fake:
        credential = tiktok_credential(fake, ("portability.all.ongoing",))
        ctx = open_context()
        job = create_job(ctx, "tiktok:", f"folder:{ferry_home / 'out'}", ["videos"], options=tiktok_options(fake), source_credential_id=credential)
        runtime = open_runtime(ctx, job.id)  # ferry asks TikTok, then dies before saving a cursor
        with pytest.raises(SourceNotReady):
            runtime.exporter.list_page(Vertical.VIDEOS, None)
        close_runtime(job.id)
        assert ctx.ledger.cursors(job.id) == [] and ctx.ledger.state(job.id, SOURCE) is not None
        assert CliRunner().invoke(cli, ["cancel", job.id[:8]]).exit_code == 0
        (request_id,) = fake.requests
        assert fake.requests[request_id].status == "cancelled"
        assert credential_status(credential) == CredentialStatus.ACTIVE  # ongoing: kept for later transfers


def test_an_ongoing_grant_outlives_a_one_time_transfer_and_a_revoked_one_says_so(ferry_home):
    with FakeTikTok(ready_after_checks=1) as fake:
        ongoing, single = tiktok_credential(fake, ("portability.all.ongoing",)), tiktok_credential(fake)
        args = ["-t", "videos", "-o", f"tiktok.api_base={fake.base_url}", "-o", "tiktok.poll_interval=0", "--wait", "--no-progress"]
        for n in range(2):
            result = CliRunner().invoke(cli, ["transfer", "tiktok:", f"folder:{ferry_home / f'out{n}'}", "--source-credential", ongoing, *args])
            assert result.exit_code == 0, result.output
        assert credential_status(ongoing) == CredentialStatus.ACTIVE
        first = CliRunner().invoke(cli, ["transfer", "tiktok:", f"folder:{ferry_home / 'single'}", "--source-credential", single, *args])
        assert first.exit_code == 0 and credential_status(single) == CredentialStatus.REVOKED
        again = CliRunner().invoke(cli, ["transfer", "tiktok:", f"folder:{ferry_home / 'again'}", "--source-credential", single, *args])
    assert again.exit_code == 2  # refused before any job is made, in one line
    text = " ".join(again.output.split())
    assert "Resume with" not in text and "Traceback" not in text
    assert f"credential {single[:8]} was revoked; run `ferry auth login tiktok`" in text


def test_the_zip_download_shows_as_a_bar_of_its_size(ferry_home):
    heard: list[tuple[str, object]] = []

    def listen(job_id: str, kind: str, value: object) -> None:
        if kind.startswith("download"):
            heard.append((kind, value))

    with FakeTikTok(ready_after_checks=1) as fake:
        credential = tiktok_credential(fake)
        job = create_job(open_context(), "tiktok:", f"folder:{ferry_home / 'out'}", ["videos"], options=tiktok_options(fake), source_credential_id=credential)
        progress.subscribe(listen)
        try:
            assert run_flow(job.id).state == "WAITING"
            wake_due_jobs(open_context(), via_deployment=False)
        finally:
            progress.unsubscribe(listen)
        (size,) = fake.download_sizes
    starts = [value for kind, value in heard if kind == "download_start"]
    assert starts == [size]
    assert sum(value for kind, value in heard if kind == "download_bytes") == size


def test_the_download_bar_restarts_with_each_download_and_shows_the_size():
    from ferry.cli.run_view import ProgressView

    view = ProgressView("job-1", enabled=False)
    assert view.download_task is None  # no bar for sources that download nothing
    view("job-1", "download_start", 1000)
    view("job-1", "download_bytes", 600)
    view("job-1", "download_start", 1000)  # the first one was cut: a retry starts over
    view("job-1", "download_bytes", 1000)
    view("job-2", "download_bytes", 5)  # another job's events are not ours
    task = view.progress.tasks[view.download_task]
    assert (task.total, task.completed, task.fields["count"]) == (1000, 1000, "1.0 KB of 1.0 KB")
