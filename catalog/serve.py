"""Local preview: build the site, serve it on 127.0.0.1 and rebuild when content changes.

Why polling instead of a file-watching dependency: a catalog is a few hundred small files, so
comparing (path, mtime, size) once a second is cheap, portable and needs nothing installed.
A failing rebuild is reported and the last good site keeps being served.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .model import ConnectorInfo
from .site import BuildReport, build_site

__all__ = ["PreviewServer", "snapshot"]


def snapshot(*roots: Path | None) -> frozenset[tuple[str, int, int]]:
    """(path, mtime_ns, size) of every file under the given files or folders."""
    entries = set()
    for root in roots:
        if root is None or not root.exists():
            continue
        files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
        for path in files:
            try:
                stat = path.stat()
            except FileNotFoundError:  # removed while scanning; the next poll sees it
                continue
            entries.add((str(path), stat.st_mtime_ns, stat.st_size))
    return frozenset(entries)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass


class PreviewServer:
    """Serves ``out_dir`` over HTTP and rebuilds it from the content when files change.

    Args:
        solutions_dir / services_file / out_dir / connectors: as for :func:`build_site`.
        host / port: where to listen (port 0 picks a free one; see :attr:`url`).
        interval: seconds between change checks.
        on_build: called with each :class:`BuildReport` (or the exception of a failed build).
    """

    def __init__(
        self,
        solutions_dir: Path | str,
        services_file: Path | str | None,
        out_dir: Path | str,
        connectors: Sequence[ConnectorInfo] = (),
        *,
        host: str = "127.0.0.1",
        port: int = 8000,
        interval: float = 1.0,
        on_build: Callable[[BuildReport | Exception], None] | None = None,
    ) -> None:
        self.solutions_dir = Path(solutions_dir)
        self.services_file = Path(services_file) if services_file else None
        self.out_dir = Path(out_dir)
        self.connectors = list(connectors)
        self.interval = interval
        self.on_build = on_build or (lambda _: None)
        self.builds = 0
        self._stop = threading.Event()
        self._seen: frozenset[tuple[str, int, int]] = frozenset()
        self.rebuild()
        handler = functools.partial(_QuietHandler, directory=str(self.out_dir))
        self._httpd = ThreadingHTTPServer((host, port), handler)
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def rebuild(self) -> None:
        """Build now (also records the content snapshot the watcher compares against)."""
        self._seen = snapshot(self.solutions_dir, self.services_file)
        try:
            report: BuildReport | Exception = build_site(
                self.solutions_dir, self.services_file, self.out_dir, self.connectors
            )
            self.builds += 1
        except Exception as exc:  # keep serving the last good site; tell the caller why
            report = exc
        self.on_build(report)

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            if snapshot(self.solutions_dir, self.services_file) != self._seen:
                self.rebuild()

    def start(self) -> PreviewServer:
        """Serve and watch in background threads; returns self."""
        for target in (self._httpd.serve_forever, self._watch):
            thread = threading.Thread(target=target, daemon=True, name=f"portmap-{target.__name__}")
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> PreviewServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
