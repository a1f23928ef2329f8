"""``ferry server start|stop|status``: ferry's background runner (see :mod:`ferry.runner`)."""

from __future__ import annotations

import time
from typing import Annotated, Optional

import typer

from ._common import ExitCode, console, fail, friendly_errors, load
from ._safe_text import safe

server_app = typer.Typer(
    name="server",
    help="ferry's background runner: it keeps Prefect and a local Prefect server up so commands start fast. "
    "`transfer`, `resume`, `wake` and `demo` start it when needed; it stops by itself after runner_idle_seconds (default 300) without work.",
    no_args_is_help=True,
)


def _describe(state: dict) -> str:
    age = time.time() - float(state.get("started_at", time.time()))
    prefect = "its own Prefect server" if state.get("own_prefect_server") else "the Prefect server at PREFECT_API_URL"
    running = state.get("running") or []
    jobs = f"running {', '.join(j[:8] for j in running)}" if running else "idle"
    lines = [
        f"runner {state['key']} (pid {state['pid']}, up {age:.0f} s, {jobs}): {prefect} {safe(state.get('api_url'))}; "
        f"exits after {float(state.get('idle_seconds', 0)):.0f} s idle; log {safe(state.get('log'))}"
    ]
    if state.get("ui_url"):
        lines.append(f"  Prefect UI (every transfer's flow run): {safe(state['ui_url'])}")
    return "\n".join(lines)


def _startup(state: dict) -> str:
    """``started in 9.8 s (Prefect server ready after 9.6 s, its database created: once per data dir)``."""
    startup = state.get("startup") or {}
    if "total_s" not in startup:
        return ""
    parts = [f"flow imported after {startup['flow_imported_s']:.1f} s"] if "flow_imported_s" in startup else []
    if "prefect_ready_s" in startup:
        parts.append(f"Prefect server ready after {startup['prefect_ready_s']:.1f} s")
    if startup.get("new_prefect_database"):
        parts.append("its database created: once per data dir")
    return f"started in {startup['total_s']:.1f} s ({'; '.join(parts)})"


@server_app.command("start")
@friendly_errors
def start(
    idle: Annotated[Optional[float], typer.Option(help="Seconds without work before the runner exits (default: runner_idle_seconds).")] = None,
) -> None:
    """Start the runner for this data dir and environment now (or say that it runs)."""
    from ferry.runner.client import RunnerError, connect, runner_status

    overrides = {"runner_idle_seconds": idle} if idle is not None else {}
    settings = load(**overrides)
    started: list[str] = []

    def announce(line: str) -> None:
        started.append(line)
        console.print(f"[dim]{safe(line)}[/]")

    try:
        conn = connect(settings, announce=announce)
    except (RunnerError, OSError) as exc:
        fail(str(exc), ExitCode.FAILED)
    try:
        conn.send({"op": "hello"})
        hello = next(iter(conn.events()))
    finally:
        conn.close()
    for state in runner_status(settings.data_dir):
        if state.get("pid") == hello.get("pid"):
            if started and _startup(state):
                console.print(_startup(state))
            console.print(_describe(state))


@server_app.command("status")
@friendly_errors
def status() -> None:
    """List the runners of this data dir: pid, Prefect API, running jobs, idle timeout, log."""
    from ferry.runner.client import runner_status

    settings = load()
    alive = [s for s in runner_status(settings.data_dir) if s["alive"]]
    if not alive:
        console.print(f"No runner for {safe(settings.data_dir)}; the next transfer starts one.")
        return
    for state in alive:
        console.print(_describe(state))


@server_app.command("stop")
@friendly_errors
def stop() -> None:
    """Stop the runners of this data dir (and their Prefect servers); running jobs stop after the item in flight, resumable."""
    from ferry.runner.client import stop_runners

    settings = load()
    stopped = stop_runners(settings.data_dir)
    if not stopped:
        console.print("No runner was running.")
    for state in stopped:
        running = state.get("running") or []
        note = f"; stopped {', '.join(j[:8] for j in running)} (resume with `ferry resume JOB`)" if running else ""
        console.print(f"Stopped runner {state['key']} (pid {state['pid']}){note}.")


def register(app: typer.Typer) -> None:
    app.add_typer(server_app)
