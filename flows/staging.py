"""fsspec-backed staging of bytes whose source references expire.

Why: some sources hand out bytes only for a while (signed URLs, a download that must be fetched
now). Connectors declaring ``Capabilities.ephemeral_bytes`` get their bytes copied here during
the export task; the import task then reads the staged copy. Staged files are written atomically
(:mod:`connectors.atomicfile`: partial name, then rename) and removed once their page is committed.
"""

from __future__ import annotations

from typing import IO

import fsspec

from connectors.atomicfile import open_atomic

CHUNK = 4 * 1024 * 1024

__all__ = ["Staging"]


class Staging:
    def __init__(self, url: str, job_id: str, storage_options: dict | None = None):
        self.fs, root = fsspec.core.url_to_fs(url, **(storage_options or {}))
        self.root = f"{root.rstrip('/')}/{job_id}"

    def path(self, item_id: str) -> str:
        return f"{self.root}/{item_id}"

    def has(self, item_id: str, size: int | None = None) -> bool:
        path = self.path(item_id)
        if not self.fs.exists(path):
            return False
        return size is None or self.fs.size(path) == size

    def put(self, item_id: str, stream: IO[bytes]) -> int:
        """Copy ``stream`` into staging under ``item_id``; returns the byte count."""
        self.fs.makedirs(self.root, exist_ok=True)
        total = 0
        with open_atomic(self.fs, self.path(item_id)) as out:
            while chunk := stream.read(CHUNK):
                total += out.write(chunk)
        return total

    def open(self, item_id: str) -> IO[bytes]:
        return self.fs.open(self.path(item_id), "rb")

    def discard(self, item_ids) -> None:
        for item_id in item_ids:
            path = self.path(item_id)
            if self.fs.exists(path):
                self.fs.rm(path)

    def clear(self) -> None:
        if self.fs.exists(self.root):
            self.fs.rm(self.root, recursive=True)
