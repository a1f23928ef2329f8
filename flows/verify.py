"""``ferry verify JOB``: re-check every item a job delivered against the destination (rclone check)."""

from __future__ import annotations

from dataclasses import dataclass, field

from connectors.base import Checked, Delivered, Verdict

from .context import FerryContext
from .runtime import close_runtime, open_runtime

__all__ = ["VerifyReport", "verify_job"]


@dataclass
class VerifyReport:
    job_id: str
    present: int = 0
    unknown: int = 0
    problems: list[tuple[str, Checked]] = field(default_factory=list)  # (item name, what is wrong)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_job(ctx: FerryContext, job_id: str) -> VerifyReport:
    """Ask the job's destination about every item the ledger says this job delivered."""
    job = ctx.jobs.get(job_id)
    rows = ctx.ledger.delivered_entries(job.id)
    names = {row.item_id: row.item_name or row.item_id for row in rows}
    report = VerifyReport(job.id)
    runtime = open_runtime(ctx, job.id)
    try:
        delivered = [Delivered(r.item_id, r.kind, r.destination_id, r.bytes, r.checksum) for r in rows]
        for checked in runtime.importer.verify(delivered):
            if checked.verdict == Verdict.PRESENT:
                report.present += 1
            elif checked.verdict == Verdict.UNKNOWN:
                report.unknown += 1
            else:
                report.problems.append((names.get(checked.item_id, checked.item_id), checked))
    finally:
        close_runtime(job.id)
    return report
