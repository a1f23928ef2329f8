"""Run reports for operators: a Prefect table/markdown artifact per run (no secrets)."""

from __future__ import annotations

from .pages import RunSummary

__all__ = ["publish_run_report"]


def _cell(text: object) -> str:
    """A markdown table cell: names come from the source and must not break the table."""
    return str(text or "").replace("|", "\\|").replace("\n", " ")


def publish_run_report(summary: RunSummary) -> None:
    """Publish the run's figures as Prefect artifacts; silently skipped outside a flow run."""
    try:
        from prefect.artifacts import create_markdown_artifact, create_table_artifact
        from prefect.context import FlowRunContext
    except ImportError:  # pragma: no cover
        return
    if FlowRunContext.get() is None:
        return
    rows = [{"vertical": vertical, **figures.model_dump()} for vertical, figures in sorted(summary.per_vertical.items())]
    total = summary.imported + summary.skipped + summary.failed
    failure_rate = summary.failed / total if total else 0.0
    key = f"transfer-{summary.job_id[:8]}"
    create_table_artifact(rows or [{"vertical": "-", "imported": 0}], key=key, description=f"Items per vertical, job {summary.job_id}")
    lines = [
        f"# Transfer {summary.job_id}",
        f"State: **{summary.state}**" + (f" - {_cell(summary.reason)}" if summary.reason else ""),
        f"Imported {summary.imported}, already there {summary.skipped}, failed {summary.failed}, "
        f"{summary.bytes:,} bytes; failure rate {failure_rate:.2%}",
    ]
    if summary.errors:
        lines += ["", "| item id | item | error |", "|---|---|---|"]
        lines += [f"| `{e.item_id}` | {_cell(e.item)} | {_cell(e.message)} |" for e in summary.errors[:50]]
    if summary.problems:
        lines += ["", "| not transferred | why |", "|---|---|"]
        lines += [f"| {_cell(p.subject)} | {_cell(p.message)} |" for p in summary.problems[:50]]
    create_markdown_artifact("\n".join(lines), key=f"{key}-report", description="Transfer report")
