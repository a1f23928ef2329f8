"""NEEDS_REAUTH: stop every transfer using a dead credential, and resume them after a re-login.

Life cycle (Meta's managed-accounts rule: a dead token pauses, it does not fail):

1. A refresh fails for good (``ReauthRequired``), in a transfer or in the daily
   ``credential-maintenance`` flow; or the user's access ended at a known time
   (:mod:`flows.expiry`); or the provider says the user removed the authorization
   (:func:`on_authorization_removed`, TikTok's ``authorization.removed``). The credential store records why on the credential and on
   every unfinished, not-running job using it (state NEEDS_REAUTH); :func:`credential_died`
   also emits ``ferry.credential.reauth-needed`` for Automations.
2. A transfer that hit it ends its page cleanly (cursor saved) and, when it runs from a Prefect
   deployment, :func:`suspend_for_reauth` suspends its flow run: the run shows as Paused
   ("Suspended") in the UI, not Failed, and frees its worker.
3. After ``ferry reconnect`` (:func:`flows.login.reconnect`) replaced the tokens in place,
   :func:`resume_after_reauth` resumes those flow runs (Prefect re-runs the flow from the top; the
   flow finds its job through the flow run id and carries on from the saved cursors, and the
   ledger makes the redone page deliver nothing twice). Jobs run from the CLI are set to PAUSED
   with a ``ferry resume`` hint.
"""

from __future__ import annotations

import logging
from uuid import UUID

from . import events
from .store import IllegalTransition, JobState, JobStore

__all__ = [
    "SUSPEND_TIMEOUT",
    "authorization_removed",
    "on_authorization_removed",
    "credential_died",
    "reconnect_hint",
    "resume_after_reauth",
    "suspend_for_reauth",
    "with_reconnect_hint",
]

log = logging.getLogger(__name__)

#: How long a suspended run waits for a re-login before Prefect fails it (30 days).
SUSPEND_TIMEOUT = 30 * 24 * 3600


def reconnect_hint(credential_id: str) -> str:
    """The one command that re-authorizes a credential in place (its transfers then resume)."""
    return f"run `ferry reconnect {credential_id[:8]}`"


def with_reconnect_hint(message: str, credential_ids) -> str:
    """``message`` ending with the command that fixes it, unless it already names one.

    The one place re-authorization messages get their fix: connectors say what the provider
    refused (they do not know the credential id), the engine adds which credential to reconnect.
    """
    ids = [c for c in credential_ids if c]
    if not ids or "ferry reconnect" in message or "ferry auth login" in message:
        return message
    if len(ids) == 1:
        return f"{message}; {reconnect_hint(ids[0])}"
    return f"{message}; run `ferry reconnect " + " ".join(c[:8] for c in ids) + "`"


def credential_died(credentials, credential_id: str, reason: str) -> list[str]:
    """Record a dead credential (and its unfinished, not-running jobs) and emit the event.

    ``credentials`` is a :class:`flows.credentials.CredentialStore`; running jobs are left to
    stop themselves at their next token use (they save their cursor first). Returns the ids of
    the jobs moved to NEEDS_REAUTH. Idempotent.
    """
    moved = credentials.rows.needs_reauth(credential_id, reason)
    if moved is None:  # already dead (or re-authorized meanwhile): nothing to tell again
        return []
    cid = credentials.get(credential_id).id
    log.warning("credential %s needs a new authorization (%s); jobs moved: %s", cid, reason, ", ".join(moved) or "none")
    events.emit(events.CREDENTIAL_REAUTH_NEEDED, events.credential_resource(cid), {"reason": reason, "jobs": moved})
    return moved


def authorization_removed(credentials, account: str, *, connector: str | None = None, client_id: str | None = None, why: str = "") -> list[str]:
    """The provider says user ``account`` removed ferry's authorization: their credentials are dead.

    Each live credential of that user (issued to ``client_id``, when given) becomes NEEDS_REAUTH
    with the reason, its waiting jobs too (:func:`credential_died`); running ones stop at their
    next call. Returns the credential ids. Idempotent (a redelivery changes nothing).
    """
    reason = "the user removed ferry's authorization at the provider" + (f" ({why})" if why else "")
    found = credentials.rows.of_account(account, connector=connector, client_id=client_id)
    for row in found:
        credential_died(credentials, row.id, reason)
    return [row.id for row in found]


def on_authorization_removed(account: str, payload: dict, *, connector: str | None = None, credentials=None) -> list[str]:
    """Webhook hook (``ferry serve-webhooks``): the user removed ferry's authorization at the provider.

    ``payload`` may name the app (``client_key``: only credentials issued to it) and the
    provider's ``reason`` code. Returns the credential ids marked dead.
    """
    if not account:
        log.warning("authorization.removed without a user id; ignored")
        return []
    if credentials is None:
        from .context import open_context

        credentials = open_context().credentials
    why = f"{payload.get('event') or 'authorization removed'}, reason {payload['reason']}" if payload.get("reason") is not None else str(payload.get("event") or "")
    found = authorization_removed(credentials, account, connector=connector, client_id=payload.get("client_key"), why=why)
    if not found:
        log.warning("the provider says user %s removed ferry's authorization, but no live credential belongs to them", account)
    return found


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
                    run = client.read_flow_run(UUID(job.flow_run_id))
                    # only a deployment run is suspended waiting (suspend_for_reauth); a CLI run
                    # that ended Paused has finished, and resuming it would run nothing
                    if run.deployment_id is not None and run.state is not None and run.state.is_paused():
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
