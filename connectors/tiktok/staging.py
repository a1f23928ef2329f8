"""The TikTok download's place in staging: the zip, and a small manifest next to it.

Why a manifest: the framework keeps one cursor per vertical, but TikTok may allow a single Add
call per consent (``.single``), so every vertical of a job must share one data request. The
first vertical to start records ``request_id`` here; the others (and a restarted ferry, whose
verticals not yet started have no cursor) pick it up instead of asking again. The staging URL
must therefore be private to the job (the framework gives each job its own folder).

Downloads are written to ``<name>.partial`` and renamed only after the byte count and the zip's
central directory check out, so a truncated file never shows under its real name.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Mapping
from typing import IO, Any

import fsspec
from pydantic import BaseModel, ConfigDict

from ..errors import RetryableError

__all__ = ["RequestRecord", "Staging"]

MANIFEST = "tiktok-request.json"


class RequestRecord(BaseModel):
    """What the manifest holds: the job's one data request and how far it got."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    request_id: int
    staged: bool = False
    size: int | None = None
    rerequests: int = 0
    checks: int = 0


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

    # -- manifest -------------------------------------------------------------------------

    def read(self) -> RequestRecord | None:
        path = self.path(MANIFEST)
        if not self.fs.exists(path):
            return None
        with self.fs.open(path, "rb") as fh:
            return RequestRecord.model_validate(json.load(fh))

    def write(self, record: RequestRecord) -> None:
        with self.fs.open(self.path(MANIFEST), "wb") as fh:
            fh.write(record.model_dump_json().encode())

    def forget(self) -> None:
        """Drop the manifest (after a cancel): the next start asks TikTok again."""
        if self.fs.exists(self.path(MANIFEST)):
            self.fs.rm(self.path(MANIFEST))

    # -- the zip --------------------------------------------------------------------------

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
