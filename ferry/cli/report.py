"""``ferry report``: success and failure rates per source -> destination pair over a window."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from ._common import console, friendly_errors, human_bytes, context


def register(app: typer.Typer) -> None:
    @app.command()
    @friendly_errors
    def report(
        since: Annotated[str, typer.Option(help="Window before now: 24h, 7d, 30d, ...")] = "7d",
        as_json: Annotated[bool, typer.Option("--json")] = False,
        strict: Annotated[bool, typer.Option(help="Exit 1 when a pair is above the 1% failure bar (for cron/CI).")] = False,
    ) -> None:
        """Item success and failure rates per source → destination pair; flags pairs above 1% failures."""
        ctx = context()
        from flows.recurring import parse_duration
        from flows.report import FAILURE_BAR, pair_report

        window = parse_duration(since)
        pairs = pair_report(ctx.engine, window)
        flagged = [p for p in pairs if p.flagged]
        if as_json:
            console.print_json(json.dumps({"since": since, "failure_bar": FAILURE_BAR, "pairs": [p.as_dict() for p in pairs]}))
        elif not pairs:
            console.print(f"No transfers in the last {since}.")
        else:
            table = Table(title=f"Transfers in the last {since} (bar: {FAILURE_BAR:.0%} failed items)")
            for column in ("source → destination", "jobs", "complete", "failed jobs", "items", "delivered", "failed items", "success", "failure", "bytes", ""):
                table.add_column(column, justify="left" if column.startswith("source") else "right")
            for p in pairs:
                mark = "[bold red]ABOVE 1%[/]" if p.flagged else "[green]ok[/]"
                table.add_row(
                    f"{p.source} → {p.destination}", str(p.jobs), str(p.jobs_complete), str(p.jobs_failed), str(p.items),
                    str(p.delivered), str(p.failed), f"{p.success_rate:.2%}", f"{p.failure_rate:.2%}", human_bytes(p.bytes), mark,
                )
            console.print(table)
            if flagged:
                console.print(f"[red]{len(flagged)} pair(s) above the {FAILURE_BAR:.0%} failure bar:[/] " + ", ".join(f"{p.source} → {p.destination}" for p in flagged))
        raise typer.Exit(1 if strict and flagged else 0)
