"""NEEDS_REAUTH: stop every transfer using a dead credential, and resume them after a re-login.

Life cycle (Meta's managed-accounts rule: a dead token pauses, it does not fail):

1. A refresh fails for good (``ReauthRequired``), in a transfer or in the daily
   ``credential-maintenance`` flow. The credential store records why on the credential and on
   every unfinished, not-running job using it (state NEEDS_REAUTH); :func:`credential_died`
   also emits ``ferry.credential.reauth-needed`` for Automations.
2. A transfer that hit it ends its page cleanly (cursor saved) and, when it runs from a Prefect
   deployment, :func:`suspend_for_reauth` suspends its flow run: the run shows as Paused
   ("Suspended") in the UI, not Failed, and frees its worker.
3. After ``ferry reconnect`` (or ``ferry auth login --replace``) replaced the tokens in place,
   :func:`resume_after_reauth` resumes those flow runs (Prefect re-runs the flow from the top; the
   flow finds its job through the flow run id and carries on from the saved cursors, and the
   ledger makes the redone page deliver nothing twice). Jobs run from the CLI are set to PAUSED
   with a ``ferry resume`` hint.
"""

from __future__ import annotations

from . import events
from .store import IllegalTransition, JobState, JobStore

__all__ = ["SUSPEND_TIMEOUT", "credential_died", "suspend_for_reauth", "resume_after_reauth"]

#: How long a suspended run waits for a re-login before Prefect fails it (30 days).
SUSPEND_TIMEOUT = 30 * 24 * 3600


def credential_died(credentials, credential_id: str, reason: str) -> list[str]:
    """Record a dead credential (and its unfinished, not-running jobs) and emit the event.

    ``credentials`` is a :class:`flows.credentials.CredentialStore`; running jobs are left to
    stop themselves at their next token use (they save their cursor first). Returns the ids of
    the jobs moved to NEEDS_REAUTH. Idempotent.
    """
    changed = credentials.mark_needs_reauth(credential_id, reason)
    events.emit(events.CREDENTIAL_REAUTH_NEEDED, events.credential_resource(credential_id), {"reason": reason, "jobs": changed})
    return changed


def suspend_for_reauth(summary, credential_ids: list[str]):
    """Emit the needs-reauth event and, in a deployment run, suspend the flow run.

    Outside a deployment (a CLI run) the summary is returned and the caller exits with
    "paused". In a deployment run this raises Prefect's pause signal and the process ends; the
    run is resumed by :func:`resume_after_reauth`.
    """
    related = [events.credential_resource(c, role="credential") for c in credential_ids]
    events.emit(events.JOB_NEEDS_REAUTH, events.job_resource(summary.job_id), {"reason": summary.reason, "credential_ids": credential_ids}, related)
    try:
        from prefect.context import FlowRunContext

        ctx = FlowRunContext.get()
    except Exception:
        ctx = None
    if ctx is None or ctx.flow_run is None or ctx.flow_run.deployment_id is None:
        return summary
    from prefect.flow_runs import suspend_flow_run

    suspend_flow_run(timeout=SUSPEND_TIMEOUT, key=f"reauth-{summary.job_id}")
    return summary  # pragma: no cover - suspend_flow_run raises to end the process


def resume_after_reauth(engine, credential_id: str) -> list[tuple[str, str]]:
    """After new tokens are stored: resume suspended runs, mark CLI jobs resumable.

    Returns ``(job id, what was done)`` pairs for the CLI to print.
    """
    from prefect.client.orchestration import get_client

    done: list[tuple[str, str]] = []
    store = JobStore(engine)
    jobs = [j for j in store.using_credential(credential_id) if j.state == JobState.NEEDS_REAUTH]
    with get_client(sync_client=True) as client:
        for job in jobs:
            resumed = False
            if job.flow_run_id:
                try:
                    run = client.read_flow_run(job.flow_run_id)
                    if run.state is not None and run.state.is_paused():
                        client.resume_flow_run(run.id)
                        resumed = True
                except Exception:
                    resumed = False
            if resumed:
                done.append((job.id, f"flow run {job.flow_run_id} resumed"))
                continue
            try:
                store.transition(job.id, JobState.PAUSED, "re-authorized; continue with `ferry resume`", only_from=[JobState.NEEDS_REAUTH])
            except IllegalTransition:
                continue
            done.append((job.id, "ready: " + ("the next scheduled run continues it" if job.recurring_id else f"`ferry resume {job.id[:8]}`")))
    events.emit(events.CREDENTIAL_REAUTHORIZED, events.credential_resource(credential_id), {"jobs": [j for j, _ in done]})
    return done
