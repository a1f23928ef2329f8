"""Every ``ferry ...`` command the README and docs/*.md show exists and parses.

Command lines in shell code blocks (```bash, ```sh, ```console) are parsed in full by the same
Click command Typer builds for ``ferry``, without running anything: the command path must exist,
every option must be known, arguments and option values must convert, required ones must be
there. Inline mentions (`ferry recurring pause NAME`) are references: their command path and the
options they name must exist (missing arguments are fine). ``a|b`` in a command name stands for
each of the alternatives.
"""

from __future__ import annotations

import re
import shlex
from itertools import product
from pathlib import Path

import pytest
import typer.main

from ferry.cli import app

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"```(bash|sh|shell|console)\n(.*?)```", re.S)
_ANY_FENCE = re.compile(r"```.*?```", re.S)
_ENV = re.compile(r"^(?:[A-Z_][A-Z0-9_]*=\S*\s+)+")
_COMMAND = re.compile(r"^(?:\$\s+)?(?:\S*/)?ferry\s+(.*)$")


def _ferry_args(segment: str) -> str | None:
    """What follows ``ferry`` in one shell segment (after ``$``, env assignments, a venv path)."""
    segment = _ENV.sub("", segment.strip().removeprefix("$ ").strip())
    found = _COMMAND.match(segment)
    return found.group(1) if found else None


def shown_commands() -> list[tuple[str, str, bool]]:
    """``(file, command line after 'ferry', full)``: full for code blocks, references inline."""
    out = []
    for path in DOCS:
        text = path.read_text("utf-8")
        for _, block in _FENCE.findall(text):
            for line in block.replace("\\\n", " ").splitlines():
                for segment in re.split(r"&&|;|\|\|", line):
                    args = _ferry_args(segment.split(" | ")[0])
                    if args is not None:
                        out.append((path.name, args, True))
        for span in re.findall(r"`([^`\n]+)`", _ANY_FENCE.sub("", text)):
            args = _ferry_args(span)
            if args is not None:
                out.append((path.name, args, False))
    return out


COMMANDS = shown_commands()


def _alternatives(args: list[str]) -> list[list[str]]:
    """``server status|stop`` -> ``server status`` and ``server stop`` (command words only)."""
    options = [word.split("|") if "|" in word and not word.startswith("-") else [word] for word in args]
    return [list(choice) for choice in product(*options)]


def parse(args: list[str], *, full: bool) -> None:
    """Parse like ``ferry ARGS`` would, down to the last subcommand, without invoking anything."""
    command = typer.main.get_command(app)
    ctx = command.make_context("ferry", list(args), resilient_parsing=not full)
    while hasattr(command, "resolve_command"):  # a group: go down to its subcommand
        rest = list(getattr(ctx, "_protected_args", None) or getattr(ctx, "protected_args", None) or []) + list(ctx.args)
        if not rest:
            return
        name, command, rest = command.resolve_command(ctx, rest)
        if command is None:
            raise AssertionError(f"no command {name!r}")
        ctx = command.make_context(name, rest, parent=ctx, resilient_parsing=not full)
    if not full and ctx.args:
        unknown = [arg for arg in ctx.args if arg.startswith("-")]
        assert not unknown, f"unknown options {unknown}"


def test_the_docs_show_commands():
    assert len([c for c in COMMANDS if c[2]]) >= 25 and len(COMMANDS) >= 60


@pytest.mark.parametrize(("doc", "line", "full"), COMMANDS, ids=[f"{d}:{line[:50]}" for d, line, _ in COMMANDS])
def test_a_command_shown_in_the_docs_parses(doc, line, full):
    words = shlex.split(line, comments=True)
    for args in _alternatives(words):
        try:
            parse(args, full=full)
        except Exception as exc:
            if not hasattr(exc, "format_message"):
                raise
            pytest.fail(f"{doc}: `ferry {line}`: {exc.format_message()}")
