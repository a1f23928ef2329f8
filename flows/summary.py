"""A job's run summary, counted from the ledger (the only source of counts)."""

from __future__ import annotations

from connectors.errors import FerryError

from .context import FerryContext
from .pages import CredentialLine, FailedItem, ProblemLine, RenamedItem, RunSummary, VerticalFigures
from .store import CredentialStatus, Job

__all__ = ["summarize", "MAX_LISTED"]

#: Failed items and problems carried in a summary (``ferry jobs show --errors`` lists all).
MAX_LISTED = 50


def summarize(ctx: FerryContext, job_id: str, *, limit: int = MAX_LISTED) -> RunSummary:
    """Secret-free summary of a job: state, figures per vertical, failed items and problems."""
    job = ctx.jobs.get(job_id)
    figures = ctx.ledger.figures(job.id)
    problems = ctx.ledger.count_problems(job.id)
    renamed_count, renamed = ctx.ledger.renamed(job.id, limit=limit)
    return RunSummary(
        job_id=job.id,
        recurring_id=job.recurring_id,
        source=job.source,
        destination=job.destination,
        state=job.state.value,
        reason=job.state_reason,
        imported=figures.total.imported,
        skipped=figures.total.skipped,
        failed=figures.total.failed,
        in_doubt=figures.total.in_doubt,
        bytes=figures.total.bytes,
        unreadable=problems.get("failed", 0),
        not_transferred=problems.get("not-transferred", 0),
        per_vertical={
            vertical: VerticalFigures(imported=f.imported, skipped=f.skipped, failed=f.failed, in_doubt=f.in_doubt, bytes=f.bytes)
            for vertical, f in figures.per_vertical.items()
        },
        errors=[
            FailedItem(item_id=row.item_id, item=row.item_name, vertical=row.vertical, message=row.error or "failed")
            for row in ctx.ledger.failures(job.id, limit=limit)
        ],
        problems=[
            ProblemLine(subject=row.subject, message=row.message, kind=row.kind, vertical=row.vertical)
            for row in ctx.ledger.problems(job.id, limit=limit)
        ],
        credentials_to_fix=_credentials_to_fix(ctx, job),
        renamed=[RenamedItem(item=row.item_name, kind=row.kind, vertical=row.vertical, destination=row.destination_id or "") for row in renamed],
        renamed_count=renamed_count,
    )


def _credentials_to_fix(ctx: FerryContext, job: Job) -> list[CredentialLine]:
    """The job's credentials that are dead (NEEDS_REAUTH, REVOKED) while the job is unfinished."""
    if job.state.is_final:
        return []
    found = []
    for credential_id in filter(None, (job.source_credential_id, job.destination_credential_id)):
        try:
            info = ctx.credentials.get(credential_id)
        except FerryError:
            continue  # deleted meanwhile: the run's reason says what happened
        if info.status != CredentialStatus.ACTIVE:
            found.append(CredentialLine(id=info.id, connector=info.connector, status=info.status.value, reason=info.status_reason))
    return found
