"""Where the reference destination keeps what it receives: any fsspec URL.

Layout under ``<root>/<account>/`` (names made safe: no ``/``, ``..`` or control characters)::

    media/<album id>/album.json                 Album payload
    media/<album id | _no_album>/<name>         photo/video bytes
    media/.../<name>.dtp.json                   sidecar: envelope, MIME type, size, sha256, X-DTP-*
    blobs/<folder path>/.folder.json            Folder payload
    blobs/<folder path>/<name> (+ .dtp.json)    File bytes and sidecar
    calendar/<calendar id>/calendar.json        Calendar payload
    calendar/<calendar id | _no_calendar>/events/<key>.json
    social-posts/<activity id | key>.json
    .dedupe/<key>                               dedupe marker: the stored path (SPEC §7)

Bytes are written to ``.incoming/<uuid>.partial-<random>`` and moved into place only when
complete, so a half-received upload never shows under its real name (rclone's ``.partial`` rule);
documents and markers are written the same way (:mod:`connectors.atomicfile`, ferry's one
atomic writer). All methods
are synchronous (fsspec); the API runs them in a thread pool.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import uuid
from typing import Any

import fsspec

from connectors.atomicfile import AtomicFile, FsAtomicFile, open_atomic, write_atomic
from connectors.names import safe_segment

__all__ = ["DestinationStore"]

class DestinationStore:
    """A folder tree in any fsspec filesystem.

    Args:
        url: fsspec URL of the root (``/tmp/dest``, ``memory://dest``, ``s3://bucket/prefix``).
        storage_options: passed to fsspec (S3 endpoint, keys).
    """

    def __init__(self, url: str, storage_options: dict[str, Any] | None = None):
        self.url = url
        self.fs, self.root = fsspec.core.url_to_fs(url, **(storage_options or {}))
        self._local = "file" in (self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,))

    def path(self, account: str, relative: str) -> str:
        return posixpath.join(self.root, safe_segment(account, fallback="_account"), relative)

    def _ensure_parent(self, path: str) -> None:
        if self._local:
            self.fs.makedirs(posixpath.dirname(path), exist_ok=True)

    # -- dedupe markers -------------------------------------------------------------------
    def seen(self, account: str, key: str) -> str | None:
        """The relative path stored for ``key``, or None when the key is new."""
        marker = self.path(account, f".dedupe/{key}")
        if not self.fs.exists(marker):
            return None
        with self.fs.open(marker, "rb") as handle:
            return handle.read().decode("utf-8")

    def remember(self, account: str, key: str, relative: str) -> None:
        marker = self.path(account, f".dedupe/{key}")
        self._ensure_parent(marker)
        write_atomic(marker, relative.encode("utf-8"), fs=self.fs)

    # -- documents ------------------------------------------------------------------------
    def put_json(self, account: str, relative: str, document: Any) -> None:
        path = self.path(account, relative)
        self._ensure_parent(path)
        write_atomic(path, json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8"), fs=self.fs)

    def get_json(self, account: str, relative: str) -> Any | None:
        path = self.path(account, relative)
        if not self.fs.exists(path):
            return None
        with self.fs.open(path, "rb") as handle:
            return json.loads(handle.read())

    def exists(self, account: str, relative: str) -> bool:
        return self.fs.exists(self.path(account, relative))

    # -- bytes ----------------------------------------------------------------------------
    def open_partial(self, account: str) -> AtomicFile | FsAtomicFile:
        """An upload being received under ``.incoming/`` (a partial name), open for writing; its
        name is chosen once it is whole (:meth:`commit`)."""
        path = self.path(account, f".incoming/{uuid.uuid4().hex}")
        self._ensure_parent(path)
        return open_atomic(self.fs, path)

    def commit(self, upload: AtomicFile | FsAtomicFile, account: str, relative: str) -> None:
        """Move a complete upload to its real name (replacing an older version)."""
        target = self.path(account, relative)
        self._ensure_parent(target)
        upload.commit(target)

    def discard(self, upload: AtomicFile | FsAtomicFile) -> None:
        """Remove an upload that was not committed (no-op after :meth:`commit`)."""
        upload.abort()

    def free_name(self, account: str, folder: str, name: str, key: str) -> str:
        """``folder/name``, or ``folder/stem (key8).ext`` when another item holds that name."""
        relative = f"{folder}/{name}"
        if not self.exists(account, relative):
            return relative
        stem, dot, ext = name.rpartition(".")
        if not dot or not stem:
            stem, ext = name, ""
        return f"{folder}/{stem} ({key[:8]}){'.' + ext if ext else ''}"

    def size_and_sha256(self, account: str, relative: str) -> tuple[int, str]:
        """The stored bytes' length and sha256, read in chunks."""
        digest, size = hashlib.sha256(), 0
        with self.fs.open(self.path(account, relative), "rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
                size += len(block)
        return size, digest.hexdigest()

    def read_bytes(self, account: str, relative: str) -> bytes:
        """Whole file content (tests and small files only)."""
        with self.fs.open(self.path(account, relative), "rb") as handle:
            return handle.read()
