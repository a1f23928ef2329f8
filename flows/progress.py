"""Process-local progress fan-out: tasks report, whoever listens (the CLI's Rich bars) hears.

Why process-local: Prefect tasks of an in-process flow run in this process, and a progress bar
cannot travel through Prefect parameters. Remote runs (workers) report through Prefect progress
artifacts instead (see flows.monitoring).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["ProgressEvent", "subscribe", "unsubscribe", "JobProgress", "SourceProgress"]

#: listener(job_id, kind, value): kind is one of :class:`ProgressEvent`.
Listener = Callable[[str, str, object], None]

_listeners: list[Listener] = []
_lock = threading.Lock()


class ProgressEvent:
    ITEMS = "items"  # items done (delivered or already there)
    BYTES = "bytes"  # bytes delivered to the destination
    EXPECT_ITEMS = "expect_items"
    EXPECT_BYTES = "expect_bytes"
    VERTICAL = "vertical"  # the vertical now being imported
    #: a vertical's first page of this run was listed: ``[vertical, total or None, done before]``
    #: (done before: what this job already delivered in it, so a resumed bar starts there)
    VERTICAL_START = "vertical_start"
    DOWNLOAD_START = "download_start"  # the source starts fetching a file of ``value`` bytes (0: unknown)
    DOWNLOAD_BYTES = "download_bytes"  # bytes of that file fetched


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
        self._started: set[str] = set()

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

    def started(self, name: str) -> bool:
        """Whether :meth:`start_vertical` was called for ``name`` in this run."""
        return name in self._started

    def start_vertical(self, name: str, *, total: int | None, done: int) -> None:
        """``name``'s size (None: unknown) and how much of it this job did before this run."""
        self._started.add(name)
        _emit(self.job_id, ProgressEvent.VERTICAL_START, [name, total, done])


class SourceProgress:
    """The exporter's ``connectors.progress.Progress``: a source's own long work (a download).

    Kept apart from :class:`JobProgress`, which counts what reaches the destination: the TikTok
    zip is fetched before any item moves, and its bytes are not delivered bytes. Each
    ``expect(bytes=n)`` announces a new download (a retry after a truncated one starts over),
    ``advance(bytes=k)`` reports what arrived; items reported here are ignored.
    """

    def __init__(self, job_id: str):
        self.job_id = job_id
        self.bytes = 0
        self.downloads = 0

    def advance(self, *, items: int = 0, bytes: int = 0) -> None:
        if bytes:
            self.bytes += bytes
            _emit(self.job_id, ProgressEvent.DOWNLOAD_BYTES, bytes)

    def expect(self, *, items: int = 0, bytes: int = 0) -> None:
        if bytes:
            self.downloads += 1
            self.bytes = 0
            _emit(self.job_id, ProgressEvent.DOWNLOAD_START, bytes)
