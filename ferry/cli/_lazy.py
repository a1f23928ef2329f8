"""The root command group, which builds a command from its module only when it is used.

Why: Typer builds every command of an app up front (it reads each function's signature and
resolves its annotations), and each command module imports what its commands need. For
``ferry --help`` and for a command answering bad input at once that was about a third of the
CLI's start-up. This group lists commands from an index (name -> module, one-line help) and,
when a command runs, imports only its module and builds only that module's commands.

The index is written by hand in :mod:`ferry.cli` next to the list of modules; a command the index
does not know still works (the group then loads every module, as before, only slower), and
``tests/test_cli.py`` checks that the index says what the real commands say.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

__all__ = ["LazyGroup", "module_commands"]

_built: dict[str, TyperGroup] = {}


def module_commands(module: str) -> TyperGroup:
    """The commands ``ferry.cli.<module>`` registers, built once per process."""
    group = _built.get(module)
    if group is None:
        sub = typer.Typer()
        importlib.import_module(f"ferry.cli.{module}").register(sub)
        group = _built[module] = typer.main.get_group(sub)
    return group


class LazyGroup(TyperGroup):
    """A Typer group over ``modules`` whose commands load on first use (see the module docstring).

    Subclasses set ``modules`` (registration order) and ``index`` (command name -> (module,
    the first paragraph of its help)).
    """

    modules: list[str] = []
    index: dict[str, tuple[str, str]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._listing = False

    def _index_complete(self) -> bool:
        return set(self.modules) <= {module for module, _help in self.index.values()}

    def _everything(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        commands: dict[str, Any] = {}
        groups: dict[str, Any] = {}
        for module in self.modules:
            for name, command in module_commands(module).commands.items():
                (groups if isinstance(command, TyperGroup) else commands)[name] = command
        found.update(commands)
        found.update(groups)  # Typer lists plain commands before groups
        return found

    def list_commands(self, ctx) -> list[str]:
        if self._index_complete():
            return list(self.index)
        return list(self._everything())

    def get_command(self, ctx, cmd_name: str):
        entry = self.index.get(cmd_name)
        if self._listing and entry is not None:  # help only needs the name and one line
            return TyperCommand(name=cmd_name, help=entry[1])
        if entry is not None:
            found = module_commands(entry[0]).commands.get(cmd_name)
            if found is not None:
                return found
        return self._everything().get(cmd_name)

    def resolve_command(self, ctx, args):
        """As Typer's, whose "Did you mean" reads ``self.commands`` (empty here) instead of the index."""
        from difflib import get_close_matches

        from typer import _click

        try:
            return super().resolve_command(ctx, args)
        except _click.exceptions.UsageError as exc:
            matches = get_close_matches(args[0], self.list_commands(ctx)) if args and self.suggest_commands else []
            if matches:
                exc.message = f"{exc.message.rstrip('.')}. Did you mean {', '.join(repr(m) for m in matches)}?"
            raise

    def format_help(self, ctx, formatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False
