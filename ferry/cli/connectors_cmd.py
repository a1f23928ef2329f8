"""``ferry connectors list``."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from ._common import console, err_console

connectors_app = typer.Typer(help="The connectors ferry knows (built-in and installed plugins).", no_args_is_help=True)


@connectors_app.command("list")
def list_connectors(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Each connector with what it can export and import."""
    from connectors import registry

    found = registry.all_connectors()
    if as_json:
        console.print_json(
            json.dumps(
                [
                    {
                        "name": c.name,
                        "title": c.title,
                        "exports": sorted(c.capabilities.exports),
                        "imports": sorted(c.capabilities.imports),
                        "needs_credentials": c.needs_credentials,
                        "services": list(c.services),
                    }
                    for c in found
                ]
            )
        )
        return
    table = Table()
    for column in ("name", "what", "exports", "imports", "login", "services"):
        table.add_column(column, overflow="fold")
    for c in found:
        table.add_row(
            c.name,
            c.title,
            ", ".join(sorted(c.capabilities.exports)) or "-",
            ", ".join(sorted(c.capabilities.imports)) or "-",
            "OAuth" if c.needs_credentials else "-",
            ", ".join(c.services) or "-",
        )
    console.print(table)
    console.print("Use a connector as NAME:LOCATION, e.g. ferry transfer meta:~/facebook.zip folder:~/backup")
    for name, why in registry.load_errors().items():
        err_console.print(f"[yellow]could not load connector {name}[/]: {why}")


def register(app: typer.Typer) -> None:
    app.add_typer(connectors_app, name="connectors")
