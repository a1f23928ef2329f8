"""``ferry recurring create|list|show|pause|resume|reset|cancel``: transfers on a schedule.

A recurring transfer has a stable id (sent to Generic Importer destinations as
X-DTP-Recurring-Job-Id) and shares one ledger across its runs, so each run imports only new or
changed items. With ``--deploy`` (or later ``ferry recurring deploy``) its schedule is added to
the ``recurring-transfer`` Prefect deployment, named after it, where workers run it and
operators can edit it in the UI; pause/resume toggle that schedule. ``reset`` forgets what its
rounds delivered, so the next round starts over.

Everything a user typed (names, endpoints) or a service said is printed as data (``safe``,
``cell``), never as Rich markup.
"""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from ._common import console, context, fail, friendly_errors, human_bytes
from ._safe_text import safe
from ._tables import add_fixed, add_id, add_text, cell, endpoints, lines, new_table
from .jobs import item_counts

recurring_app = typer.Typer(help="Recurring transfers: create, list, show, pause, resume, reset, cancel.", no_args_is_help=True)

STATE_STYLE = {"ACTIVE": "green", "PAUSED": "yellow", "CANCELED": "dim"}


def _store():
    return context().recurring


def _figures(store, jobs):
    from flows.store import Ledger

    return Ledger(store.engine).figures_of([j.id for j in jobs])


def _prefect_schedule(rec) -> str:
    """What Prefect says about the schedule, or why it cannot say."""
    if not rec.deployment_id:
        return "not deployed"
    try:
        from flows.schedules import describe_schedule, schedule_state

        state = schedule_state(rec)
    except Exception as exc:  # server unreachable: show the stored schedule, say why
        return f"unknown (Prefect: {type(exc).__name__})"
    if state is None:
        return "no schedule in Prefect"
    return ("active" if state.active else "paused") + f" ({describe_schedule(state.schedule)}), schedule {state.slug!r}"


@recurring_app.command("create")
@friendly_errors
def create(
    name: Annotated[str, typer.Argument(help="A unique name for the recurring transfer.")],
    source: Annotated[str, typer.Argument(help="Source endpoint NAME:LOCATION.")],
    destination: Annotated[str, typer.Argument(help="Destination endpoint NAME:LOCATION.")],
    types: Annotated[list[str], typer.Option("--types", "-t", help="Data types (comma-separated or repeated); default: all both sides support.")] = [],
    cron: Annotated[Optional[str], typer.Option(help="Cron schedule, UTC (e.g. '0 2 * * *').")] = None,
    every: Annotated[Optional[str], typer.Option(help="Interval schedule: 30m, 6h, 1d, ...")] = None,
    source_credential: Annotated[Optional[str], typer.Option(help="Credential id for the source.")] = None,
    destination_credential: Annotated[Optional[str], typer.Option(help="Credential id for the destination.")] = None,
    option: Annotated[list[str], typer.Option("--option", "-o", help="Connector option CONNECTOR.KEY=VALUE (repeatable).")] = [],
    deploy: Annotated[bool, typer.Option("--deploy/--no-deploy", help="Add its schedule to the recurring-transfer Prefect deployment now.")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Store a recurring transfer (and, with --deploy, schedule it in Prefect)."""
    from flows.recurring import create_recurring, parse_schedule
    from flows.schedules import describe_schedule

    from .transfer import _parse_options

    ctx = context()
    schedule = parse_schedule(cron=cron, every=every)
    rec = create_recurring(
        name,
        source,
        destination,
        types,
        schedule=schedule,
        options=_parse_options(option),
        source_credential_id=source_credential,
        destination_credential_id=destination_credential,
        ctx=ctx,
    )
    if deploy:
        _deploy(rec)
        rec = _store().get(rec.id)
    if as_json:
        console.print_json(json.dumps(rec.model_dump(mode="json")))
        return
    console.print(
        f"Recurring transfer [bold]{safe(rec.name)}[/] id [bold]{rec.id}[/]: {safe(rec.source)} → {safe(rec.destination)} "
        f"({', '.join(rec.types)}), {describe_schedule(rec.schedule)}"
    )
    if not deploy:
        console.print(f"Schedule it on the Prefect server with `ferry recurring deploy {rec.id[:8]}`.")


def _deploy(rec) -> None:
    from flows.schedules import deploy_schedule, schedule_slug

    from connectors.errors import ConfigError

    try:
        deployment_id, schedule_id = deploy_schedule(rec, active=rec.state.value == "ACTIVE")
    except ConfigError:
        raise
    except Exception as exc:
        fail(f"could not reach the Prefect server to schedule {rec.name!r} ({type(exc).__name__}: {exc}); is PREFECT_API_URL set?", 3)
    _store().update(rec.id, deployment_id=deployment_id, schedule_id=schedule_id)
    console.print(f"Scheduled in Prefect: deployment recurring-transfer, schedule “{safe(schedule_slug(rec))}”.")


@recurring_app.command("deploy")
@friendly_errors
def deploy_cmd(recurring: Annotated[str, typer.Argument(help="Recurring transfer id, id prefix or name.")]) -> None:
    """Create or update the recurring transfer's schedule on the Prefect deployment."""
    rec = _store().get(recurring)
    if rec.state.value == "CANCELED":
        fail(f"recurring transfer {rec.name!r} is canceled")
    _deploy(rec)


@recurring_app.command("list")
@friendly_errors
def list_cmd(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every recurring transfer with its state, schedule and last run."""
    store = _store()
    recs = store.list()
    rows = []
    for rec in recs:
        runs = store.runs(rec.id, limit=1000)
        last = runs[0] if runs else None
        figures = _figures(store, runs)
        imported = sum(f.total.imported for f in figures.values())
        rows.append((rec, runs, last, imported, figures.get(last.id) if last else None))
    if as_json:
        console.print_json(json.dumps([
            {
                **rec.model_dump(mode="json", exclude={"options"}),
                "runs": len(runs),
                "imported": imported,
                "last_run": {**last.model_dump(mode="json", include={"id", "state", "created_at"}), "imported": lastf.total.imported if lastf else 0, "failed": lastf.total.failed if lastf else 0} if last else None,
            }
            for rec, runs, last, imported, lastf in rows
        ]))
        return
    if not recs:
        console.print("No recurring transfers. Create one with `ferry recurring create NAME SOURCE DEST --every 1d`.")
        return
    from flows.schedules import describe_schedule

    table = new_table()
    add_id(table, "id")
    add_text(table, "name", min_width=12)
    add_text(table, "source → destination", min_width=14)
    add_fixed(table, "runs")
    add_text(table, "last run (UTC)", min_width=10)
    for rec, runs, last, imported, _ in rows:
        table.add_row(
            rec.id[:8],
            lines(cell(rec.name, "bold"), cell(describe_schedule(rec.schedule)), cell(rec.state.value, STATE_STYLE.get(rec.state.value, ""))),
            endpoints(rec.source, rec.destination, rec.types),
            lines(f"{len(runs)} run(s)", f"{imported} imported"),
            lines(last.state.value, f"{last.created_at:%Y-%m-%d %H:%M}") if last else "-",
        )
    console.print(table)


@recurring_app.command("show")
@friendly_errors
def show_cmd(
    recurring: Annotated[str, typer.Argument(help="Recurring transfer id, id prefix or name.")],
    limit: Annotated[int, typer.Option(help="How many runs to show.")] = 20,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """One recurring transfer and its run history (newest first)."""
    store = _store()
    rec = store.get(recurring)
    runs = store.runs(rec.id, limit=limit)
    if as_json:
        console.print_json(json.dumps({
            **rec.model_dump(mode="json"),
            "prefect_schedule": _prefect_schedule(rec),
            "runs": [r.model_dump(mode="json", exclude={"options", "lease_owner", "lease_expires_at"}) for r in runs],
        }))
        return
    from flows.schedules import describe_schedule

    console.print(f"[bold]{safe(rec.name)}[/] ({rec.id})")
    console.print(f"  {safe(rec.source)} → {safe(rec.destination)}  types: {', '.join(rec.types)}")
    console.print(f"  state: {rec.state.value}   schedule: {describe_schedule(rec.schedule)}   in Prefect: {safe(_prefect_schedule(rec))}")
    creds = [c for c in (rec.source_credential_id, rec.destination_credential_id) if c]
    if creds:
        console.print(f"  credentials: {', '.join(creds)}")
    if not runs:
        console.print("  no runs yet")
        return
    table = new_table("Runs")
    add_id(table, "job")
    add_fixed(table, "state")
    add_fixed(table, "items")
    add_fixed(table, "bytes", justify="right")
    add_text(table, "started / finished (UTC)", min_width=10)
    add_text(table, "reason", ratio=2)
    figures = _figures(store, runs)
    for job in runs:
        total = figures[job.id].total if job.id in figures else None
        table.add_row(
            job.id[:8],
            job.state.value,
            item_counts(total),
            human_bytes(total.bytes if total else 0),
            lines(f"{job.started_at:%Y-%m-%d %H:%M:%S}" if job.started_at else "-",
                  f"{job.finished_at:%Y-%m-%d %H:%M:%S}" if job.finished_at else None),
            cell(job.state_reason or ""),
        )
    console.print(table)


def _set_state(recurring: str, state: str) -> None:
    from flows.store import RecurringState

    store = _store()
    rec = store.get(recurring)
    if rec.state == RecurringState.CANCELED:
        fail(f"recurring transfer {rec.name!r} is canceled")
    store.update(rec.id, state=RecurringState(state))
    note = ""
    if rec.deployment_id:
        from flows.schedules import set_schedule_active

        try:
            found = set_schedule_active(rec, state == "ACTIVE")
            note = " and its Prefect schedule " + ("resumed" if state == "ACTIVE" else "paused") if found else " (no schedule found in Prefect)"
        except Exception as exc:
            note = f" (Prefect not updated: {type(exc).__name__}: {exc})"
    console.print(f"Recurring transfer {safe(rec.name)} is {state}{safe(note)}.")


@recurring_app.command("pause")
@friendly_errors
def pause_cmd(recurring: Annotated[str, typer.Argument(help="Recurring transfer id, id prefix or name.")]) -> None:
    """Pause: no new runs (its Prefect schedule is paused) until resumed."""
    _set_state(recurring, "PAUSED")


@recurring_app.command("resume")
@friendly_errors
def resume_cmd(recurring: Annotated[str, typer.Argument(help="Recurring transfer id, id prefix or name.")]) -> None:
    """Resume a paused recurring transfer (its Prefect schedule too)."""
    _set_state(recurring, "ACTIVE")


@recurring_app.command("reset")
@friendly_errors
def reset_cmd(
    recurring: Annotated[str, typer.Argument(help="Recurring transfer id, id prefix or name.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Start over: forget what earlier rounds delivered, so the next round transfers everything again."""
    ctx = context()
    rec = ctx.recurring.get(recurring)
    from flows.recurring import reset_recurring

    if not yes and not typer.confirm(
        f"Forget everything {rec.name!r} delivered? Its next round sends every item again", default=False
    ):
        raise typer.Exit(1)
    result = reset_recurring(ctx, rec)
    canceled = f" Canceled its unfinished run(s): {', '.join(j[:8] for j in result.canceled_jobs)}." if result.canceled_jobs else ""
    console.print(
        f"Recurring transfer {safe(rec.name)} reset: {result.forgotten} delivered item(s) forgotten.{canceled} "
        "Its next round transfers everything again (destinations that recognise what they hold skip it)."
    )


@recurring_app.command("cancel")
@friendly_errors
def cancel_cmd(recurring: Annotated[str, typer.Argument(help="Recurring transfer id, id prefix or name.")]) -> None:
    """Cancel for good: remove the schedule, cancel an unfinished run, revoke unused credentials."""
    from flows.store import RecurringState

    ctx = context()
    store = ctx.recurring
    rec = store.get(recurring)
    if rec.state == RecurringState.CANCELED:
        fail(f"recurring transfer {rec.name!r} is already canceled")
    store.update(rec.id, state=RecurringState.CANCELED)
    if rec.deployment_id:
        try:
            from flows.schedules import remove_schedule

            remove_schedule(rec)
        except Exception as exc:
            console.print(f"[yellow]warning:[/] Prefect schedule not removed ({safe(type(exc).__name__)}: {safe(exc)}); the runs it starts will skip")
    for job in store.runs(rec.id, limit=1000):
        if not job.state.is_final:  # a running round stops after its current page
            store.jobs.cancel(job.id, "recurring transfer canceled")
    creds = [c for c in (rec.source_credential_id, rec.destination_credential_id) if c]
    revoked = [c for c in creds if ctx.credentials.revoke_if_unused(c)]
    console.print(f"Recurring transfer {safe(rec.name)} canceled." + (f" Revoked credential(s): {', '.join(revoked)}." if revoked else ""))


def register(app: typer.Typer) -> None:
    app.add_typer(recurring_app, name="recurring")
