"""The TikTok download's place in staging: the job's zip, and nothing else.

The staging URL is private to the job (the framework gives each job its own folder and clears it
when the job ends). Which request the zip belongs to is kept in the job's state slot
(:mod:`.state`), not in a file here.

Downloads are written to ``<name>.partial-<random>`` (:mod:`connectors.atomicfile`) and renamed
only after the zip's central directory checks out, so a truncated file never shows under its
real name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import IO, Any

import fsspec

from ..atomicfile import BinarySink, open_atomic
from ..errors import RetryableError
from ..zipsafety import zip_entry_count

__all__ = ["Staging"]


class Staging:
    """fsspec-backed staging folder for one job's TikTok download."""

    def __init__(self, url: str, storage_options: Mapping[str, Any] | None = None) -> None:
        self.fs, root = fsspec.core.url_to_fs(url, **dict(storage_options or {}))
        self.root = root.rstrip("/")
        self.fs.makedirs(self.root, exist_ok=True)

    def path(self, name: str) -> str:
        return f"{self.root}/{name}"

    def zip_name(self, request_id: int, download: int) -> str:
        """Each download of a request has its own name: a zip downloaded again (for fresh media
        links) never replaces one that streams may still be reading."""
        return f"tiktok-{request_id}-{download}.zip"

    def has_zip(self, request_id: int, download: int) -> bool:
        return self.fs.exists(self.path(self.zip_name(request_id, download)))

    def open_zip(self, request_id: int, download: int) -> IO[bytes]:
        return self.fs.open(self.path(self.zip_name(request_id, download)), "rb")

    def discard(self, request_id: int) -> None:
        """Remove every download of the request (and any partial one)."""
        prefix = f"tiktok-{request_id}-"
        for path in self.fs.ls(self.root, detail=False):
            if path.rstrip("/").rsplit("/", 1)[-1].startswith(prefix):
                self.fs.rm(path)

    def receive(self, request_id: int, download: int, fetch: Callable[[BinarySink], int]) -> int:
        """Run ``fetch(sink)`` into a partial file, verify it, rename it; return its size.

        Raises:
            RetryableError: the bytes are not a complete zip (truncated download); the partial
                file is removed so the retry starts clean.
        """
        with open_atomic(self.fs, self.path(self.zip_name(request_id, download))) as sink:
            size = fetch(sink)
            sink.close()
            self._verify_zip(sink.path, request_id)
        return size

    def _verify_zip(self, path: str, request_id: int) -> None:
        """The zip's end record is there (a cut download has none); nothing is indexed yet.

        The member count and every member are checked when the export is read
        (:func:`.parse.open_zip`), where a hostile zip is named, not retried.
        """
        try:
            with self.fs.open(path, "rb") as fh:
                complete = zip_entry_count(fh) is not None
        except OSError:
            complete = False
        if not complete:
            raise RetryableError(f"TikTok download of request {request_id} is not a complete zip (no end record); downloading again")
