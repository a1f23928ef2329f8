"""``ferry report``: success and failure rates per source -> destination pair over a window."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ._common import console, context, friendly_errors, human_bytes
from ._safe_text import safe
from ._tables import add_fixed, add_text, cell, lines, new_table


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
            console.print(f"No transfers in the last {safe(since)}.")
        else:
            table = new_table(f"Transfers in the last {safe(since)} (bar: {FAILURE_BAR:.0%} failed items)")
            add_text(table, "source → destination", min_width=12)
            add_fixed(table, "jobs")
            add_fixed(table, "items")
            add_fixed(table, "success", justify="right")
            add_fixed(table, "failure", justify="right")
            add_fixed(table, "bytes", justify="right")
            for p in pairs:
                table.add_row(
                    cell(f"{p.source} → {p.destination}"),
                    lines(f"{p.jobs} in all", f"{p.jobs_complete} complete" if p.jobs_complete else None,
                          f"[red]{p.jobs_failed} failed[/]" if p.jobs_failed else None),
                    lines(f"{p.delivered} delivered", f"[red]{p.failed} failed[/]" if p.failed else None),
                    f"{p.success_rate:.2%}",
                    lines(f"{p.failure_rate:.2%}", "[bold red]ABOVE 1%[/]" if p.flagged else "[green]ok[/]"),
                    human_bytes(p.bytes),
                )
            console.print(table)
            if flagged:
                console.print(
                    f"[red]{len(flagged)} pair(s) above the {FAILURE_BAR:.0%} failure bar:[/] "
                    + ", ".join(safe(f"{p.source} → {p.destination}") for p in flagged)
                )
        raise typer.Exit(1 if strict and flagged else 0)
