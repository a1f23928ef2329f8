"""The TikTok download's place in staging: the job's zip, and nothing else.

The staging URL is private to the job (the framework gives each job its own folder and clears it
when the job ends). Which request the zip belongs to is kept in the job's state slot
(:mod:`.state`), not in a file here.

Downloads are written to ``<name>.partial`` and renamed only after the zip's central directory
checks out, so a truncated file never shows under its real name.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Mapping
from typing import IO, Any

import fsspec

from ..errors import RetryableError

__all__ = ["Staging"]


class Staging:
    """fsspec-backed staging folder for one job's TikTok download."""

    def __init__(self, url: str, storage_options: Mapping[str, Any] | None = None) -> None:
        self.fs, root = fsspec.core.url_to_fs(url, **dict(storage_options or {}))
        self.root = root.rstrip("/")
        self.fs.makedirs(self.root, exist_ok=True)

    def path(self, name: str) -> str:
        return f"{self.root}/{name}"

    def zip_name(self, request_id: int) -> str:
        return f"tiktok-{request_id}.zip"

    def has_zip(self, request_id: int) -> bool:
        return self.fs.exists(self.path(self.zip_name(request_id)))

    def open_zip(self, request_id: int) -> IO[bytes]:
        return self.fs.open(self.path(self.zip_name(request_id)), "rb")

    def discard(self, request_id: int) -> None:
        for name in (self.zip_name(request_id), self.zip_name(request_id) + ".partial"):
            if self.fs.exists(self.path(name)):
                self.fs.rm(self.path(name))

    def receive(self, request_id: int, fetch: Callable[[IO[bytes]], int]) -> int:
        """Run ``fetch(sink)`` into ``<zip>.partial``, verify it, rename it; return its size.

        Raises:
            RetryableError: the bytes are not a complete zip (truncated download); the partial
                file is removed so the retry starts clean.
        """
        final = self.path(self.zip_name(request_id))
        partial = final + ".partial"
        try:
            with self.fs.open(partial, "wb") as sink:
                size = fetch(sink)
            self._verify_zip(partial, request_id)
        except BaseException:
            if self.fs.exists(partial):
                self.fs.rm(partial)
            raise
        self.fs.mv(partial, final)
        return size

    def _verify_zip(self, path: str, request_id: int) -> None:
        try:
            with self.fs.open(path, "rb") as fh, zipfile.ZipFile(fh) as zf:
                zf.infolist()
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            raise RetryableError(
                f"TikTok download of request {request_id} is not a complete zip ({exc}); downloading again"
            ) from None
