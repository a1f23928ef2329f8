"""Prefect events ferry emits, so operators can build Automations (alerts, re-runs) on them.

Event names and resource ids are a public contract (docs/operators.md lists them):

* ``ferry.transfer.item-failed`` on ``ferry.job.<job id>``: items of a run failed for good.
  One event per run and vertical (not per item: a run with 10,000 bad items must not flood the
  event bus); the payload carries the count and the first failed item ids.
* ``ferry.transfer.failed`` on ``ferry.job.<job id>``: a run stopped FAILED (resumable); the
  payload carries the reason and figures.
* ``ferry.transfer.needs-reauth`` on ``ferry.job.<job id>``: a run stopped because a credential
  is dead; related resource ``ferry.credential.<id>``.
* ``ferry.credential.reauth-needed`` on ``ferry.credential.<id>``: a refresh failed for good.
* ``ferry.credential.reauthorized`` on ``ferry.credential.<id>``: new tokens are in place.
* ``ferry.credential.expiring`` on ``ferry.credential.<id>``: the user's access ends at a known
  time, sent once per reminder threshold (30, 7 and 1 days before by default); the payload has
  ``expires_at``, ``days_before``, ``source``, ``connector``, ``account``, ``label`` and the
  ``reconnect`` command (:mod:`flows.expiry`).

Payloads never hold tokens. Emitting is best effort: a run must not fail because the event bus
is unreachable, so errors are swallowed (Prefect logs them itself).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "ITEM_FAILED",
    "JOB_FAILED",
    "emit_job_failed",
    "JOB_NEEDS_REAUTH",
    "CREDENTIAL_REAUTH_NEEDED",
    "CREDENTIAL_REAUTHORIZED",
    "CREDENTIAL_EXPIRING",
    "job_resource",
    "credential_resource",
    "emit",
    "emit_item_failures",
]

ITEM_FAILED = "ferry.transfer.item-failed"
JOB_FAILED = "ferry.transfer.failed"
JOB_NEEDS_REAUTH = "ferry.transfer.needs-reauth"
CREDENTIAL_REAUTH_NEEDED = "ferry.credential.reauth-needed"
CREDENTIAL_REAUTHORIZED = "ferry.credential.reauthorized"
CREDENTIAL_EXPIRING = "ferry.credential.expiring"

#: Item ids carried in one item-failed event (the run report artifact has the full list).
MAX_IDS_PER_EVENT = 50


def job_resource(job_id: str, **labels: str) -> dict[str, str]:
    return {"prefect.resource.id": f"ferry.job.{job_id}", "prefect.resource.role": "job", **labels}


def credential_resource(credential_id: str, role: str = "credential") -> dict[str, str]:
    return {"prefect.resource.id": f"ferry.credential.{credential_id}", "prefect.resource.role": role}


def emit(event: str, resource: Mapping[str, str], payload: Mapping[str, Any] | None = None, related: Iterable[Mapping[str, str]] = ()) -> bool:
    """Emit one Prefect event; returns False (and carries on) if it could not be sent.

    Without a Prefect API (no ``PREFECT_API_URL`` and not inside a flow run) nothing is sent:
    Prefect would otherwise start a temporary local server just to receive the event.
    """
    try:
        from prefect.context import FlowRunContext
        from prefect.settings import PREFECT_API_URL

        if not PREFECT_API_URL.value() and FlowRunContext.get() is None:
            return False
        from prefect.events import emit_event

        sent = emit_event(event=event, resource=dict(resource), payload=dict(payload or {}), related=[dict(r) for r in related])
    except Exception:  # best effort: monitoring never breaks a transfer
        return False
    return sent is not None


def _labels(summary) -> dict[str, str]:
    return {"ferry.source": str(summary.source), "ferry.destination": str(summary.destination)}


def _related(summary) -> list[dict[str, str]]:
    if not summary.recurring_id:
        return []
    return [{"prefect.resource.id": f"ferry.recurring.{summary.recurring_id}", "prefect.resource.role": "recurring-transfer"}]


def emit_job_failed(summary) -> bool:
    """Emit ``ferry.transfer.failed`` for a run that stopped FAILED (``summary``: a RunSummary)."""
    payload = {"reason": summary.reason, "imported": summary.imported, "failed": summary.failed}
    return emit(JOB_FAILED, job_resource(summary.job_id, **_labels(summary)), payload, _related(summary))


def emit_item_failures(summary) -> int:
    """Emit ``ferry.transfer.item-failed`` per vertical with failures (``summary``: a RunSummary).

    Returns the number of events sent.
    """
    by_vertical: dict[str, list[str]] = {}
    for error in summary.errors:
        by_vertical.setdefault(error.vertical or "-", []).append(error.item_id)
    sent = 0
    for vertical, figures in sorted(summary.per_vertical.items()):
        if not figures.failed:
            continue
        ids = by_vertical.get(vertical, [])[:MAX_IDS_PER_EVENT]
        resource = job_resource(summary.job_id, **_labels(summary), **{"ferry.vertical": vertical})
        sent += emit(ITEM_FAILED, resource, {"failed": figures.failed, "item_ids": ids, "vertical": vertical}, _related(summary))
    return sent
