"""A full transfer with OAuth on the destination leaves no token or client secret anywhere visible.

Looked at: every log record of the run (ferry's and Prefect's, captured at DEBUG), the flow
run's parameters, every task run, every artifact and every log line stored by the Prefect API,
the flow's returned summary, the destination's stored files, and the job store on disk (tokens
are encrypted at rest). Access tokens live one second, so the run refreshes and rotates tokens
mid-transfer and the rotated ones are checked too.
"""

from __future__ import annotations

import logging
import time


from connectors.meta.sample import write_sample_archive
from connectors.oauth import build_client_config, discover
from ferry.servers.destination.app import create_app
from ferry.servers.threaded import ThreadedServer
from ferry.servers.destination.tokens import TokenRegistry
from flows.settings import load_settings
from flows.credentials import CredentialStore
from flows.context import open_context
from flows.requests import create_job
from flows.transfer import transfer

CLIENT_SECRET = "dest-client-secret-7f1c9e"


def prefect_records(flow_run_id: str) -> str:
    """Everything the Prefect API stored about the run, as one JSON string."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, FlowRunFilter, FlowRunFilterId, LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogHandler

    APILogHandler().flush()
    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(flow_run_id)
        deadline = time.monotonic() + 15
        task_runs = []
        while time.monotonic() < deadline:  # the task-run recorder flushes in batches
            task_runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
            if len(task_runs) >= 4:
                break
            time.sleep(0.5)
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])))
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
    assert task_runs, "the task runs were recorded"
    assert artifacts, "the run published its report"
    parts = [flow_run.model_dump_json()] + [t.model_dump_json() for t in task_runs]
    parts += [a.model_dump_json() for a in artifacts] + [log.model_dump_json() for log in logs]
    return "\n".join(parts)


def test_transfer_with_oauth_leaks_no_secret(tmp_path, monkeypatch, caplog, prefect_api, no_flow_heartbeat):
    monkeypatch.setenv("FERRY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FERRY_PAGE_SIZE", "3")
    archive = tmp_path / "facebook-x.zip"
    write_sample_archive(archive, photos=8, videos=1, posts=4, events=2, albums=2, size_mb=0.5, seed=3)
    registry = TokenRegistry(access_lifetime=1.0)
    app = create_app(str(tmp_path / "dest"), registry=registry, client_id="ferry", client_secret=CLIENT_SECRET)
    with ThreadedServer(app) as destination, caplog.at_level(logging.DEBUG):
        issued = registry.issue("alice", client_id="ferry")
        client = build_client_config(client_id="ferry", client_secret=CLIENT_SECRET, metadata=discover(destination.url))
        store = CredentialStore.from_settings(load_settings())
        credential = store.create("generic", {**issued, "token_type": "Bearer"}, client).id
        job = create_job(open_context(), f"meta:{archive}", f"generic:{destination.url}/dtp", [], destination_credential_id=credential)
        time.sleep(1.1)  # the first access token has expired: the run must refresh (and rotate)
        summary = transfer(job_id=job.id)
        assert summary.state == "COMPLETE", summary.reason
        assert summary.imported > 10
        assert store.get(credential).status.value == "REVOKED"  # unused after the transfer

    # the rotated tokens are the ones revoked at the end (refresh then access, once each)
    revoked = set(registry.revocations)
    assert all(count == 1 for count in registry.revocations.values())
    secrets = {CLIENT_SECRET, issued["access_token"], issued["refresh_token"], *revoked}
    assert len(secrets) >= 5 and issued["refresh_token"] not in revoked, "tokens were rotated during the run"

    seen = {
        "log records": "\n".join(f"{r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records),
        "summary": summary.model_dump_json(),
        "prefect": prefect_records(summary_flow_run(job.id)),
        "destination files": "\n".join(p.read_bytes().decode("utf-8", "ignore") for p in (tmp_path / "dest").rglob("*") if p.is_file()),
        "job store": (tmp_path / "data" / "ferry.db").read_bytes().decode("latin-1"),
    }
    for where, text in seen.items():
        for secret in secrets:
            assert secret not in text, f"a secret leaked into the {where}"


def summary_flow_run(job_id: str) -> str:
    return open_context().jobs.get(job_id).flow_run_id
