"""``ferry verify`` (re-check a job's deliveries) and ``ferry db upgrade|current`` (the job store's schema)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ._common import ExitCode, console, context, friendly_errors, load
from ._safe_text import safe

db_app = typer.Typer(help="The job store's schema: where it stands, and upgrading it.", no_args_is_help=True)


@db_app.command("current")
@friendly_errors
def db_current() -> None:
    """Print the job store's location and schema version (and the version this ferry writes)."""
    from flows.store.maintenance import schema_status

    settings = load()
    status = schema_status(settings.resolved_database_url)
    console.print(f"{safe(status.where)}: schema {status.current or 'none (empty or missing)'}; this ferry writes {status.head}")


@db_app.command("upgrade")
@friendly_errors
def db_upgrade() -> None:
    """Create the job store, or upgrade it to the schema this ferry writes (safe to repeat)."""
    from flows.store.maintenance import upgrade_store

    settings = load()
    before, after = upgrade_store(settings.resolved_database_url)
    console.print(f"schema {after}" + (f" (was {before or 'empty'})" if before != after else " (already current)"))


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")

    @app.command()
    @friendly_errors
    def verify(
        job: Annotated[str, typer.Argument(help="Job id (or a unique prefix).")],
        destination_credential: Annotated[Optional[str], typer.Option("--destination-credential", help="Credential to ask the destination with (a finished job's own was revoked); see `ferry auth list`.")] = None,
    ) -> None:
        """Re-check every item JOB delivered at its destination: there, same size, same hash where the destination can tell. Exit 1 if anything is missing or changed."""
        from flows.verify import verify_job

        report = verify_job(context(), job, destination_credential_id=destination_credential)
        console.print(f"Job {report.job_id[:8]}: {report.present} present" + (f", {report.unknown} cannot be checked here" if report.unknown else "") + (f", {len(report.problems)} missing or changed" if report.problems else ""))
        for name, checked in report.problems[:200]:
            console.print(f"  • [bold]{safe(name)}[/] {checked.verdict.value}: {safe(checked.detail)}")
        if not report.ok:
            raise typer.Exit(ExitCode.ITEM_FAILURES)
