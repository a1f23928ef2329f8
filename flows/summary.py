"""A job's run summary, counted from the ledger (the only source of counts)."""

from __future__ import annotations

from .context import FerryContext
from .pages import FailedItem, ProblemLine, RunSummary, VerticalFigures

__all__ = ["summarize", "MAX_LISTED"]

#: Failed items and problems carried in a summary (``ferry jobs show --errors`` lists all).
MAX_LISTED = 50


def summarize(ctx: FerryContext, job_id: str, *, limit: int = MAX_LISTED) -> RunSummary:
    """Secret-free summary of a job: state, figures per vertical, failed items and problems."""
    job = ctx.jobs.get(job_id)
    figures = ctx.ledger.figures(job.id)
    problems = ctx.ledger.count_problems(job.id)
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
    )
