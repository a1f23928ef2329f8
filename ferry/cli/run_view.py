"""Running a job from the terminal: Rich progress bars while it runs, a summary table after.

Ctrl-C (and SIGTERM) ask the job to stop after the item in flight: outcomes are recorded, the
job ends PAUSED ("interrupted"), the command prints the resume command and exits 130, with no
traceback. A second Ctrl-C stops at once (the job stays resumable: its lease expires, the ledger
has every outcome that was confirmed).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, Progress, ProgressColumn, SpinnerColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from ._common import ExitCode, console, err_console, human_bytes
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
    """Subscribes to flows.progress for one job and drives Rich bars: items, bytes delivered and,
    when the source fetches a big file first (the TikTok zip), that download."""

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
            if kind == "vertical":
                self._vertical = str(value)
                self.progress.reset(self.items_task, total=self._totals.get(self._vertical), completed=self._done.get(self._vertical, 0))
                self.progress.update(self.items_task, description=safe(value))
            elif kind == "items":
                self._done[self._vertical] = self._done.get(self._vertical, 0) + int(value)
                self.progress.advance(self.items_task, value)
            elif kind == "expect_items":
                self._totals[self._vertical] = self._totals.get(self._vertical, 0) + int(value)
                self.progress.update(self.items_task, total=self._totals[self._vertical])
            elif kind == "bytes":
                self.progress.advance(self.bytes_task, value)
            elif kind == "expect_bytes":
                total = self.progress.tasks[self.bytes_task].total or 0
                self.progress.update(self.bytes_task, total=total + int(value))
            elif kind in ("download_start", "download_bytes"):
                self._download(kind, int(value))
                return
            items = self.progress.tasks[self.items_task]
            total = items.total
            shown = f"{int(items.completed)}/{int(total)}" if total and items.completed <= total else f"{int(items.completed)}"
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
        from flows.progress import subscribe

        subscribe(self)
        self.progress.start()
        return self

    def __exit__(self, *exc):
        from flows.progress import unsubscribe

        unsubscribe(self)
        self.progress.stop()


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """First Ctrl-C/SIGTERM: stop after the item in flight. Second: KeyboardInterrupt now."""
    from flows.runtime import clear_stop, request_stop, stop_requested

    clear_stop()
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        if stop_requested():
            raise KeyboardInterrupt
        err_console.print("[yellow]stopping after the item in flight…[/] (Ctrl-C again to stop at once)")
        request_stop()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run_with_progress(ctx, job_id: str, *, show_progress: bool = True, force: bool = False):
    """Run the transfer flow for ``job_id`` in this process; returns ``(summary, interrupted)``."""
    from flows.runtime import stop_requested
    from flows.summary import summarize
    from flows.transfer import transfer

    with stop_on_signals(), ProgressView(job_id, enabled=show_progress):
        transfer(job_id=job_id, force=force, return_state=True)
        interrupted = stop_requested()
    return summarize(ctx, job_id), interrupted


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
    state = summary.state
    if interrupted and state in ("PAUSED", "RUNNING"):
        console.print(f"[yellow]interrupted[/]: job {short} stopped after the item in flight")
        console.print(f"Resume with: ferry resume {short}")
        return ExitCode.INTERRUPTED
    if summary.reason and state != "COMPLETE":
        console.print(f"[yellow]{state}[/]: {safe(summary.reason)}")
    for credential in summary.credentials_to_fix:
        cid = safe(credential.id[:8])
        if credential.status == "REVOKED":
            console.print(
                f"Credential {cid} ({safe(credential.connector)}) was revoked: authorize again with "
                f"`ferry auth login {safe(credential.connector)}` and start a new transfer"
            )
        else:
            console.print(f"Authorize again with: ferry reconnect --credential {cid}, then ferry resume {short}")
    if state in ("FAILED", "PAUSED", "RUNNING") and not summary.credentials_to_fix:
        console.print(f"Resume with: ferry resume {short}")
    if state == "WAITING":
        console.print(f"ferry resumes it when the source is ready (`ferry wake`, or `ferry resume {short} --wait`)")
    if where and state == "COMPLETE":
        console.print(f"Your data is in: [bold]{safe(where)}[/]")
    return exit_code(summary)


def exit_code(summary, *, interrupted: bool = False) -> int:
    """The exit code of a run: by its final state, and 1 for a complete run with failures."""
    if interrupted and summary.state in ("PAUSED", "RUNNING"):
        return ExitCode.INTERRUPTED
    code = EXIT_BY_STATE.get(summary.state, ExitCode.FAILED)
    if code == ExitCode.OK and summary.failures:
        code = ExitCode.ITEM_FAILURES
    return code
