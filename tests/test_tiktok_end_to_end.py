"""TikTok (fake Data Portability service) through the real transfer flow, end to end.

* into an fsspec folder: the request is prepared asynchronously, the job waits PAUSED without
  holding a process, and polling (`ferry wake`'s code path) or the webhook resumes it;
* into the Generic Importer reference server, with OAuth credentials on both sides;
* a recurring transfer of an unchanged account imports nothing the second time.
"""

from __future__ import annotations

import functools

import time

from connectors.oauth import build_client_config, discover
from ferry.servers.destination.app import create_app
from ferry.servers.threaded import ThreadedServer
from ferry.servers.destination.tokens import TokenRegistry
from flows.settings import load_settings
from flows.credentials import CredentialStore
from flows.store import JobState, JobStore, get_engine
from flows.context import open_context
from flows.requests import create_job
from tests.engine_support import run_flow
from flows.recurring import create_recurring
from flows.wakeups import wake_due_jobs
from ferry.servers.tiktok_webhooks import create_webhook_app
from tests.fakes.tiktok import FakeTikTok
from tests.tiktok_support import ferry_home, files_under, tiktok_credential, tiktok_options  # noqa: F401 (fixture)


def test_tiktok_to_folder_waits_durably_then_completes_by_polling(ferry_home, prefect_api, no_flow_heartbeat):
    out = ferry_home / "out"
    with FakeTikTok() as fake:
        credential = tiktok_credential(fake)
        job = create_job(open_context(), "tiktok:", f"folder:{out}", ["videos", "posts", "blobs"], options=tiktok_options(fake), source_credential_id=credential)
        first = run_flow(job.id)
        assert first.state == "WAITING"
        assert fake.adds() == 1
        # nothing ready yet: waking only checks again and stays paused, asking no second time
        assert wake_due_jobs(open_context(), via_deployment=False) == [job.id]
        store = JobStore(get_engine(load_settings().resolved_database_url))
        assert store.get(job.id).state == JobState.WAITING and fake.adds() == 1
        (request_id,) = fake.requests
        fake.advance(request_id, "downloading", deliver=False)
        assert wake_due_jobs(open_context(), via_deployment=False) == [job.id]
        done = store.get(job.id)
        assert done.state == JobState.COMPLETE, done.state_reason
        figures = open_context().ledger.figures(job.id).total
        assert figures.imported > 0 and figures.failed == 0
        names = files_under(out)
        assert any(name.startswith("posts/") for name in names)
        assert any(name.endswith(".mp4") for name in names)
        assert any(name.startswith("files/TikTok/") for name in names)
        # the .single credential served its one transfer: revoked, and nothing secret was written
        assert CredentialStore.from_settings(load_settings()).get(credential).status.value == "REVOKED"
        for path in out.rglob("*"):
            if path.is_file() and path.suffix in (".json", ".ics"):
                text = path.read_text("utf-8")
                assert fake.client_secret not in text


def test_tiktok_webhook_resumes_the_waiting_transfer(ferry_home, prefect_api, no_flow_heartbeat):
    from flows.wakeups import on_source_ready

    out = ferry_home / "out"
    with FakeTikTok() as fake:
        hook = create_webhook_app(on_ready=functools.partial(on_source_ready, ctx=open_context()), client_secrets={fake.client_key: fake.client_secret})
        with ThreadedServer(hook) as receiver:
            fake.webhook_url = f"{receiver.url}/webhooks/tiktok"
            credential = tiktok_credential(fake)
            job = create_job(open_context(), "tiktok:", f"folder:{out}", ["videos"], options=tiktok_options(fake, webhook="true", max_poll_interval="3600"), source_credential_id=credential)
            assert run_flow(job.id).state == "WAITING"
            (request_id,) = fake.requests
            fake.advance(request_id, "downloading")  # delivers the signed webhook
            store = JobStore(get_engine(load_settings().resolved_database_url))
            deadline = time.monotonic() + 240
            while store.get(job.id).state != JobState.COMPLETE and time.monotonic() < deadline:
                time.sleep(0.2)
            assert store.get(job.id).state == JobState.COMPLETE, store.get(job.id).state_reason
            assert any(name.endswith(".mp4") for name in files_under(out))


def test_tiktok_to_generic_importer_and_recurring_second_run_imports_nothing(ferry_home, prefect_api, no_flow_heartbeat):
    storage = ferry_home / "destination-store"
    registry = TokenRegistry()
    app = create_app(str(storage), registry=registry, client_id="ferry", client_secret="dest-secret")
    with FakeTikTok() as fake, ThreadedServer(app) as destination:
        scopes = ("portability.all.ongoing",)
        source_credential = tiktok_credential(fake, scopes)
        issued = registry.issue("alice", client_id="ferry")
        client = build_client_config(client_id="ferry", client_secret="dest-secret", metadata=discover(destination.url))
        dest_credential = CredentialStore.from_settings(load_settings()).create("generic", {**issued, "token_type": "Bearer"}, client).id
        options = tiktok_options(fake, ongoing="true")
        recurring = create_recurring("tiktok-weekly", "tiktok:", f"generic:{destination.url}/dtp", ["videos", "posts"], options=options, ctx=open_context(),
                                     source_credential_id=source_credential, destination_credential_id=dest_credential, schedule="every 7d")
        runs = []
        for run in range(2):
            job = create_job(open_context(), recurring.source, recurring.destination, recurring.types, options=recurring.options,
                             source_credential_id=source_credential, destination_credential_id=dest_credential, recurring_id=recurring.id)
            assert run_flow(job.id).state == "WAITING"
            request_id = max(fake.requests)
            fake.advance(request_id, "downloading", deliver=False)
            wake_due_jobs(open_context(), via_deployment=False)
            runs.append(JobStore(get_engine(load_settings().resolved_database_url)).get(job.id))
        first, second = runs
        assert first.state == second.state == JobState.COMPLETE, (first.state_reason, second.state_reason)
        ledger = open_context().ledger
        assert ledger.figures(first.id).total.imported > 0 and ledger.figures(first.id).total.failed == 0
        assert ledger.figures(second.id).total.imported == 0, "an unchanged account must import nothing the second time"
        assert fake.adds() == 2  # an .ongoing grant asks for fresh data each run
        stored = [p for p in storage.rglob("*") if p.is_file()]
        videos = [r for r in app.state.importer.received if r.payload_type == "Video" and r.status in (200, 201)]
        assert videos and all(r.file_size for r in videos), "video bytes reach the destination as multipart"
        # the recurring id travelled as X-DTP-Recurring-Job-Id; no token was stored by the destination
        blob = "\n".join(p.read_text("utf-8", "ignore") for p in stored if p.suffix == ".json")
        assert issued["access_token"] not in blob and fake.client_secret not in blob
        received = destination_requests(app)
        assert {r.get("x-dtp-recurring-job-id") for r in received if r.get("x-dtp-recurring-job-id")} == {recurring.id}


def destination_requests(app) -> list[dict]:
    """Headers of every request the reference destination received, lower-cased names."""
    return [{k.lower(): v for k, v in dict(r.headers).items()} for r in app.state.importer.received]
