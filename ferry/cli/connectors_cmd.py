"""``ferry connectors list`` and ``ferry connectors show NAME``."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from ._common import console, err_console
from ._safe_text import safe
from ._tables import cell

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
            cell(c.name),
            cell(c.title),
            ", ".join(sorted(c.capabilities.exports)) or "-",
            ", ".join(sorted(c.capabilities.imports)) or "-",
            "OAuth" if c.needs_credentials else "-",
            cell(", ".join(c.services) or "-"),
        )
    console.print(table)
    console.print("Use a connector as NAME:LOCATION, e.g. ferry transfer meta:~/facebook.zip folder:~/backup")
    console.print("`ferry connectors show NAME` lists its capabilities and options.")
    for name, why in registry.load_errors().items():
        err_console.print(f"[yellow]could not load connector {safe(name)}[/]: {safe(why)}")


def _capabilities(connector) -> list[tuple[str, str, str]]:
    """Each declared capability: name, value as words, what it means."""
    from dataclasses import fields

    rows = []
    for spec in fields(connector.capabilities):
        value = getattr(connector.capabilities, spec.name)
        if isinstance(value, frozenset):
            shown = ", ".join(sorted(value)) or "-"
        elif value is None:
            shown = "-"
        elif isinstance(value, bool):
            shown = "yes" if value else "no"
        else:
            shown = str(value)
        rows.append((spec.name, shown, spec.metadata.get("help", "")))
    return rows


@connectors_app.command("show")
def show_connector(
    name: Annotated[str, typer.Argument(help="Connector name, as in `ferry connectors list`.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print only the options as the Markdown table the docs carry.")] = False,
) -> None:
    """What one connector can do: roles, capabilities, login, and every option with its type, default and meaning."""
    from connectors import registry
    from connectors.errors import ConfigError
    from connectors.options import describe, markdown_table

    from ._common import fail
    from ._safe_text import safe

    try:
        connector = registry.get(name)
    except ConfigError as exc:
        fail(str(exc))
    options = describe(connector.options) if connector.options is not None else []
    if markdown:
        typer.echo(markdown_table(connector.options) if connector.options is not None else "This connector does not declare its options yet.")
        return
    if as_json:
        console.print_json(
            json.dumps(
                {
                    "name": connector.name,
                    "title": connector.title,
                    "description": connector.description,
                    "roles": [role for role, maker in (("source", connector.make_exporter), ("destination", connector.make_importer)) if maker],
                    "capabilities": {name: value for name, value, _ in _capabilities(connector)},
                    "needs_credentials": connector.needs_credentials,
                    "services": list(connector.services),
                    "options": [vars(option) for option in options],
                }
            )
        )
        return
    roles = [role for role, maker in (("source", connector.make_exporter), ("destination", connector.make_importer)) if maker]
    console.print(f"[bold]{safe(connector.name)}[/]: {safe(connector.title)}")
    if connector.description:
        console.print(safe(connector.description))
    console.print(f"roles: {', '.join(roles) or '-'}; login: {'OAuth 2.0' if connector.needs_credentials else 'none'}")
    if connector.services:
        console.print(f"services: {safe(', '.join(connector.services))}")
    table = Table(title="capabilities", title_justify="left")
    table.add_column("capability")
    table.add_column("value", overflow="fold")
    table.add_column("meaning", overflow="fold")
    for capability, value, meaning in _capabilities(connector):
        table.add_row(capability, value, meaning)
    console.print(table)
    if connector.options is None:
        console.print("options: not declared (passed to the connector unchecked)")
        return
    if not options:
        console.print("options: none")
        return
    table = Table(title=f"options (-o {connector.name}.KEY=VALUE)", title_justify="left")
    for column in ("option", "type", "default", "meaning"):
        table.add_column(column, overflow="fold")
    for option in options:
        table.add_row(option.name, option.type, option.default, safe(option.description))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(connectors_app, name="connectors")
