"""``ferry jobs list`` and ``ferry jobs show``."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from ._common import console, context, friendly_errors, human_bytes
from ._safe_text import safe
from ._tables import add_fixed, add_id, add_text, cell, endpoints, lines, new_table

jobs_app = typer.Typer(help="List, inspect and prune transfer jobs.", no_args_is_help=True)

STATE_STYLE = {"COMPLETE": "green", "FAILED": "red", "PAUSED": "yellow", "WAITING": "yellow", "NEEDS_REAUTH": "yellow", "RUNNING": "cyan", "CANCELED": "dim"}


def item_counts(total) -> object:
    """``12 imported`` / ``3 already there`` / ``1 failed``, one per line, zeros left out."""
    if total is None or not (total.imported or total.skipped or total.failed or total.in_doubt):
        return lines("0 imported")
    return lines(
        f"{total.imported} imported" if total.imported else None,
        f"{total.skipped} already there" if total.skipped else None,
        f"[red]{total.failed} failed[/]" if total.failed else None,
        f"[yellow]{total.in_doubt} in doubt[/]" if total.in_doubt else None,
    )


@jobs_app.command("list")
@friendly_errors
def list_jobs(
    limit: Annotated[int, typer.Option(help="How many of the newest jobs to show.")] = 20,
    state: Annotated[Optional[str], typer.Option(help="Only jobs in this state (e.g. FAILED).")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The newest jobs with their state and figures."""
    from flows.store import JobState

    ctx = context()
    states = None
    if state:
        try:
            states = [JobState(state.upper())]
        except ValueError:
            from ._common import fail

            fail(f"unknown state {state!r}; one of {', '.join(s.value for s in JobState)}")
    jobs = ctx.jobs.list(limit=limit, states=states)
    figures = ctx.ledger.figures_of([j.id for j in jobs])
    if as_json:
        rows = []
        for job in jobs:
            total = figures[job.id].total if job.id in figures else None
            counts = {"imported": total.imported, "skipped": total.skipped, "failed": total.failed, "bytes": total.bytes} if total else {"imported": 0, "skipped": 0, "failed": 0, "bytes": 0}
            rows.append({**job.model_dump(mode="json", exclude={"options"}), **counts})
        console.print_json(json.dumps(rows))
        return
    if not jobs:
        console.print("No jobs yet. Try `ferry demo`.")
        return
    table = new_table()
    add_id(table, "job")
    add_fixed(table, "state")
    add_text(table, "source → destination", min_width=16)
    add_fixed(table, "items")
    add_fixed(table, "bytes", justify="right")
    add_text(table, "updated (UTC)", min_width=10)
    for job in jobs:
        total = figures[job.id].total if job.id in figures else None
        table.add_row(
            job.id[:8],
            cell(job.state.value, STATE_STYLE.get(job.state.value, "")),
            endpoints(job.source, job.destination, job.types),
            item_counts(total),
            human_bytes(total.bytes if total else 0),
            f"{job.updated_at:%Y-%m-%d %H:%M}",
        )
    console.print(table)


@jobs_app.command("show")
@friendly_errors
def show_job(
    job: Annotated[str, typer.Argument(help="Job id or unique prefix.")],
    errors: Annotated[bool, typer.Option("--errors", help="List every failed item.")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """One job: endpoints, state and why, figures, per-type cursors and failed items."""
    ctx = context()
    found = ctx.jobs.get(job)
    limit = 100_000 if errors else 10
    failures = ctx.ledger.failures(found.id, limit=limit)
    problems = ctx.ledger.problems(found.id, limit=limit)
    cursors = ctx.ledger.cursors(found.id)
    total = ctx.ledger.figures(found.id).total
    if as_json:
        data = found.model_dump(mode="json", exclude={"options"})
        data.update(imported=total.imported, skipped=total.skipped, failed=total.failed, in_doubt=total.in_doubt, bytes=total.bytes)
        data["cursors"] = [{"vertical": c.vertical, "done": c.done, "pages": c.pages} for c in cursors]
        data["errors"] = [{"item_id": e.item_id, "item": e.item_name, "vertical": e.vertical, "message": e.error} for e in failures]
        data["problems"] = [{"subject": p.subject, "message": p.message, "kind": p.kind, "vertical": p.vertical} for p in problems]
        console.print_json(json.dumps(data))
        return
    console.print(f"[bold]Job {found.id}[/]")
    rows = [
        ("state", found.state.value + (f" — {found.state_reason}" if found.state_reason else "")),
        ("source", found.source),
        ("destination", found.destination),
        ("types", ", ".join(found.types)),
        ("recurring", found.recurring_id or "-"),
        ("credentials", ", ".join(filter(None, [found.source_credential_id, found.destination_credential_id])) or "-"),
        ("items", f"{total.imported} imported, {total.skipped} already there, {total.failed} failed"
         + (f", {total.in_doubt} in doubt (resume settles them)" if total.in_doubt else "")),
        ("bytes", human_bytes(total.bytes)),
        ("created", f"{found.created_at:%Y-%m-%d %H:%M:%S} UTC"),
        ("runner", found.lease_owner or "-"),
        ("flow run", found.flow_run_id or "-"),
    ]
    for key, value in rows:
        console.print(f"  {key:<12} {safe(value)}")
    if cursors:
        console.print("  progress     " + ", ".join(f"{c.vertical}: {'done' if c.done else f'{c.pages} page(s)'}" for c in cursors))
    if failures:
        table = new_table("Failed items" + ("" if errors else " (first 10; --errors for all)"))
        add_text(table, "item", ratio=2)
        add_fixed(table, "type")
        add_text(table, "error", ratio=3)
        for error in failures:
            table.add_row(cell(error.item_name or error.item_id), cell(error.vertical or ""), cell(error.error or "failed"))
        console.print(table)
    if problems:
        table = new_table("Not transferred from the source" + ("" if errors else " (first 10; --errors for all)"))
        add_text(table, "file or entry", ratio=2)
        add_text(table, "why", ratio=3)
        add_text(table, "kind", min_width=10)
        for problem in problems:
            table.add_row(cell(problem.subject), cell(problem.message), "unreadable" if problem.kind == "failed" else "not transferred")
        console.print(table)


@jobs_app.command("prune")
@friendly_errors
def prune_jobs_cmd(
    older_than: Annotated[str, typer.Option("--older-than", help="Age: jobs last changed longer ago than this go (30d, 12w, 6h, ...).")],
    include_stopped: Annotated[bool, typer.Option("--include-stopped", help="Also FAILED, PAUSED and NEEDS_REAUTH one-time jobs nobody runs (they can no longer be resumed).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would go.")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Forget old finished jobs: their rows, cursors, problems and (one-time jobs) ledger rows.

    Never a running or waiting job, nor a recurring transfer's ledger (`ferry recurring reset` forgets that).
    """
    from flows.recurring import parse_duration
    from flows.store import prune_jobs, utcnow

    ctx = context()
    cutoff = utcnow() - parse_duration(older_than)
    result = prune_jobs(ctx.engine, cutoff, include_stopped=include_stopped, dry_run=dry_run)
    if as_json:
        console.print_json(json.dumps({"dry_run": dry_run, "cutoff": cutoff.isoformat(), "jobs": [j.id for j in result.jobs], "ledger_rows": result.ledger_rows}))
        return
    verb = "Would prune" if dry_run else "Pruned"
    console.print(f"{verb} {len(result.jobs)} job(s) last changed before {cutoff:%Y-%m-%d %H:%M} UTC"
                  + (f", with {result.ledger_rows} ledger row(s) of one-time transfers" if result.ledger_rows else "") + ".")
    if dry_run and result.jobs:
        table = new_table()
        add_id(table, "job")
        add_fixed(table, "state")
        add_text(table, "source → destination", min_width=16)
        add_text(table, "updated (UTC)", min_width=10)
        for job in result.jobs:
            table.add_row(job.id[:8], job.state.value, endpoints(job.source, job.destination), f"{job.updated_at:%Y-%m-%d %H:%M}")
        console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(jobs_app, name="jobs")
