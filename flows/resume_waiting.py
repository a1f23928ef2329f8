"""The ``resume-waiting`` flow: the polling fallback for sources that prepare data asynchronously.

Scheduled every few minutes by prefect.yaml; each run resumes the waiting transfers whose
``wake_at`` has passed (see flows.wakeups). Kept apart from flows.wakeups so the webhook
receiver can import that module without importing Prefect.
"""

from __future__ import annotations

from prefect import flow

from .context import open_context
from .wakeups import wake_due_jobs


@flow(name="resume-waiting", log_prints=False)
def resume_waiting() -> list[str]:
    """Resume every transfer whose source should have its data ready by now; returns job ids."""
    return wake_due_jobs(open_context())  # this flow run is the entry point: its context, built once
