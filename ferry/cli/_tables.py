"""Tables that read well in an 80-column terminal: ids whole, figures whole, only text wraps.

Why: with Rich's defaults every column of ``jobs list`` folded at 80 columns, so job ids broke
across lines ("d1788" / "ad2") and headers were cut ("sourc" / "e"). Here ids, states, figures
and times never wrap (they are short), borders cost one space, and only free text (endpoints,
names, reasons) wraps, inside the width left over. Several figures share one cell, one per line,
instead of one column each, so a row fits however many figures it shows.

Cells are data: :func:`cell` turns any string into a Rich ``Text`` with control characters
removed, so nothing in a name is read as markup.
"""

from __future__ import annotations

from rich import box
from rich.table import Table
from rich.text import Text

from ._safe_text import plain

__all__ = ["new_table", "add_id", "add_fixed", "add_text", "cell", "lines", "endpoints"]


def new_table(title: str | None = None) -> Table:
    """A borderless table (a rule under the header) that spends one space between columns."""
    return Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
        padding=(0, 1, 0, 0),
    )


def add_id(table: Table, header: str = "job") -> None:
    """A short id column (8 characters, never split)."""
    table.add_column(header, no_wrap=True, min_width=8)


def add_fixed(table: Table, header: str, *, justify: str = "left") -> None:
    """A column of short values that must stay whole (states, figures, times)."""
    table.add_column(header, no_wrap=True, justify=justify)


def add_text(table: Table, header: str, *, ratio: int | None = None, min_width: int = 10) -> None:
    """A column of free text that wraps (anywhere, for paths without spaces) in the room left.

    Without ``ratio`` the column is as wide as its text allows; with one, it takes that share
    of the room the other columns leave.
    """
    table.add_column(header, overflow="fold", ratio=ratio, min_width=min_width)


def cell(value: object, style: str = "") -> Text:
    """A table cell from user data: never markup, no control characters."""
    return Text(plain("" if value is None else value), style=style)


def lines(*parts: str | Text | None) -> Text:
    """Several short values in one cell, one per line (empty ones left out).

    A ``str`` part is ferry's own markup (``"[red]1 failed[/]"``); user data comes as :func:`cell`.
    """
    out = Text()
    for part in parts:
        if not part:
            continue
        if out:
            out.append("\n")
        out.append(part if isinstance(part, Text) else Text.from_markup(part))
    return out


def endpoints(source: str, destination: str, types=()) -> Text:
    """``source →`` / ``destination`` / ``(types)``: the arrow stays with the source when it wraps."""
    return lines(cell(f"{source} →"), cell(destination), cell(f"({', '.join(types)})", "dim") if types else None)
