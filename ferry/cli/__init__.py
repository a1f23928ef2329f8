"""The ``ferry`` command line (Typer + Rich).

Each command group lives in its own module with a ``register(app)`` function. Modules import
only Typer and Rich at the top; Prefect, SQLModel and connectors are imported inside commands,
so ``ferry --help`` answers fast.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="ferry",
    help="Move a person's data (photos, videos, posts, calendars, files) between services, "
    "once or on a schedule.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

#: Command modules under ferry.cli, registered in this order (help lists them as registered).
COMMAND_MODULES = [
    "transfer",
    "preview",
    "jobs",
    "connectors_cmd",
    "sample",
    "catalog",
    "webhooks",
    "recurring",
    "report",
    "reconnect",
    "auth",
    "serve",
    "conformance",
    "verify",
    "server_cmd",
]

for _name in COMMAND_MODULES:
    importlib.import_module(f"{__name__}.{_name}").register(app)


def main() -> None:  # pragma: no cover - console entry point
    app()
