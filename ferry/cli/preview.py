"""Commands that look before anything moves: ``ferry check``, ``ferry ls`` and ``transfer --dry-run``.

They open the source (and destination) the way a transfer does, without a job, without
Prefect, and write nothing (flows/preflight.py). ``check`` makes sure a transfer can start
(credentials, the source reads, the destination writes), ``ls`` lists what a source holds, and
``--dry-run`` counts what a transfer would move, per type, in items and bytes.
"""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from ._common import console, context, friendly_errors, human_bytes
from ._safe_text import safe
from ._tables import add_fixed, add_text, cell, new_table

TypesOption = Annotated[list[str], typer.Option("--types", "-t", help="Data types (comma-separated or repeated); default: everything the source holds (ls) or both sides support.")]
OptionOption = Annotated[list[str], typer.Option("--option", "-o", help="Connector option CONNECTOR.KEY=VALUE (repeatable).")]


def _options(values: list[str]) -> dict:
    from .transfer import _parse_options

    return _parse_options(values)


def _plural(count: int, kind: str) -> str:
    names = {"photo": "photos", "video": "videos", "post": "posts", "event": "events", "file": "files",
             "album": "albums", "calendar": "calendars", "folder": "folders"}
    return f"{count} {kind if count == 1 else names.get(kind, kind + 's')}"


def _what(figures) -> str:
    """``40 photos in 3 albums``: items first, their containers after."""
    items = ", ".join(_plural(n, kind) for kind, n in sorted(figures.items.items())) or "nothing"
    containers = ", ".join(_plural(n, kind) for kind, n in sorted(figures.containers.items()))
    return f"{items} in {containers}" if containers else items


def _size(figures) -> str:
    """Bytes of the items that carry bytes; ``-`` for types without (posts, events)."""
    if not figures.bytes and not figures.unknown_sizes:
        return "-"
    return human_bytes(figures.bytes) + (f" + {figures.unknown_sizes} of unknown size" if figures.unknown_sizes else "")


def print_survey(survey, *, title: str, verb: str) -> None:
    """The per-type table of a survey, then what the source holds that will not arrive."""
    table = new_table(title)
    add_fixed(table, "type")
    add_text(table, verb)
    add_fixed(table, "bytes", justify="right")
    from flows.preflight import VerticalSurvey

    total = VerticalSurvey("total")
    for vertical, figures in survey.verticals.items():
        table.add_row(cell(vertical), _what(figures), _size(figures))
        total.containers.update(figures.containers)
        total.bytes += figures.bytes
        total.unknown_sizes += figures.unknown_sizes
        total.items["item"] += figures.count
    table.add_section()
    table.add_row("total", _what(total), _size(total))
    console.print(table)
    for problems, what in ((survey.unreadable, "could not be read"), (survey.not_transferred, "would not be transferred")):
        if problems:
            console.print(f"[yellow]{len(problems)} entr{'y' if len(problems) == 1 else 'ies'} of the source {what}[/]:")
            for problem in problems[:10]:
                console.print(f"  • {safe(problem.subject)}: {safe(problem.message)}")


def _survey_json(survey) -> dict:
    return {
        "verticals": {
            name: {"items": dict(f.items), "containers": dict(f.containers), "count": f.count, "bytes": f.bytes, "unknown_sizes": f.unknown_sizes}
            for name, f in survey.verticals.items()
        },
        "problems": [{"subject": p.subject, "message": p.message, "kind": str(p.kind)} for p in survey.problems],
    }


def dry_run(ctx, source: str, destination: str, types: list[str], *, options: dict, source_credential: str | None,
            destination_credential: str | None, as_json: bool) -> None:
    """``ferry transfer --dry-run``: what would move, per type; no job, nothing written."""
    from flows.preflight import open_transfer, survey

    with open_transfer(ctx, source, destination, types, options=options, source_credential_id=source_credential,
                       destination_credential_id=destination_credential) as opened:
        found = survey(opened)
    if as_json:
        console.print_json(json.dumps({"dry_run": True, "source": source, "destination": destination, **_survey_json(found)}))
        return
    print_survey(found, title=f"Dry run: {safe(source)} → {safe(destination)}", verb="would move")
    console.print("Nothing was written and no job was created. When the transfer runs, items the "
                  "destination already holds are skipped.")


def register(app: typer.Typer) -> None:
    @app.command()
    @friendly_errors
    def check(
        source: Annotated[str, typer.Argument(help="Where the data would come from (as for `ferry transfer`).")],
        destination: Annotated[str, typer.Argument(help="Where it would go.")],
        types: TypesOption = [],
        source_credential: Annotated[Optional[str], typer.Option(help="Credential id for the source.")] = None,
        destination_credential: Annotated[Optional[str], typer.Option(help="Credential id for the destination.")] = None,
        option: OptionOption = [],
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """Check a transfer could start now: credentials work, the source reads, the destination writes.

        Nothing moves and no job is created (a probe written to the destination is removed).
        Exit 0 when every check passes, 1 when one fails, 2 when the request itself is wrong.
        Every transfer runs the same checks as its first step.
        """
        from flows.preflight import check as run_checks
        from flows.preflight import open_transfer

        ctx = context()
        with open_transfer(ctx, source, destination, types, options=_options(option), source_credential_id=source_credential,
                           destination_credential_id=destination_credential) as opened:
            results = run_checks(opened)
        failed = [r for r in results if not r.ok]
        if as_json:
            console.print_json(json.dumps({"ok": not failed, "checks": [{"check": r.name, "ok": r.ok, "detail": r.detail} for r in results]}))
        else:
            for result in results:
                mark = "[green]✓[/]" if result.ok else "[red]✗[/]"
                console.print(f"{mark} {safe(result.name)}" + (f": {safe(result.detail)}" if result.detail else ""), soft_wrap=True)
            console.print("[green]Ready: a transfer can start.[/]" if not failed else f"[red]{len(failed)} of {len(results)} check(s) failed.[/]")
        raise typer.Exit(1 if failed else 0)

    @app.command("ls")
    @friendly_errors
    def ls(
        source: Annotated[str, typer.Argument(help="A source, as for `ferry transfer` (meta:~/facebook.zip, folder:/photos, s3://bucket/x).")],
        types: TypesOption = [],
        source_credential: Annotated[Optional[str], typer.Option(help="Credential id for the source.")] = None,
        option: OptionOption = [],
        limit: Annotated[Optional[int], typer.Option(min=0, help="Show at most this many items (all are still counted).")] = None,
        summary: Annotated[bool, typer.Option("--summary", help="Only the totals per type.")] = False,
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """List what a source holds, item by item, then totals per type; nothing is copied."""
        from flows.preflight import open_source, survey

        ctx = context()
        shown: list[tuple[str, object]] = []
        hidden = 0

        def collect(vertical: str, item) -> None:
            nonlocal hidden
            if summary or (limit is not None and len(shown) >= limit):
                hidden += 1
            else:
                shown.append((vertical, item))

        with open_source(ctx, source, types, options=_options(option), credential_id=source_credential) as opened:
            found = survey(opened, on_item=collect)
        if as_json:
            rows = [{"vertical": v, **item.model_dump(mode="json", exclude={"ref"})} for v, item in shown]
            console.print_json(json.dumps({"source": source, "items": rows, "not_shown": hidden, **_survey_json(found)}))
            return
        if shown:
            table = new_table()
            add_fixed(table, "type")
            add_text(table, "name", min_width=16)
            add_fixed(table, "size", justify="right")
            add_fixed(table, "date (UTC)")
            for _, item in shown:
                name, size, when = describe(item)
                table.add_row(item.kind, cell(name), size, when)
            console.print(table)
        if hidden and not summary:
            console.print(f"… and {hidden} more (all counted below; --limit shows more)")
        print_survey(found, title=f"{safe(source)} holds", verb="items")


def describe(item) -> tuple[str, str, str]:
    """A listed item as ``(name, size, date)`` for ``ferry ls``."""
    kind = item.kind
    if kind == "file":
        name = f"{item.folder.rstrip('/')}/{item.name}"
    elif kind == "post":
        name = item.title or (item.content or "").replace("\n", " ")[:80] or item.id
    else:
        name = item.display_name
    size = getattr(item, "size", None)
    when = None
    for attr in ("taken_time", "uploaded_time", "published", "start", "modified"):
        when = getattr(item, attr, None)
        if when is not None:
            break
    return name, human_bytes(size) if size is not None else "", f"{when:%Y-%m-%d %H:%M}" if when else ""
