"""Shared CLI plumbing: one console, settings, quiet Prefect, errors as one line, exit codes."""

from __future__ import annotations

import functools
import sys
from typing import NoReturn

import typer
from rich.console import Console

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


class ExitCode:
    """Exit codes of ``ferry`` commands (documented in the README)."""

    OK = 0
    ITEM_FAILURES = 1  # the transfer completed, some items failed (listed)
    USAGE = 2  # bad input: fix the command or the file it names
    FAILED = 3  # systemic failure; the job is resumable with `ferry resume`
    PAUSED = 4  # paused: destination full, waiting for the source, or credential needs re-authorization
    CANCELED = 5
    INTERRUPTED = 130


def fail(message: str, code: int = ExitCode.USAGE) -> NoReturn:
    """One red line (the message is data: escaped, control characters stripped) and an exit code."""
    from ._safe_text import safe

    # soft_wrap: one line however narrow the terminal, so scripts and logs get it whole
    err_console.print(f"[bold red]error:[/] {safe(message)}", soft_wrap=True)
    raise typer.Exit(code)


def load(**overrides):
    """Load settings and quiet Prefect defaults (PREFECT_HOME under the data dir).

    A bad setting is one line naming it (``SettingsError``), exit 2.
    """
    from ferry.prefect_env import quiet_prefect_defaults
    from flows.settings import SettingsError, load_settings

    try:
        settings = load_settings(**overrides)
    except SettingsError as exc:
        fail(str(exc))
    quiet_prefect_defaults(settings.data_dir / "prefect", log_level=settings.log_level.upper())
    return settings


def context(settings=None, **overrides):
    """The command's :class:`flows.context.FerryContext`, built once (settings, job store).

    ``settings``: the command's settings when it already loaded them (:func:`load`).
    An unusable job store (unreachable, corrupt, unknown scheme, a mistyped path) is one line
    naming FERRY_DATABASE_URL, exit 2.
    """
    from flows.context import open_context

    return open_context(settings or load(**overrides))


def friendly_errors(func):
    """Turn ferry's own errors into one red line and an exit code instead of a traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from connectors.errors import ConfigError, FerryError

        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/]")
            raise typer.Exit(ExitCode.INTERRUPTED)
        except ConfigError as exc:
            fail(str(exc), ExitCode.USAGE)
        except FerryError as exc:
            fail(str(exc), ExitCode.FAILED)
        except LookupError as exc:  # JobNotFound and friends
            fail(str(exc.args[0]) if exc.args else str(exc), ExitCode.USAGE)

    return wrapper


def human_bytes(n: int | float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def is_tty() -> bool:
    return sys.stderr.isatty()


def run_server(web, *, host: str, port: int, log_level: str = "warning") -> None:
    """Serve an ASGI app with uvicorn until SIGINT/SIGTERM, then exit *normally*.

    Why: uvicorn shuts down gracefully on SIGTERM and then re-raises the signal with the default
    handler, which kills the process before ``atexit`` runs, so a temporary Prefect server that
    a webhook-triggered resume started (Prefect stops it in an ``atexit`` hook) outlived
    ``ferry serve-webhooks``. Turning the re-raised SIGTERM into ``SystemExit`` lets it stop.
    """
    import signal

    import uvicorn

    def exit_normally(signum, _frame) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, exit_normally)
    uvicorn.run(web, host=host, port=port, log_level=log_level.lower())
