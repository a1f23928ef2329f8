"""ferry on the real stack: Prefect server on PostgreSQL, prefect.yaml deployed, process workers.

Everything runs as operators run it: ``prefect deploy --all`` from the repository root, workers
started as subprocesses (``prefect worker start``), flow runs executed by those workers in their
own processes, the job store in its own PostgreSQL database. The module shares one stack
(tests/prefect_stack.py); workers are started per test and stopped with SIGTERM.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from tests.prefect_stack import FERNET_KEY, shared_stack, wait_until

#: every test here runs Prefect workers against the shared stack (Prefect server + PostgreSQL)
pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def stack(request):
    return shared_stack(request.config)


@pytest.fixture
def stack_env(stack, monkeypatch):
    """This process talks to the stack like the workers do (FERRY_* and PREFECT_API_URL)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.store.engine import get_engine

    monkeypatch.setenv("FERRY_DATABASE_URL", stack.database_url)
    monkeypatch.setenv("FERRY_DATA_DIR", str(stack.data_dir))
    monkeypatch.setenv("FERRY_SECRET_KEY", FERNET_KEY)
    monkeypatch.setenv("PREFECT_API_URL", stack.api_url)
    _restart_event_workers()
    with temporary_settings(updates={PREFECT_API_URL: stack.api_url}):
        yield get_engine(stack.database_url)
        _restart_event_workers()


def _total(engine, job):
    """A job's figures, from the ledger (the only source of counts)."""
    from flows.store import Ledger

    return Ledger(engine).figures(job.id).total


def _restart_event_workers() -> None:
    """Prefect's event worker is a process-wide singleton bound to the API URL it first saw:
    drain it when switching servers, so events reach the right one (a new worker starts lazily)."""
    from prefect.events.worker import EventsWorker

    EventsWorker.drain_all(timeout=10)


@pytest.fixture
def workers(stack):
    started = []

    def start(*names: str, limit: int | None = None):
        for name in names:
            started.append(stack.worker(name, limit=limit))

    yield start
    for proc in started:
        stack.stop_worker(proc)


def _jobs(engine, **where):
    from flows.store import Job

    with Session(engine) as session:
        query = select(Job)
        for key, value in where.items():
            query = query.where(getattr(Job, key) == value)
        return list(session.exec(query).all())


def _run_deployment(name: str, parameters: dict):
    from prefect.deployments import run_deployment

    return run_deployment(name, parameters=parameters, timeout=0)


def _flow_run_state(flow_run_id):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id).state


def _events(stack, name: str) -> list[dict]:
    import httpx

    body = {"filter": {"event": {"name": [name]}, "occurred": {"since": "2000-01-01T00:00:00Z"}}, "limit": 50}
    answer = httpx.post(f"{stack.api_url}/events/filter", json=body, timeout=10)
    answer.raise_for_status()
    return answer.json()["events"]


def _artifact_keys(flow_run_id) -> set[str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
    return {a.key for a in found}


def _write_files(folder: Path, start: int, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + count):
        (folder / f"file-{i:03d}.bin").write_bytes(hashlib.sha256(str(i).encode()).digest() * 64)


def test_scheduled_recurring_transfer_second_run_imports_only_new_items(stack, stack_env, workers, tmp_path):
    from typer.testing import CliRunner

    from ferry.cli import app
    from flows.recurring import RecurringStore
    from flows.schedules import schedule_state
    from flows.store import Ledger

    src, dst = tmp_path / "src", tmp_path / "dst"
    _write_files(src, 0, 6)
    runner = CliRunner()
    created = runner.invoke(app, ["recurring", "create", "nightly-files", f"folder:{src}", f"folder:{dst}", "--types", "blobs", "--every", "10s", "--deploy", "--json"])
    assert created.exit_code == 0, created.output
    rec = RecurringStore(stack_env).get("nightly-files")
    assert rec.deployment_id and schedule_state(rec).active is True
    workers("w-recurring")

    first = wait_until(lambda: [j for j in _jobs(stack_env, recurring_id=rec.id) if j.state.value == "COMPLETE"], what="first scheduled run", stack=stack)
    assert _total(stack_env, first[0]).imported == 6 and first[0].ledger_scope == rec.id
    _write_files(src, 6, 2)  # two new files for the next runs

    def later_imports():
        jobs = [j for j in _jobs(stack_env, recurring_id=rec.id) if j.id != first[0].id and j.state.value == "COMPLETE"]
        return jobs if sum(_total(stack_env, j).imported for j in jobs) >= 2 else None

    later = wait_until(later_imports, what="a later run importing the new files", stack=stack)
    paused = runner.invoke(app, ["recurring", "pause", rec.id[:8]])
    assert paused.exit_code == 0 and "paused" in paused.output, paused.output
    assert schedule_state(rec).active is False

    # later runs imported only the two new files; the six old ones were recognised by the ledger
    assert sum(_total(stack_env, j).imported for j in later) == 2
    entries = Ledger(stack_env).entries(rec.id)
    assert len(entries) == 8 and {e.outcome for e in entries} == {"imported"}
    assert sorted(p.name for p in dst.rglob("*.bin")) == [f"file-{i:03d}.bin" for i in range(8)]
    shown = runner.invoke(app, ["recurring", "show", "nightly-files", "--json"])
    assert shown.exit_code == 0 and '"prefect_schedule": "paused' in shown.output
    canceled = runner.invoke(app, ["recurring", "cancel", "nightly-files"])
    assert canceled.exit_code == 0 and schedule_state(rec) is None


def _schedule_api(rec, body: dict) -> None:
    """Change a schedule as the Prefect UI and `prefect deployment schedule` do: a PATCH that
    carries only what changed (Prefect then stores the schedule's parameters as {})."""
    import httpx
    from prefect.settings import PREFECT_API_URL

    answer = httpx.patch(f"{PREFECT_API_URL.value()}/deployments/{rec.deployment_id}/schedules/{rec.schedule_id}", json=body, timeout=30)
    assert answer.status_code == 204, answer.text


def _rounds_of(deployment_id) -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterDeploymentId, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType

    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                deployment_id=FlowRunFilterDeploymentId(any_=[deployment_id]),
                state=dict(type=FlowRunFilterStateType(any_=[StateType.COMPLETED, StateType.FAILED])),
            ),
            limit=200,
        )


def test_recurring_rounds_survive_pause_resume_and_edits_made_outside_ferry(stack, stack_env, workers, tmp_path):
    """Pause/resume through ferry keeps the schedule's parameters; pause/resume and an edit
    through Prefect's API wipe them (asserted), and the next rounds still run, then put the
    parameters and the schedule's name back and take over the edited interval."""
    from typer.testing import CliRunner

    from ferry.cli import app
    from flows.recurring import RecurringStore
    from flows.schedules import schedule_state
    from flows.store import utcnow

    src, dst = tmp_path / "src", tmp_path / "dst"
    _write_files(src, 0, 2)
    runner = CliRunner()
    created = runner.invoke(app, ["recurring", "create", "edited-in-ui", f"folder:{src}", f"folder:{dst}", "--types", "blobs", "--every", "10s", "--deploy"])
    assert created.exit_code == 0, created.output
    store = RecurringStore(stack_env)
    rec = store.get("edited-in-ui")
    state = schedule_state(rec)
    assert rec.schedule_id and state.slug == "edited-in-ui (every 10s)" and state.has_parameters

    for command in ("pause", "resume"):  # through ferry: the parameters stay
        done = runner.invoke(app, ["recurring", command, "edited-in-ui"])
        assert done.exit_code == 0, done.output
        assert schedule_state(rec).active is (command == "resume") and schedule_state(rec).has_parameters
    _schedule_api(rec, {"active": False})  # through Prefect's API, as the UI's toggle does
    _schedule_api(rec, {"active": True})
    assert schedule_state(rec).has_parameters is False  # the case that broke every later round
    workers("w-edits")

    def completed_after(start, imported_at_least=0):
        def check():
            jobs = [j for j in _jobs(stack_env, recurring_id=rec.id) if j.state.value == "COMPLETE" and j.created_at >= start]
            return jobs if sum(_total(stack_env, j).imported for j in jobs) >= imported_at_least and jobs else None
        return check

    wait_until(completed_after(utcnow() - timedelta(minutes=5), imported_at_least=2), timeout=240, what="a round after a resume in Prefect", stack=stack)
    wait_until(lambda: schedule_state(rec).has_parameters, what="the round to put the parameters back", stack=stack)

    edited = utcnow()
    _schedule_api(rec, {"schedule": {"interval": 12.0, "timezone": "UTC"}})  # an edit in the UI
    assert schedule_state(rec).has_parameters is False
    _write_files(src, 2, 1)
    wait_until(completed_after(edited, imported_at_least=1), timeout=240, what="a round after an edit in Prefect", stack=stack)
    wait_until(lambda: schedule_state(rec).has_parameters, what="the parameters put back after the edit", stack=stack)
    rec = store.get(rec.id)
    assert rec.schedule == "interval: 12" and schedule_state(rec).slug == "edited-in-ui (every 12s)"
    assert sorted(p.name for p in dst.rglob("*.bin")) == [f"file-{i:03d}.bin" for i in range(3)]  # each file once

    rounds = _rounds_of(rec.deployment_id)
    ours = [r for r in rounds if r.state.is_completed() and r.name.startswith("edited-in-ui ")]
    assert ours and not [r for r in rounds if r.state.is_failed() and r.name.startswith("edited-in-ui")]
    assert runner.invoke(app, ["recurring", "cancel", "edited-in-ui"]).exit_code == 0


def test_two_workers_four_transfers_deliver_each_item_once(stack, stack_env, workers, tmp_path):
    from connectors.meta.sample import write_sample_archive
    from flows.limits import destination_limit_name, ensure_limit
    from flows.store import Ledger
    from flows.context import open_context
    from flows.requests import create_job

    archive = tmp_path / "facebook.zip"
    write_sample_archive(archive, photos=12, videos=1, posts=4, events=2, albums=2, size_mb=0.3, video_mb=0.05, seed=3)
    ensure_limit(destination_limit_name("folder"), 2)  # at most two pages imported into folders at once
    jobs = [create_job(open_context(), f"meta:{archive}", f"folder:{tmp_path / f'out-{n}'}", ["photos", "videos"], options={"meta": {"page_size": "4"}}) for n in range(4)]
    workers("w-a", "w-b")
    runs = [_run_deployment("transfer/transfer", {"job_id": job.id}) for job in jobs]
    # a second run of the same job at once: the job lease lets only one of them work on it
    duplicate = _run_deployment("transfer/transfer", {"job_id": jobs[0].id})

    def all_done():
        states = {j.id: j.state.value for j in _jobs(stack_env) if j.id in {x.id for x in jobs}}
        return all(s == "COMPLETE" for s in states.values()) and len(states) == 4

    wait_until(all_done, timeout=180, what="four transfers on two workers", stack=stack)
    wait_until(lambda: all(_flow_run_state(r.id).is_final() for r in runs + [duplicate]), what="flow runs final", stack=stack)
    ledger = Ledger(stack_env)
    for n, job in enumerate(jobs):
        entries = ledger.entries(job.id)
        media = [e for e in entries if e.kind in ("photo", "video") and e.outcome == "imported"]
        assert len(entries) == len({e.item_id for e in entries})  # one ledger row per item
        assert len(media) >= 12  # the sample's photos (it also carries deliberately broken entries)
        files = [p for p in (tmp_path / f"out-{n}").rglob("*") if p.is_file() and p.suffix.lower() in (".jpg", ".mp4")]
        assert len(files) == len(media)  # every delivered item written once, nothing twice
        row = _jobs(stack_env, id=job.id)[0]
        assert _total(stack_env, row).imported + _total(stack_env, row).failed == len(entries)
    # monitoring: the run report artifacts, and an item-failed event naming the job
    # (of the two runs of jobs[0], the one that lost the job lease ends Failed: look at any run
    # that completed a job with failed items)
    failing_ids = {job.id for job in jobs if _total(stack_env, job).failed}
    run = next(r for r in runs + [duplicate] if _flow_run_state(r.id).is_completed() and str(r.parameters["job_id"]) in failing_ids)
    failing = next(job for job in jobs if job.id == str(run.parameters["job_id"]))
    assert {f"transfer-{failing.id[:8]}", f"transfer-{failing.id[:8]}-report"} <= _artifact_keys(run.id)
    wait_until(
        lambda: any(e["resource"]["prefect.resource.id"] == f"ferry.job.{failing.id}" for e in _events(stack, "ferry.transfer.item-failed")),
        what="the item-failed event", stack=stack,
    )


def test_reauth_pauses_the_run_and_reconnect_resumes_it_without_duplicates(stack, stack_env, workers, tmp_path):
    from connectors.meta.sample import write_sample_archive
    from ferry.cli.auth import run_login
    from ferry.cli.reconnect import expiring_credentials, reconnect_one
    from ferry.servers.destination.app import create_app
    from ferry.servers.threaded import ThreadedServer
    from flows.settings import load_settings
    from flows.credentials import CredentialStore
    from flows.context import open_context
    from flows.requests import create_job
    from flows.store import CredentialStatus

    import httpx

    settings = load_settings()
    archive = tmp_path / "facebook.zip"
    write_sample_archive(archive, photos=10, videos=0, posts=0, events=0, albums=1, size_mb=0.2, seed=5)
    accepted = {"n": 0}
    holder = {}

    def validate(token: str):
        account = holder["app"].state.tokens.validate(token)
        if account is not None:
            accepted["n"] += 1
            if accepted["n"] == 5:  # the grant dies after a few items: 401 now, and refresh refused
                holder["app"].state.oauth.expire_access_tokens()
                holder["app"].state.oauth.fail_next_refresh("invalid_grant")
                return None
        return account

    holder["app"] = create_app(str(tmp_path / "dest"), validate_token=validate, redirect_uris=("http://127.0.0.1/callback",))

    def follow(url: str) -> None:
        httpx.get(url, follow_redirects=True, timeout=10)

    with ThreadedServer(holder["app"]) as server:
        info = run_login(settings, "generic", client_id="ferry", metadata_url=f"{server.url}/.well-known/oauth-authorization-server", open_url=follow)
        job = create_job(open_context(), f"meta:{archive}", f"generic:{server.url}/dtp", ["photos"], options={"meta": {"page_size": "3"}}, destination_credential_id=info.id)
        workers("w-auth")
        run = _run_deployment("transfer/transfer", {"job_id": job.id})

        wait_until(lambda: _flow_run_state(run.id).is_paused(), what="the run to be paused for re-authorization", stack=stack)
        stopped = _jobs(stack_env, id=job.id)[0]
        assert stopped.state.value == "NEEDS_REAUTH" and 0 < _total(stack_env, stopped).imported < 10
        credentials = CredentialStore.from_settings(settings)
        assert credentials.get(info.id).status == CredentialStatus.NEEDS_REAUTH
        wait_until(
            lambda: any(e["resource"]["prefect.resource.id"] == f"ferry.job.{job.id}" for e in _events(stack, "ferry.transfer.needs-reauth")),
            what="the needs-reauth event", stack=stack,
        )
        assert [c["id"] for c in expiring_credentials(stack_env, 30 * 86400)] == [info.id]

        resumed = reconnect_one(settings, info.id, open_url=follow)
        assert resumed == [(job.id, f"flow run {run.id} resumed")]
        wait_until(lambda: _jobs(stack_env, id=job.id)[0].state.value == "COMPLETE", what="the resumed run", stack=stack)
        wait_until(lambda: _flow_run_state(run.id).is_completed(), what="the flow run to complete", stack=stack)

        done = _jobs(stack_env, id=job.id)[0]
        done_total = _total(stack_env, done)
        assert done_total.imported >= 10 and done_total.failed == 0
        delivered = [r for r in holder["app"].state.importer.received if r.status and r.status < 300 and r.envelope]
        assert len(delivered) == len({r.envelope for r in delivered}) == done_total.imported  # each item once
        # the job was the credential's only user: revoked exactly once, and never again
        assert credentials.get(info.id).status == CredentialStatus.REVOKED
        revocations = sum(holder["app"].state.tokens.revocations.values())
        assert revocations == 2  # refresh token, then access token: one revocation
        assert credentials.revoke_if_unused(info.id) is False
        assert sum(holder["app"].state.tokens.revocations.values()) == revocations
