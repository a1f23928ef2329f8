"""Process-local progress fan-out: tasks report, whoever listens (the CLI's Rich bars) hears.

Why process-local: Prefect tasks of an in-process flow run in this process, and a progress bar
cannot travel through Prefect parameters. Remote runs (workers) report through Prefect progress
artifacts instead (see flows.monitoring).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["ProgressEvent", "subscribe", "unsubscribe", "JobProgress"]

#: listener(job_id, kind, value): kind is "items", "bytes", "expect_items", "expect_bytes", "vertical".
Listener = Callable[[str, str, object], None]

_listeners: list[Listener] = []
_lock = threading.Lock()


class ProgressEvent:
    ITEMS = "items"
    BYTES = "bytes"
    EXPECT_ITEMS = "expect_items"
    EXPECT_BYTES = "expect_bytes"
    VERTICAL = "vertical"


def subscribe(listener: Listener) -> None:
    with _lock:
        _listeners.append(listener)


def unsubscribe(listener: Listener) -> None:
    with _lock:
        if listener in _listeners:
            _listeners.remove(listener)


def _emit(job_id: str, kind: str, value: object) -> None:
    for listener in list(_listeners):
        try:
            listener(job_id, kind, value)
        except Exception:  # a broken progress bar must never break a transfer
            pass


class JobProgress:
    """A ``connectors.progress.Progress`` that fans out to subscribers for one job."""

    def __init__(self, job_id: str):
        self.job_id = job_id
        self.items = 0
        self.bytes = 0
        self._counting = threading.Lock()  # importers may report bytes from several copy threads

    def advance(self, *, items: int = 0, bytes: int = 0) -> None:
        if items:
            with self._counting:
                self.items += items
            _emit(self.job_id, ProgressEvent.ITEMS, items)
        if bytes:
            with self._counting:
                self.bytes += bytes
            _emit(self.job_id, ProgressEvent.BYTES, bytes)

    def expect(self, *, items: int = 0, bytes: int = 0) -> None:
        if items:
            _emit(self.job_id, ProgressEvent.EXPECT_ITEMS, items)
        if bytes:
            _emit(self.job_id, ProgressEvent.EXPECT_BYTES, bytes)

    def vertical(self, name: str) -> None:
        _emit(self.job_id, ProgressEvent.VERTICAL, name)
