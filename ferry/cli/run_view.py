"""Running a job from the terminal: hand the request over, show progress, print the summary.

Where a run happens (:func:`run_request`): in ferry's runner by default (:mod:`ferry.runner`: a
background process per data dir that keeps Prefect imported and its server up, so the command
itself never imports Prefect), or in this process with ``FERRY_RUNNER=off``. Both go through
:class:`ferry.runner.service.TransferService` and report the same events, so the terminal shows
the same bars, table and exit code either way.

Ctrl-C (and SIGTERM) ask the job to stop after the item in flight: outcomes are recorded, the
job ends PAUSED ("interrupted"), the command prints the resume command and exits 130, with no
traceback. A second Ctrl-C stops the command at once; the job stays resumable (in the runner it
still stops after the item in flight, because the command's connection closed).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import typer
from rich.progress import BarColumn, Progress, ProgressColumn, SpinnerColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from ._common import ExitCode, console, err_console, fail, human_bytes
from ._safe_text import safe

EXIT_BY_STATE = {
    "COMPLETE": ExitCode.OK,
    "FAILED": ExitCode.FAILED,
    "PAUSED": ExitCode.PAUSED,
    "WAITING": ExitCode.PAUSED,
    "NEEDS_REAUTH": ExitCode.PAUSED,
    "CANCELED": ExitCode.CANCELED,
    "RUNNING": ExitCode.FAILED,
    "NEW": ExitCode.FAILED,
}


class RateColumn(ProgressColumn):
    """Items per second on the items bar, bytes per second on the bytes bar."""

    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        if not speed:
            return Text("", style="progress.data.speed")
        if task.fields.get("unit") == "bytes":
            return Text(f"{human_bytes(speed)}/s", style="progress.data.speed")
        return Text(f"{speed:,.0f} items/s", style="progress.data.speed")


class EtaColumn(TimeRemainingColumn):
    """An ETA only once there is a total and a rate: nothing that counts up while starting."""

    def render(self, task) -> Text:
        if not task.total or not task.speed:
            return Text("")
        return Text("ETA ") + super().render(task)


class ProgressView:
    """Drives Rich bars from one job's progress events (see flows.progress): items, bytes delivered
    and, when the source fetches a big file first (the TikTok zip), that download."""

    def __init__(self, job_id: str, enabled: bool = True):
        self.job_id = job_id
        self._lock = threading.Lock()
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<14}"),
            BarColumn(),
            TextColumn("{task.fields[count]}"),
            RateColumn(),
            EtaColumn(),
            TimeElapsedColumn(),
            console=err_console,
            disable=not enabled,
        )
        self.items_task = self.progress.add_task("starting", total=None, count="", unit="items")
        self.bytes_task = self.progress.add_task("bytes", total=None, count="", unit="bytes")
        self.download_task = None  # added when the source starts a download
        self._totals: dict[str, int] = {}
        self._done: dict[str, int] = {}
        self._vertical = ""

    def __call__(self, job_id: str, kind: str, value) -> None:
        if job_id != self.job_id:
            return
        with self._lock:
            if kind == "vertical_start":  # [vertical, total or None, done before this run]
                name, total, before = value
                self._totals[str(name)] = int(total) if total else None
                self._done[str(name)] = max(self._done.get(str(name), 0), int(before or 0))
                self._switch(str(name), force=True)
            elif kind == "vertical":
                self._switch(str(value))
            elif kind == "items":
                self._done[self._vertical] = self._done.get(self._vertical, 0) + int(value)
                self.progress.advance(self.items_task, value)
            elif kind == "expect_items":
                self._totals[self._vertical] = (self._totals.get(self._vertical) or 0) + int(value)
                self.progress.update(self.items_task, total=self._totals[self._vertical])
            elif kind == "bytes":
                self.progress.advance(self.bytes_task, value)
            elif kind == "expect_bytes":
                total = self.progress.tasks[self.bytes_task].total or 0
                self.progress.update(self.bytes_task, total=total + int(value))
            elif kind in ("download_start", "download_bytes"):
                self._download(kind, int(value))
                return
            self._show_counts()

    def _switch(self, vertical: str, *, force: bool = False) -> None:
        """Show ``vertical`` on the items bar. Only a change of vertical (or its start) resets the
        bar: resetting on every page would throw away the rate, and with it the ETA."""
        if vertical == self._vertical and not force:
            return
        self._vertical = vertical
        self.progress.reset(self.items_task, total=self._totals.get(vertical), completed=self._done.get(vertical, 0))
        self.progress.update(self.items_task, description=safe(vertical))

    def _show_counts(self) -> None:
        """``12/40 items``; a total the count has passed (a source's estimate) grows with it, so
        the bar never shows more done than there is."""
        items = self.progress.tasks[self.items_task]
        if items.total is not None and items.completed > items.total:
            self._totals[self._vertical] = int(items.completed)
            self.progress.update(self.items_task, total=items.completed)
        shown = f"{int(items.completed)}/{int(items.total)}" if items.total else f"{int(items.completed)}"
        self.progress.update(self.items_task, count=f"{shown} items")
        self.progress.update(self.bytes_task, count=human_bytes(self.progress.tasks[self.bytes_task].completed))

    def _download(self, kind: str, value: int) -> None:
        """A new download restarts the bar (a retry after a truncated one starts over)."""
        if self.download_task is None:
            self.download_task = self.progress.add_task("download", total=None, count="", unit="bytes")
        if kind == "download_start":
            self.progress.reset(self.download_task, total=value or None, completed=0)
        else:
            self.progress.advance(self.download_task, value)
        task = self.progress.tasks[self.download_task]
        shown = human_bytes(task.completed) + (f" of {human_bytes(task.total)}" if task.total else "")
        self.progress.update(self.download_task, count=shown)

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()


@dataclass
class RunOutcome:
    """What a run came to: the job's summary, whether the user stopped it, when a WAITING source is due."""

    job: dict[str, Any]
    summary: Any  # flows.pages.RunSummary
    interrupted: bool
    wake_in: float | None = None


@contextmanager
def stop_on_signals(first: Callable[[], None]) -> Iterator[None]:
    """First Ctrl-C/SIGTERM: ``first()`` (stop after the item in flight). Second: KeyboardInterrupt now."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    asked = threading.Event()

    def handler(signum, frame):
        if asked.is_set():
            raise KeyboardInterrupt
        asked.set()
        err_console.print("[yellow]stopping after the item in flight…[/] (Ctrl-C again to stop at once)")
        first()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class _Events:
    """Turns the service's events into terminal output and, at the end, a :class:`RunOutcome`."""

    def __init__(self, on_job: Callable[[dict], None], show_progress: bool):
        self.on_job = on_job
        self.view: ProgressView | None = None
        self.show_progress = show_progress
        self.job: dict[str, Any] = {}
        self.outcome: RunOutcome | None = None
        self.error: tuple[int, str] | None = None

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "job":
            self.job = event
            self.on_job(event)
            if self.view is None:
                self.view = ProgressView(str(event["id"]), enabled=self.show_progress)
                self.view.__enter__()
        elif kind == "note":
            console.print(safe(event.get("text", "")))
        elif kind == "progress" and self.view is not None:
            for name, value in event.get("events", []):
                self.view(self.view.job_id, name, value)
        elif kind == "done":
            from flows.pages import RunSummary

            self.close()
            self.outcome = RunOutcome(self.job, RunSummary.model_validate(event["summary"]), bool(event.get("interrupted")), event.get("wake_in"))
        elif kind == "error":
            self.close()
            self.error = (int(event.get("code", ExitCode.FAILED)), str(event.get("message", "failed")))

    def close(self) -> None:
        if self.view is not None:
            self.view.__exit__(None, None, None)
            self.view = None


def run_request(settings, request: dict[str, Any], *, show_progress: bool, on_job: Callable[[dict], None], ctx_factory: Callable[[], Any] | None = None) -> RunOutcome:
    """Run a transfer/resume request (see :mod:`ferry.runner.protocol`) in the runner or here.

    Exits (typer.Exit) with the service's code and one line when the request is refused, and
    with 3 when the runner is lost mid-run (the job stays resumable).
    """
    events = _Events(on_job, show_progress)
    request = dict(request, progress=show_progress)
    try:
        if settings.runner:
            _via_runner(settings, request, events)
        else:
            _in_process(settings, request, events, ctx_factory)
    except KeyboardInterrupt:  # the second Ctrl-C: leave now, the job stays resumable
        events.close()
        job = str(events.job.get("id", ""))[:8]
        err_console.print(f"[yellow]interrupted[/]: job {job} stops after the item in flight" if job else "[yellow]interrupted[/]")
        if job:
            console.print(f"Resume with: ferry resume {job}")
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    finally:
        events.close()
    if events.error is not None:
        fail(events.error[1], events.error[0])
    if events.outcome is None:  # pragma: no cover - the service always ends with done or error
        fail("the run ended without a summary", ExitCode.FAILED)
    return events.outcome


def _in_process(settings, request: dict[str, Any], events: _Events, ctx_factory) -> None:
    from ferry.runner.service import StopLink, TransferService

    ctx = ctx_factory() if ctx_factory is not None else None
    link = StopLink()
    with stop_on_signals(link.stop):
        TransferService().handle(request, events, link, ctx=ctx)


def _via_runner(settings, request: dict[str, Any], events: _Events) -> None:
    from ferry.runner.client import RunnerError, RunnerGone, connect
    from ferry.runner.protocol import settings_payload

    try:
        conn = connect(settings, announce=lambda line: err_console.print(f"[dim]{safe(line)}[/]"))
    except (RunnerError, OSError) as exc:
        fail(str(exc), ExitCode.FAILED)
    try:
        with stop_on_signals(conn.stop):
            conn.send(dict(request, settings=settings_payload(settings)))
            for event in conn.events():
                events(event)
    except RunnerGone as exc:
        job = events.job.get("id")
        hint = f"; the job is resumable: ferry resume {str(job)[:8]}" if job else ""
        fail(f"{exc}{hint}", ExitCode.FAILED)
    finally:
        conn.close()


def print_summary(summary, *, where: str | None = None, interrupted: bool = False, max_errors: int = 10) -> int:
    """Print the per-vertical table, failed items, what was not transferred and next steps.

    Returns the exit code. Every name and message is data (escaped for Rich).
    """
    short = summary.job_id[:8]
    table = Table(title=f"Transfer {short} — {summary.state}", title_justify="left")
    for column in ("type", "imported", "already there", "failed", "bytes"):
        table.add_column(column, justify="left" if column == "type" else "right")
    for vertical, figures in sorted(summary.per_vertical.items()):
        table.add_row(safe(vertical), str(figures.imported), str(figures.skipped), str(figures.failed), human_bytes(figures.bytes))
    table.add_section()
    table.add_row("total", str(summary.imported), str(summary.skipped), str(summary.failed), human_bytes(summary.bytes))
    console.print(table)
    if summary.in_doubt:
        console.print(f"[yellow]{summary.in_doubt} item(s) were being sent when the run stopped[/]: `ferry resume {short}` settles them")
    if summary.errors:
        console.print(f"[yellow]{summary.failed} item(s) failed[/] (first {min(max_errors, len(summary.errors))}):")
        for error in summary.errors[:max_errors]:
            console.print(f"  • [bold]{safe(error.item or error.item_id)}[/] ({safe(error.vertical or '-')}): {safe(error.message)}")
    unreadable = [p for p in summary.problems if p.kind == "failed"]
    if unreadable:
        console.print(f"[yellow]{summary.unreadable} entr{'y' if summary.unreadable == 1 else 'ies'} of the source could not be read[/]:")
        for problem in unreadable[:max_errors]:
            console.print(f"  • [bold]{safe(problem.subject)}[/]: {safe(problem.message)}")
    if summary.not_transferred:
        left = [p for p in summary.problems if p.kind != "failed"]
        console.print(f"{summary.not_transferred} file(s) of the source were not transferred:")
        for problem in left[:max_errors]:
            console.print(f"  • {safe(problem.subject)}: {safe(problem.message)}")
    if summary.errors or unreadable or summary.not_transferred:
        console.print(f"  full list: ferry jobs show {short} --errors")
    _print_renamed(summary, max_errors)
    state = summary.state
    if interrupted and state in ("PAUSED", "RUNNING"):
        console.print(f"[yellow]interrupted[/]: job {short} stopped after the item in flight")
        console.print(f"Resume with: ferry resume {short}")
        return ExitCode.INTERRUPTED
    if summary.reason and state != "COMPLETE":
        console.print(f"[yellow]{state}[/]: {safe(summary.reason)}")
    for credential in summary.credentials_to_fix:
        cid = safe(credential.id[:8])
        if credential.status in ("REVOKED", "REVOKING"):
            console.print(
                f"Credential {cid} ({safe(credential.connector)}) was revoked: authorize again with "
                f"`ferry auth login {safe(credential.connector)}` and start a new transfer"
            )
        else:
            console.print(f"Authorize again with: ferry reconnect {cid}, then ferry resume {short}")
    if state in ("FAILED", "PAUSED", "RUNNING") and not summary.credentials_to_fix:
        console.print(f"Resume with: ferry resume {short}")
    if state == "WAITING":
        console.print(f"ferry resumes it when the source is ready (`ferry wake`, or `ferry resume {short} --wait`)")
    if where and state == "COMPLETE":
        console.print(f"Your data is in: [bold]{safe(where)}[/]")
    return exit_code(summary)


def _print_renamed(summary, limit: int) -> None:
    """Why ``Holiday (1a2b3c4d)``: the name was taken at the destination (another album, files
    ferry did not write), so the item's id was added to keep both; nothing was overwritten."""
    if not summary.renamed:
        return
    console.print(
        f"{summary.renamed_count or len(summary.renamed)} item(s) got their id added to their name, because the name was "
        "already taken at the destination (by another album or files ferry did not write); both are kept, nothing was overwritten:"
    )
    for entry in summary.renamed[:limit]:
        console.print(f"  • {safe(entry.kind)} [bold]{safe(entry.item or '?')}[/] → {safe(entry.destination)}")


def exit_code(summary, *, interrupted: bool = False) -> int:
    """The exit code of a run: by its final state, and 1 for a complete run with failures."""
    if interrupted and summary.state in ("PAUSED", "RUNNING"):
        return ExitCode.INTERRUPTED
    code = EXIT_BY_STATE.get(summary.state, ExitCode.FAILED)
    if code == ExitCode.OK and summary.failures:
        code = ExitCode.ITEM_FAILURES
    return code
