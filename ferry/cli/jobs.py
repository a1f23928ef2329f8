"""``ferry jobs list`` and ``ferry jobs show``."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer
from rich.table import Table

from ._common import console, friendly_errors, human_bytes, load

jobs_app = typer.Typer(help="List and inspect transfer jobs.", no_args_is_help=True)

STATE_STYLE = {"COMPLETE": "green", "FAILED": "red", "PAUSED": "yellow", "NEEDS_REAUTH": "yellow", "RUNNING": "cyan", "CANCELED": "dim"}


def _store():
    settings = load()
    from flows.store import JobStore, Ledger, get_engine

    engine = get_engine(settings.resolved_database_url)
    return JobStore(engine), Ledger(engine)


@jobs_app.command("list")
@friendly_errors
def list_jobs(
    limit: Annotated[int, typer.Option(help="How many of the newest jobs to show.")] = 20,
    state: Annotated[Optional[str], typer.Option(help="Only jobs in this state (e.g. FAILED).")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The newest jobs with their state and figures."""
    from flows.store import JobState

    store, _ = _store()
    states = None
    if state:
        try:
            states = [JobState(state.upper())]
        except ValueError:
            from ._common import fail

            fail(f"unknown state {state!r}; one of {', '.join(s.value for s in JobState)}")
    jobs = store.list(limit=limit, states=states)
    if as_json:
        console.print_json(json.dumps([j.model_dump(mode="json", exclude={"options"}) for j in jobs]))
        return
    if not jobs:
        console.print("No jobs yet. Try `ferry demo`.")
        return
    table = Table()
    for column in ("job", "state", "source", "destination", "types", "imported", "skipped", "failed", "bytes", "updated (UTC)"):
        table.add_column(column, overflow="fold")
    for job in jobs:
        style = STATE_STYLE.get(job.state.value, "")
        table.add_row(
            job.id[:8],
            f"[{style}]{job.state.value}[/]" if style else job.state.value,
            job.source,
            job.destination,
            ",".join(job.types),
            str(job.items_imported),
            str(job.items_skipped),
            str(job.items_failed),
            human_bytes(job.bytes_moved),
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
    store, ledger = _store()
    found = store.get(job)
    failures = ledger.errors(found.id, limit=100_000 if errors else 10)
    cursors = ledger.cursors(found.id)
    if as_json:
        data = found.model_dump(mode="json", exclude={"options"})
        data["cursors"] = [{"vertical": c.vertical, "done": c.done, "pages": c.pages} for c in cursors]
        data["errors"] = [{"item_id": e.item_id, "item": e.item_name, "vertical": e.vertical, "message": e.message} for e in failures]
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
        ("items", f"{found.items_imported} imported, {found.items_skipped} already there, {found.items_failed} failed"),
        ("bytes", human_bytes(found.bytes_moved)),
        ("created", f"{found.created_at:%Y-%m-%d %H:%M:%S} UTC"),
        ("runner", found.lease_owner or "-"),
        ("flow run", found.flow_run_id or "-"),
    ]
    for key, value in rows:
        console.print(f"  {key:<12} {value}")
    if cursors:
        console.print("  progress     " + ", ".join(f"{c.vertical}: {'done' if c.done else f'{c.pages} page(s)'}" for c in cursors))
    if failures:
        table = Table(title="Failed items" + ("" if errors else " (first 10; --errors for all)"), title_justify="left")
        for column in ("item", "type", "error"):
            table.add_column(column, overflow="fold")
        for error in failures:
            table.add_row(error.item_name or error.item_id, error.vertical or "", error.message)
        console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(jobs_app, name="jobs")
