"""``ferry conformance URL``: test a Generic Importer destination, one table row per check."""

from __future__ import annotations

import os

import typer
from rich.console import Console
from rich.table import Table


def conformance(
    url: str = typer.Argument(..., help="The destination's Generic Importer base URL, e.g. https://dest.example/dtp."),
    token_env: str = typer.Option(
        "FERRY_CONFORMANCE_TOKEN", "--token-env", help="Environment variable holding a valid access token for a test account."
    ),
    volume: int = typer.Option(100, "--volume", min=0, help="Uploads in the failure-rate batch (0 skips it)."),
    export_service: str = typer.Option("ferry-conformance", "--export-service", help="X-DTP-Export-Service value to send."),
    timeout: float = typer.Option(30.0, "--timeout", min=0.1, help="Seconds per network operation."),
) -> None:
    """Send every payload type, repeats, a bad token and malformed bodies; exit 1 if any check fails."""
    from ferry.conformance import run_conformance

    token = os.environ.get(token_env, "")
    if not token:
        raise typer.BadParameter(f"set {token_env} to an access token of a test account on the destination", param_hint="--token-env")
    if not url.startswith(("http://", "https://")):
        raise typer.BadParameter(f"{url!r} is not an http(s) URL", param_hint="URL")
    console = Console()
    table = Table(title=f"Generic Importer conformance: {url}")
    table.add_column("Check")
    table.add_column("Result")
    table.add_column("Answer / detail", overflow="fold")
    with console.status("checking..."):
        report = run_conformance(url, token, volume=volume, export_service=export_service, timeout=timeout)
    for result in report.results:
        table.add_row(result.name, "[green]pass[/]" if result.passed else "[red]FAIL[/]", result.detail)
    console.print(table)
    failed = sum(not result.passed for result in report.results)
    if failed:
        console.print(f"[red]{failed} of {len(report.results)} checks failed[/]")
        raise typer.Exit(1)
    console.print(f"[green]all {len(report.results)} checks passed[/]")


def register(app: typer.Typer) -> None:
    app.command("conformance")(conformance)
