"""Running a job from the terminal: Rich progress bars while it runs, a summary table after."""

from __future__ import annotations

import threading

from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text
from rich.table import Table

from ._common import ExitCode, console, err_console, human_bytes

EXIT_BY_STATE = {
    "COMPLETE": ExitCode.OK,
    "FAILED": ExitCode.FAILED,
    "PAUSED": ExitCode.PAUSED,
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


class ProgressView:
    """Subscribes to flows.progress for one job and drives two Rich bars: items and bytes."""

    def __init__(self, job_id: str, enabled: bool = True):
        self.job_id = job_id
        self._lock = threading.Lock()
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<14}"),
            BarColumn(),
            TextColumn("{task.fields[count]}"),
            RateColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TimeElapsedColumn(),
            console=err_console,
            disable=not enabled,
        )
        self.items_task = self.progress.add_task("starting", total=None, count="", unit="items")
        self.bytes_task = self.progress.add_task("bytes", total=None, count="", unit="bytes")

    def __call__(self, job_id: str, kind: str, value) -> None:
        if job_id != self.job_id:
            return
        with self._lock:
            items = self.progress.tasks[self.items_task]
            if kind == "items":
                self.progress.advance(self.items_task, value)
            elif kind == "bytes":
                self.progress.advance(self.bytes_task, value)
            elif kind == "expect_items":
                self.progress.update(self.items_task, total=(items.total or 0) + value)
            elif kind == "vertical":
                self.progress.update(self.items_task, description=str(value))
            items = self.progress.tasks[self.items_task]
            total = f"/{int(items.total)}" if items.total else ""
            self.progress.update(self.items_task, count=f"{int(items.completed)}{total} items")
            moved = self.progress.tasks[self.bytes_task].completed
            self.progress.update(self.bytes_task, count=human_bytes(moved))

    def __enter__(self):
        from flows.progress import subscribe

        subscribe(self)
        self.progress.start()
        return self

    def __exit__(self, *exc):
        from flows.progress import unsubscribe

        unsubscribe(self)
        self.progress.stop()


def run_with_progress(job_id: str, *, show_progress: bool = True, force: bool = False) -> dict:
    """Run the transfer flow in this process for ``job_id`` and return its summary."""
    from flows.transfer import transfer

    with ProgressView(job_id, enabled=show_progress):
        return transfer(job_id=job_id, force=force)


def print_summary(summary: dict, *, where: str | None = None, max_errors: int = 10) -> int:
    """Print the per-vertical table, errors and next steps; return the exit code."""
    table = Table(title=f"Transfer {summary['job_id'][:8]} — {summary['state']}", title_justify="left")
    for column in ("type", "imported", "already there", "failed", "bytes"):
        table.add_column(column, justify="left" if column == "type" else "right")
    for vertical, figures in sorted(summary["per_vertical"].items()):
        table.add_row(
            vertical,
            str(figures.get("imported", 0)),
            str(figures.get("skipped", 0)),
            str(figures.get("failed", 0)),
            human_bytes(figures.get("bytes", 0)),
        )
    table.add_section()
    table.add_row("total", str(summary["imported"]), str(summary["skipped"]), str(summary["failed"]), human_bytes(summary["bytes"]))
    console.print(table)
    if summary["errors"]:
        console.print(f"[yellow]{summary['failed']} item(s) failed[/] (first {min(max_errors, len(summary['errors']))}):")
        for error in summary["errors"][:max_errors]:
            name = error["item"] or error["item_id"]
            console.print(f"  • [bold]{name}[/] ({error['vertical']}): {error['message']}")
        console.print(f"  full list: ferry jobs show {summary['job_id'][:8]} --errors")
    state = summary["state"]
    if summary.get("reason") and state != "COMPLETE":
        console.print(f"[yellow]{state}[/]: {summary['reason']}")
    if state in ("FAILED", "PAUSED", "NEEDS_REAUTH", "RUNNING"):
        console.print(f"Resume with: ferry resume {summary['job_id'][:8]}")
    if where and state == "COMPLETE":
        console.print(f"Your data is in: [bold]{where}[/]")
    return exit_code(summary)


def exit_code(summary: dict) -> int:
    """The exit code of a run: by its final state, and 1 for a complete run with failed items."""
    code = EXIT_BY_STATE.get(summary["state"], ExitCode.FAILED)
    if code == ExitCode.OK and summary["failed"]:
        code = ExitCode.ITEM_FAILURES
    return code
