"""``ferry verify JOB``: re-check every item a job delivered against the destination (rclone check)."""

from __future__ import annotations

from dataclasses import dataclass, field

from connectors.base import Checked, Delivered, Verdict
from connectors.errors import ConfigError, RetryableError

from .context import FerryContext
from .requests import check_credential
from .store import CredentialStatus
from .store.credential_rows import credential_row
from .store.tables import checksum_of
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


def verify_job(ctx: FerryContext, job_id: str, *, destination_credential_id: str | None = None) -> VerifyReport:
    """Ask the job's destination about every item the ledger says this job delivered.

    Args:
        destination_credential_id: a credential to ask the destination with instead of the
            job's own, which a finished one-off job has revoked (ConfigError when it does not
            fit the destination or is dead).
    """
    job = ctx.jobs.get(job_id)
    rows = ctx.ledger.delivered_entries(job.id)
    names = {row.item_id: row.item_name or row.item_id for row in rows}
    report = VerifyReport(job.id)
    runtime = open_runtime(ctx, job.id)
    try:
        if destination_credential_id:
            chosen = check_credential(ctx.engine, runtime.destination, destination_credential_id, "destination")
            runtime.job = runtime.job.model_copy(update={"destination_credential_id": chosen})  # this check only
        elif job.destination_credential_id:
            _check_not_revoked(ctx, job.destination_credential_id, runtime.destination.connector.name)
        pending = [Delivered(r.item_id, r.kind, r.destination_id, r.bytes, checksum_of(r), scope=job.ledger_scope) for r in rows]
        attempt = 1
        while pending:  # a destination that is busy (429, 5xx) is asked again about what is left
            done: set[str] = set()
            try:
                for checked in runtime.importer.verify(pending):
                    done.add(checked.item_id)
                    if checked.verdict == Verdict.PRESENT:
                        report.present += 1
                    elif checked.verdict == Verdict.UNKNOWN:
                        report.unknown += 1
                    else:
                        report.problems.append((names.get(checked.item_id, checked.item_id), checked))
                pending = []
            except RetryableError as exc:
                pending = [entry for entry in pending if entry.item_id not in done]
                runtime.budget.wait(attempt, f"verifying: {exc}", exc.retry_after)
                attempt += exc.retry_after is None
    finally:
        close_runtime(job.id)
    return report


def _check_not_revoked(ctx: FerryContext, credential_id: str, connector: str) -> None:
    row = credential_row(ctx.engine, credential_id)
    if row is not None and row.status in (CredentialStatus.REVOKED, CredentialStatus.REVOKING):
        raise ConfigError(
            f"the job's destination credential {row.id[:8]} was revoked when the job finished; authorize again "
            f"(`ferry auth login {connector} ...`) and pass the new credential with --destination-credential"
        )
