"""Atomic, verified writes of one stream to one final path.

The promise: no half-written file is ever visible under its final name, and a file that lands
there has the byte count that was streamed (and the expected size, when the source knows it).
Three strategies, picked from the file system:

``local``
    Stream into ``<final>.partial-<random>`` with plain ``open()`` and ``readinto`` into one
    reusable buffer, then ``os.replace`` (atomic within a directory on POSIX and Windows).

``direct`` (S3, GCS)
    An object store PUT is atomic per object: readers see the old object or the whole new one.
    s3fs sends files smaller than its block size as one PUT and larger ones as a multipart
    upload, which becomes visible only when completed. So the final key is written directly;
    on failure the upload is *discarded* (multipart aborted) instead of closed, because closing
    an fsspec file commits it. A process killed mid-upload leaves at most an incomplete
    multipart upload, invisible to readers and reclaimed by the bucket's lifecycle rule
    (``AbortIncompleteMultipartUpload``); no copy+delete is needed.

``rename`` (everything else, e.g. ``memory://``, SFTP)
    Stream into ``<final>.partial-<random>`` through fsspec, then ``fs.mv`` to the final name.
    ``memory://`` needs this: it shows a file under its name as soon as it is opened.

Verification: bytes are counted and hashed (sha256) while streaming. The count must equal
``expected_size`` when given (checked before the file becomes visible) and ``fs.size(final)``
afterwards; a mismatch removes the file and raises :class:`~connectors.errors.RetryableItemError`.
Failures while *reading the source* raise ``RetryableItemError`` (or the source's own
:class:`~connectors.errors.ItemError`); failures while *writing* propagate as ``OSError`` for the
caller to classify (see :func:`connectors.folder.fs.translate_write_errors`).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO, Any

from ..errors import ItemError, RetryableItemError
from .fs import is_local

__all__ = ["AtomicWriter", "WriteResult", "PARTIAL_MARK", "DEFAULT_CHUNK", "is_partial_name", "guarded_read"]

#: Infix of temporary names; the exporter skips such files and the importer cleans leftovers.
PARTIAL_MARK = ".partial-"
#: Copy buffer size: large enough to amortise per-call overhead, small enough for flat memory.
DEFAULT_CHUNK = 4 << 20
_DIRECT_PROTOCOLS = {"s3", "s3a", "gs", "gcs"}


def is_partial_name(name: str) -> bool:
    """True for ``<name>.partial-<hex>``, the temporary names this module creates."""
    head, mark, tail = name.rpartition(PARTIAL_MARK)
    return bool(mark and head and tail) and all(c in "0123456789abcdef" for c in tail)


@dataclass(frozen=True)
class WriteResult:
    """What landed: the byte count and sha256 (hex) of the streamed bytes."""

    size: int
    sha256: str


def _protocols(fs: Any) -> set[str]:
    protocol = fs.protocol
    return {protocol} if isinstance(protocol, str) else set(protocol)


class AtomicWriter:
    """Writes streams to final paths of one file system, atomically and verified.

    Args:
        fs: the fsspec file system.
        strategy: ``"auto"`` (from the file system), ``"local"``, ``"direct"`` or ``"rename"``.
        chunk_size: bytes per read/write call.
    """

    def __init__(self, fs: Any, *, strategy: str = "auto", chunk_size: int = DEFAULT_CHUNK):
        if strategy == "auto":
            if is_local(fs):
                strategy = "local"
            elif _protocols(fs) & _DIRECT_PROTOCOLS:
                strategy = "direct"
            else:
                strategy = "rename"
        if strategy not in ("local", "direct", "rename"):
            raise ValueError(f"unknown write strategy {strategy!r}")
        if strategy == "local" and not is_local(fs):
            raise ValueError("the local strategy needs the local file system")
        self.fs = fs
        self.strategy = strategy
        self.chunk_size = max(64 << 10, int(chunk_size))
        self._local = threading.local()

    # -- public ---------------------------------------------------------------------------

    def write_stream(
        self,
        final: str,
        source: IO[bytes],
        *,
        item_id: str,
        display: str,
        expected_size: int | None = None,
        on_bytes: Callable[[int], None] | None = None,
    ) -> WriteResult:
        """Stream ``source`` to ``final``; return the size and sha256 that landed.

        Args:
            final: file system path of the final file (its parent must exist on local disks).
            source: binary stream, read to its end (not closed here).
            item_id: the item's id, for error messages.
            display: the final file as shown to people (URL form).
            expected_size: the size the source announced, if any.
            on_bytes: called with each chunk's byte count (progress).

        Raises:
            RetryableItemError: the source failed mid-stream or the sizes do not match.
            ItemError: raised by the source stream itself.
            OSError: writing failed (the caller classifies it).
        """
        on_bytes = on_bytes or (lambda n: None)
        if self.strategy == "local":
            return self._write_local(final, source, item_id, display, expected_size, on_bytes)
        if self.strategy == "direct":
            return self._write_direct(final, source, item_id, display, expected_size, on_bytes)
        return self._write_rename(final, source, item_id, display, expected_size, on_bytes)

    def write_bytes(self, final: str, data: bytes, *, item_id: str, display: str) -> WriteResult:
        """Write small metadata (a sidecar, an .ics) with the same guarantees."""
        import io

        return self.write_stream(final, io.BytesIO(data), item_id=item_id, display=display, expected_size=len(data))

    def remove_quietly(self, paths: Iterable[str]) -> None:
        """Remove leftovers (``.partial-*`` of a crashed run); missing ones are fine."""
        for path in paths:
            try:
                if self.strategy == "local":
                    os.unlink(path)
                else:
                    self.fs.rm_file(path)
            except FileNotFoundError:
                pass

    # -- strategies -----------------------------------------------------------------------

    def _write_local(self, final, source, item_id, display, expected, on_bytes) -> WriteResult:
        partial = f"{final}{PARTIAL_MARK}{secrets.token_hex(4)}"
        hasher = hashlib.sha256()
        try:
            with open(partial, "wb", buffering=0) as sink:
                total = self._pump_into(source, sink.write, hasher, on_bytes, item_id, display)
            self._check_expected(total, expected, item_id, display)
            os.replace(partial, final)
        except BaseException:
            _unlink_quietly(partial)
            raise
        landed = os.stat(final).st_size
        if landed != total:
            _unlink_quietly(final)
            raise RetryableItemError(item_id, f"{display} has {landed} bytes after writing {total}")
        return WriteResult(total, hasher.hexdigest())

    def _write_direct(self, final, source, item_id, display, expected, on_bytes) -> WriteResult:
        hasher = hashlib.sha256()
        sink = self.fs.open(final, "wb")
        try:
            total = self._pump_read(source, sink.write, hasher, on_bytes, item_id, display)
            self._check_expected(total, expected, item_id, display)
        except BaseException:
            _discard(sink)
            raise
        sink.close()  # commits: one PUT, or completes the multipart upload
        self._verify_landed(final, total, item_id, display)
        return WriteResult(total, hasher.hexdigest())

    def _write_rename(self, final, source, item_id, display, expected, on_bytes) -> WriteResult:
        partial = f"{final}{PARTIAL_MARK}{secrets.token_hex(4)}"
        hasher = hashlib.sha256()
        try:
            with self.fs.open(partial, "wb") as sink:
                total = self._pump_read(source, sink.write, hasher, on_bytes, item_id, display)
            self._check_expected(total, expected, item_id, display)
            self.fs.mv(partial, final)
        except BaseException:
            self.remove_quietly([partial])
            raise
        self._verify_landed(final, total, item_id, display)
        return WriteResult(total, hasher.hexdigest())

    # -- helpers --------------------------------------------------------------------------

    def _verify_landed(self, final: str, total: int, item_id: str, display: str) -> None:
        landed = self.fs.size(final)
        if landed != total:
            self.remove_quietly([final])
            raise RetryableItemError(item_id, f"{display} has {landed} bytes after writing {total}")

    @staticmethod
    def _check_expected(total: int, expected: int | None, item_id: str, display: str) -> None:
        if expected is not None and total != expected:
            raise RetryableItemError(
                item_id, f"size mismatch writing {display}: the source announced {expected} bytes, sent {total}"
            )

    def _pump_into(self, source, write, hasher, on_bytes, item_id, display) -> int:
        """Copy with ``readinto`` into one reusable buffer (only for sinks that copy on write)."""
        readinto = getattr(source, "readinto", None)
        if readinto is None:
            return self._pump_read(source, write, hasher, on_bytes, item_id, display)
        view = self._buffer()
        total = 0
        while True:
            n = guarded_read(readinto, view, item_id, display)
            if not n:
                return total
            chunk = view[:n]
            hasher.update(chunk)
            write(chunk)
            total += n
            on_bytes(n)

    def _buffer(self) -> memoryview:
        """One copy buffer per thread, reused across files: allocating (and zeroing) megabytes
        per file would cost more than copying a small file."""
        view = getattr(self._local, "view", None)
        if view is None:
            view = self._local.view = memoryview(bytearray(self.chunk_size))
        return view

    def _pump_read(self, source, write, hasher, on_bytes, item_id, display) -> int:
        """Copy with ``read``: each chunk is a fresh bytes object the sink may keep."""
        total = 0
        while True:
            chunk = guarded_read(source.read, self.chunk_size, item_id, display)
            if not chunk:
                return total
            hasher.update(chunk)
            write(chunk)
            total += len(chunk)
            on_bytes(len(chunk))


def guarded_read(read, arg, item_id: str, display: str):
    """Call a source read; its failures become item errors (the destination is fine)."""
    try:
        return read(arg)
    except ItemError:
        raise
    except Exception as exc:
        raise RetryableItemError(item_id, f"reading the source for {display} failed: {type(exc).__name__}: {exc}") from exc


def _discard(sink: Any) -> None:
    """Abandon an fsspec write without committing it (closing would publish the bytes)."""
    try:
        discard = getattr(sink, "discard", None)
        if discard is not None:
            discard()
    finally:
        try:
            sink.closed = True  # so __del__ does not close (= commit) it later
        except AttributeError:
            pass


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
