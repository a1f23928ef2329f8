"""The ``ferry`` command line (Typer + Rich).

Each command group lives in its own module with a ``register(app)`` function. Modules import
only Typer and Rich at the top; Prefect, SQLModel and connectors are imported inside commands.
The root group (:mod:`._lazy`) lists commands from :data:`COMMAND_INDEX` and imports a command's
module only when that command runs, so ``ferry --help`` and a command refusing bad input start
fast (bench/compare.py measures both).
"""

from __future__ import annotations

import typer

from ._lazy import LazyGroup

#: Command modules under ferry.cli, in registration order (help lists commands in this order,
#: plain commands before groups).
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

#: Every command: its module and the first paragraph of its help, as ``ferry --help`` shows it.
#: A new command goes here too (tests/test_cli.py compares this with the real commands); until it
#: does, the CLI still finds it, by loading every module.
COMMAND_INDEX: dict[str, tuple[str, str]] = {
    "transfer": ("transfer", "Move data from SOURCE to DESTINATION once, with progress, resumable if interrupted."),
    "wake": ("transfer", "Resume transfers whose source said it would be ready by now (polling fallback to webhooks)."),
    "resume": ("transfer", "Resume a stopped, failed, paused or killed transfer where it stopped."),
    "cancel": (
        "transfer",
        "Cancel a transfer: a running one stops after its current page; the source's pending request is canceled, staged data removed, unused credentials revoked.",
    ),
    "demo": ("transfer", "Generate a sample Meta archive and transfer it into a local folder (SQLite job store)."),
    "check": ("preview", "Check a transfer could start now: credentials work, the source reads, the destination writes."),
    "ls": ("preview", "List what a source holds, item by item, then totals per type; nothing is copied."),
    "sample-archive": ("sample", "Write a sample Facebook/Instagram 'Download Your Information' archive (JSON, with Meta's quirks)."),
    "serve-webhooks": ("webhooks", "Receive TikTok's data-ready webhooks and wake the waiting transfers."),
    "report": ("report", "Item success and failure rates per source → destination pair; flags pairs above 1% failures."),
    "reconnect": ("reconnect", "List credentials that expire soon or died, and re-authorize them one after another."),
    "serve-expiry-notices": ("reconnect", "Receive \"access will expire at T\" notices (Meta's webhook, or ferry's own body) into the credential store."),
    "serve-destination": ("serve", "Serve POST <base>/media, /blobs, /calendar, /social-posts plus an OAuth authorization server."),
    "conformance": ("conformance", "Send every payload type, repeats, a bad token and malformed bodies; exit 1 if any check fails."),
    "verify": (
        "verify",
        "Re-check every item JOB delivered at its destination: there, same size, same hash where the destination can tell. Exit 1 if anything is missing or changed.",
    ),
    "jobs": ("jobs", "List, inspect and prune transfer jobs."),
    "connectors": ("connectors_cmd", "The connectors ferry knows (built-in and installed plugins)."),
    "catalog": ("catalog", "The portmap catalog: solution pages that say how to move data between services."),
    "recurring": ("recurring", "Recurring transfers: create, list, show, pause, resume, reset, cancel."),
    "auth": ("auth", "Authorize ferry with OAuth 2.0 and manage the stored credentials."),
    "db": ("verify", "The job store's schema: where it stands, and upgrading it."),
    "server": (
        "server_cmd",
        "ferry's background runner: it keeps Prefect and a local Prefect server up so commands start fast. `transfer`, `resume`, `wake` and `demo` start it when needed; it stops by itself after runner_idle_seconds (default 300) without work.",
    ),
}


class _Root(LazyGroup):
    modules = COMMAND_MODULES
    index = COMMAND_INDEX


app = typer.Typer(
    name="ferry",
    cls=_Root,
    help="Move a person's data (photos, videos, posts, calendars, files) between services, once or on a schedule.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root() -> None:
    """(The commands live in COMMAND_MODULES; this callback makes the app a group.)"""


def main() -> None:  # pragma: no cover - console entry point
    app()
