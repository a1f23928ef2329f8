"""Terminal output is data, not markup: one sanitiser for every user-derived string the CLI prints.

Names, paths, titles and provider error texts come from archives, folders and remote services. Printed
as they are, Rich would read ``[/]`` or ``[link=...]`` inside them as markup (crashing the summary, or
planting a link in ferry's own message) and an ANSI escape would reach the terminal. :func:`safe`
removes control characters (C0, DEL, C1 and ANSI escape sequences) and escapes Rich markup.

The rule for every command: a string literal of ferry's own may carry markup; anything else goes
into it through :func:`safe`, into a table through ``ferry.cli._tables.cell`` (a Rich ``Text``,
never parsed), and errors through ``ferry.cli._common.fail`` (which applies :func:`safe`).
tests/test_cli_output.py and tests/test_cli.py feed markup, links and escape codes through the
commands that show names, including a completed transfer's summary.
"""

from __future__ import annotations

import re

from rich.markup import escape

__all__ = ["safe", "plain"]

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def plain(text: object) -> str:
    """``text`` as a string without terminal control characters (newlines and tabs kept)."""
    value = str(text)
    value = _ANSI.sub("", value)
    return _CONTROL.sub("\ufffd", value)


def safe(text: object) -> str:
    """``text`` ready to be embedded in a Rich markup string: no control characters, markup escaped."""
    return escape(plain(text))
