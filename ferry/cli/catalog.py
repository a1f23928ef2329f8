"""``ferry catalog``: check, search, build and preview the portmap catalog.

This module is the bridge between ferry's connector registry and the catalog: it reads
``connectors.registry`` and hands the catalog plain :class:`catalog.ConnectorInfo` values, because
the ``catalog`` package must not import ``connectors`` (an import-linter contract).

Everything printed that comes from pages, the services table, file names or the command line
(titles, paths, messages, commands, locations) goes through :func:`ferry.cli._safe_text.safe`:
a page titled ``[/]x`` or a file named with an ANSI escape is shown as text, never as markup or
terminal control. JSON output is escaped by ``json.dumps`` itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from ._common import ExitCode, console, err_console
from ._safe_text import safe

catalog_app = typer.Typer(
    help="The portmap catalog: solution pages that say how to move data between services.",
    no_args_is_help=True,
)

DEFAULT_SOLUTIONS = Path("content/solutions")
DEFAULT_SERVICES = Path("content/services.yaml")

SolutionsOpt = Annotated[
    Path, typer.Option("--solutions", "-s", help="Folder of solution pages (*.md).")
]
ServicesOpt = Annotated[Path, typer.Option("--services", help="The services table (YAML).")]


def _fail(message: str, code: int = ExitCode.USAGE) -> NoReturn:
    """One red line like :func:`._common.fail`, with the whole ``message`` treated as data."""
    err_console.print(f"[bold red]error:[/] {safe(message)}", soft_wrap=True)
    raise typer.Exit(code)


def connector_infos() -> list[Any]:
    """ferry's connectors as catalog-side plain data; the catalog still builds without them."""
    try:
        from flows.portmap import connector_infos as infos

        return infos()
    except Exception as exc:
        err_console.print(f"[yellow]warning:[/] connector registry unavailable ({safe(exc)}); no ferry commands")
        return []


def _print_problems(problems: list[Any]) -> None:
    from catalog import Severity

    for p in problems:
        colour = "red" if p.severity is Severity.ERROR else "yellow"
        where = f"{p.file}:{p.line}" if p.line else p.file
        console.print(
            f"{safe(where)}: [{colour}]{p.severity}[/]: {safe(p.message)} [dim]\\[{p.kind}][/]", soft_wrap=True
        )


def _summary(problems: list[Any], files: int) -> str:
    from catalog import count_by_kind

    counts = count_by_kind(problems)
    parts = []
    for severity in ("error", "warning"):
        total = sum(n for (sev, _), n in counts.items() if sev == severity)
        kinds = sorted(((kind, n) for (sev, kind), n in counts.items() if sev == severity), key=lambda kn: (-kn[1], kn[0]))
        detail = f" ({', '.join(f'{kind} {n}' for kind, n in kinds)})" if kinds else ""
        parts.append(f"{total} {severity}(s){detail}")
    return f"{files} pages: " + "; ".join(parts)


@catalog_app.command("check")
def check_cmd(
    solutions: Annotated[Path, typer.Argument(help="Folder of solution pages.")] = DEFAULT_SOLUTIONS,
    services: ServicesOpt = DEFAULT_SERVICES,
    as_json: Annotated[bool, typer.Option("--json", help="Print problems as JSON.")] = False,
) -> None:
    """Check every page; exit 1 if there are errors (warnings alone exit 0)."""
    from catalog import load_catalog

    if not solutions.exists():
        _fail(f"solutions folder not found: {solutions}")
    cat = load_catalog(solutions, services, connector_infos())
    if as_json:
        console.print_json(json.dumps([p.to_dict() for p in cat.problems]))
    else:
        _print_problems(cat.problems)
        console.print(_summary(cat.problems, cat.files))
    if not cat.ok:
        raise typer.Exit(1)


@catalog_app.command("search")
def search_cmd(
    text: Annotated[str | None, typer.Argument(help="Free words (typos tolerated).")] = None,
    source: Annotated[str | None, typer.Option("--source", "--from", help="Source service or alias.")] = None,
    destination: Annotated[
        str | None, typer.Option("--destination", "--to", help="Destination service or alias.")
    ] = None,
    datatype: Annotated[str | None, typer.Option("--datatype", "-t", help="Data type, e.g. Photos.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many results.")] = 10,
    solutions: SolutionsOpt = DEFAULT_SOLUTIONS,
    services: ServicesOpt = DEFAULT_SERVICES,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Find solutions by source, destination, data type and words, best first."""
    from catalog import Searcher, load_catalog

    if not solutions.exists():
        _fail(f"solutions folder not found: {solutions}")
    cat = load_catalog(solutions, services, connector_infos())
    hits = Searcher.from_catalog(cat).search(
        source=source, destination=destination, datatype=datatype, text=text, limit=limit
    )
    if as_json:
        console.print_json(json.dumps([{"score": h.score, **h.solution} for h in hits]))
        return
    if not hits:
        console.print("No solution matches.")
        raise typer.Exit(1)
    for hit in hits:
        s = hit.solution
        console.print(f"[bold]{safe(s['title'])}[/]  [dim]({hit.score:.2f}, {safe(s['url'])})[/]", soft_wrap=True)
        route = f"{s['datatype']}: {', '.join(s['sources'])} → {', '.join(s['destinations'])}"
        console.print(f"  {safe(route)}", soft_wrap=True)
        for pair in s["runnable"]:
            console.print(f"  [green]$ {safe(pair['command'])}[/]", soft_wrap=True)


@catalog_app.command("build")
def build_cmd(
    out: Annotated[Path, typer.Argument(help="Output folder for the static site.")],
    solutions: SolutionsOpt = DEFAULT_SOLUTIONS,
    services: ServicesOpt = DEFAULT_SERVICES,
    strict: Annotated[
        bool, typer.Option("--strict/--no-strict", help="Refuse to build when pages have errors.")
    ] = True,
) -> None:
    """Build the static site into OUT (works offline, even from file://)."""
    from catalog import CatalogBuildError, build_site

    if not solutions.exists():
        _fail(f"solutions folder not found: {solutions}")
    try:
        report = build_site(solutions, services, out, connector_infos(), strict=strict)
    except CatalogBuildError as exc:
        _print_problems(exc.problems)
        _fail(f"not built: {len(exc.problems)} problem(s); fix the errors or use --no-strict", 1)
    if report.problems:
        _print_problems(report.problems)
    console.print(
        f"Built {report.pages} pages ({report.solutions} solutions, {report.runnable} runnable with ferry) "
        f"into {safe(out)} in {report.seconds:.2f}s; open {safe(out / 'index.html')}"
    )


@catalog_app.command("serve")
def serve_cmd(
    out: Annotated[Path, typer.Argument(help="Folder to build the preview into.")] = Path("site"),
    solutions: SolutionsOpt = DEFAULT_SOLUTIONS,
    services: ServicesOpt = DEFAULT_SERVICES,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).")] = 8000,
) -> None:
    """Preview the site locally and rebuild it whenever a page or the services table changes."""
    import threading

    from catalog import PreviewServer

    if not solutions.exists():
        _fail(f"solutions folder not found: {solutions}")

    def on_build(report: Any) -> None:
        if isinstance(report, Exception):
            err_console.print(f"[red]rebuild failed:[/] {safe(report)}")
            return
        state = f"{report.errors} error(s), {report.warnings} warning(s)"
        console.print(f"built {report.pages} pages in {report.seconds:.2f}s ({state})")

    try:
        server = PreviewServer(solutions, services, out, connector_infos(), host=host, port=port, on_build=on_build)
    except OSError as exc:
        _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    with server:
        console.print(
            f"Serving {safe(out)} at {safe(server.url)} (Ctrl+C to stop); watching {safe(solutions)} and {safe(services)}"
        )
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            console.print("stopped")


def register(app: typer.Typer) -> None:
    app.add_typer(catalog_app, name="catalog")
