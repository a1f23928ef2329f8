"""Atomic, verified writes of one stream to one final path.

The promise: no half-written file is ever visible under its final name, and a file that lands
there has the byte count that was streamed (and the expected size, when the source knows it).
Four strategies, picked from the file system:

``local``
    Write ``<final>.partial-<random>`` (``O_EXCL``), set its modification time, rename it into
    place (``os.replace``, atomic within a directory): :class:`connectors.atomicfile.AtomicFile`.
    A plain local source file is copied by the kernel (:mod:`.localcopy`: ``copy_file_range``,
    hashed from the page cache; small files in one read and one write); any other stream goes
    through one reusable buffer per thread.

``s3``
    A PUT is atomic per object. :mod:`.s3upload`: one PUT with a checksum for small files,
    concurrent multipart parts with bounded memory for large ones; verified from the store's
    answers, no HEAD afterwards.

``direct`` (GCS)
    The final object is written through fsspec; on failure the upload is *discarded* instead of
    closed, because closing an fsspec file commits it.

``rename`` (everything else, e.g. ``memory://``, SFTP)
    Stream into ``<final>.partial-<random>`` through fsspec, then ``fs.mv`` to the final name
    (:class:`connectors.atomicfile.FsAtomicFile`).
    ``memory://`` needs this: it shows a file under its name as soon as it is opened.

Verification: bytes are counted and hashed while streaming (sha256 unless the caller asks for
another :class:`~connectors.checksums.HashAlgorithm`; S3 uploads always sha256, the store checks
it). The count must equal
``expected_size`` when given (checked before the file becomes visible); ``direct`` and ``rename``
also compare ``fs.size(final)`` afterwards (a local file or an S3 answer already says what
landed). A mismatch removes the file and raises :class:`~connectors.errors.RetryableItemError`.
Failures while *reading the source* raise ``RetryableItemError`` (or the source's own
:class:`~connectors.errors.ItemError`); failures while *writing* propagate as ``OSError`` for the
caller to classify (see :func:`connectors.folder.fs.translate_write_errors`).

Modification times: ``mtime`` (a file's time at the source, a photo's taken time) becomes the
file's own time on local disks; S3 cannot set an object's time, so it is stored as user metadata
``mtime`` (Unix seconds, as rclone does); ``memory://`` and others keep their own time.

Durability (``fsync``), the policy: like ``cp`` and rclone (which has no fsync option for its
local backend), ferry does not flush each file to disk by default. What ferry promises:

* after ferry itself dies (``kill -9``, a crash, a lost terminal): every file under its final
  name is whole (the kernel has all the bytes written before the rename; the page cache survives
  the process), and ``ferry resume`` settles the items in doubt with the destination, so each
  item is there exactly once;
* after the *machine* loses power or the OS crashes: files written in the last seconds may be
  empty or short under their final names (the kernel had not written them out yet), and the
  job store (SQLite in WAL mode, ``synchronous=NORMAL``) may have lost its last transactions.
  ``ferry verify JOB`` names every file that is missing or differs; delete those and run the
  transfer again (a new job compares contents: whole files are not copied twice).

With the folder option ``fsync=true`` each file is flushed before its rename and its directory
after it: a file that reached its final name survives a power loss, at the cost of one disk
flush per file (much slower for many small files). Object stores (S3) answer a PUT only once the
object is durable: nothing to flush.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import IO, Any

from ..atomicfile import AtomicFile, FsAtomicFile
from ..checksums import Checksum, HashAlgorithm
from ..errors import ItemError, RetryableItemError
from .defaults import DEFAULT_CHUNK
from .fs import is_local
from .localcopy import copy_file, plain_file_descriptor
from .s3upload import DEFAULT_PART_CONCURRENCY, DEFAULT_PART_SIZE, S3Uploader

__all__ = ["AtomicWriter", "WriteResult", "DEFAULT_CHUNK", "guarded_read"]

_S3_PROTOCOLS = {"s3", "s3a"}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_DIRECT_PROTOCOLS = {"gs", "gcs"}


@dataclass(frozen=True)
class WriteResult:
    """What landed: the byte count and the checksum of the streamed bytes."""

    size: int
    checksum: Checksum

    @property
    def sha256(self) -> str:
        """The sha256 (hex); only for a write that was asked for sha256 (media sidecars, S3)."""
        if self.checksum.algorithm != HashAlgorithm.SHA256:
            raise ValueError(f"this write was hashed with {self.checksum.algorithm.value}, not sha256")
        return self.checksum.digest


def _protocols(fs: Any) -> set[str]:
    protocol = fs.protocol
    return {protocol} if isinstance(protocol, str) else set(protocol)


class AtomicWriter:
    """Writes streams to final paths of one file system, atomically and verified.

    Args:
        fs: the fsspec file system.
        strategy: ``"auto"`` (from the file system), ``"local"``, ``"s3"``, ``"direct"`` or ``"rename"``.
        chunk_size: bytes per read/write call (one buffer per copy thread).
        fsync: flush each local file (and its directory) before reporting it written.
        part_size: S3 multipart part size (and the largest single PUT).
        part_concurrency: S3 parts of one file uploading at once.
    """

    def __init__(
        self,
        fs: Any,
        *,
        strategy: str = "auto",
        chunk_size: int = DEFAULT_CHUNK,
        fsync: bool = False,
        part_size: int = DEFAULT_PART_SIZE,
        part_concurrency: int = DEFAULT_PART_CONCURRENCY,
    ):
        if strategy == "auto":
            if is_local(fs):
                strategy = "local"
            elif _protocols(fs) & _S3_PROTOCOLS and hasattr(fs, "_call_s3"):
                strategy = "s3"
            elif _protocols(fs) & (_DIRECT_PROTOCOLS | _S3_PROTOCOLS):
                strategy = "direct"
            else:
                strategy = "rename"
        if strategy not in ("local", "s3", "direct", "rename"):
            raise ValueError(f"unknown write strategy {strategy!r}")
        if strategy == "local" and not is_local(fs):
            raise ValueError("the local strategy needs the local file system")
        self.fs = fs
        self.strategy = strategy
        self.chunk_size = max(64 << 10, int(chunk_size))
        self.fsync = fsync
        self.s3 = S3Uploader(fs, part_size=part_size, part_concurrency=part_concurrency) if strategy == "s3" else None
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
        mtime: datetime | None = None,
        algorithm: HashAlgorithm = HashAlgorithm.SHA256,
    ) -> WriteResult:
        """Stream ``source`` to ``final``; return the size and checksum of what landed.

        Args:
            final: file system path of the final file (its parent must exist on local disks).
            source: binary stream, read to its end (not closed here).
            item_id: the item's id, for error messages.
            display: the final file as shown to people (URL form).
            expected_size: the size the source announced, if any.
            on_bytes: called with each chunk's byte count (progress; may raise to abandon).
            mtime: the file's modification time to keep (see the module doc).
            algorithm: the hash of the returned checksum (S3 uploads always hash sha256: the
                store checks it).

        Raises:
            RetryableItemError: the source failed mid-stream or the sizes do not match.
            ItemError: raised by the source stream itself.
            OSError: writing failed (the caller classifies it).
        """
        on_bytes = on_bytes or (lambda n: None)

        def check_size(total: int) -> None:
            _check_expected(total, expected_size, item_id, display)

        if self.strategy == "local":
            return self._write_local(final, source, item_id, display, check_size, on_bytes, mtime, algorithm)
        if self.strategy == "s3":
            size, digest = self.s3.upload(
                final, source, item_id=item_id, display=display, read=lambda read, n: guarded_read(read, n, item_id, display),
                check_size=check_size, on_bytes=on_bytes, expected_size=expected_size, mtime=mtime,
            )  # fmt: skip
            return WriteResult(size, Checksum.sha256(digest))
        if self.strategy == "direct":
            return self._write_direct(final, source, item_id, display, check_size, on_bytes, algorithm)
        return self._write_rename(final, source, item_id, display, check_size, on_bytes, algorithm)

    def write_bytes(self, final: str, data: bytes, *, item_id: str, display: str) -> WriteResult:
        """Write small metadata (a sidecar, an .ics) with the same guarantees."""
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

    def _write_local(self, final, source, item_id, display, check_size, on_bytes, mtime, algorithm) -> WriteResult:
        mtime_ns = _nanoseconds(mtime)
        fd = plain_file_descriptor(source)
        if fd is not None:
            size, digest = copy_file(
                fd, final, self._buffer(), on_bytes=on_bytes, check_size=check_size,
                mtime_ns=mtime_ns, fsync=self.fsync, item_id=item_id, display=display, algorithm=algorithm,
            )  # fmt: skip
            return WriteResult(size, Checksum(algorithm, digest))
        hasher = algorithm.new()
        with AtomicFile(final, fsync=self.fsync, mtime_ns=mtime_ns) as sink:
            total = self._pump_into(source, sink.write, hasher, on_bytes, item_id, display)
            check_size(total)
        return WriteResult(total, Checksum(algorithm, hasher.hexdigest()))

    def _write_direct(self, final, source, item_id, display, check_size, on_bytes, algorithm) -> WriteResult:
        hasher = algorithm.new()
        sink = self.fs.open(final, "wb")
        try:
            total = self._pump_read(source, sink.write, hasher, on_bytes, item_id, display)
            check_size(total)
        except BaseException:
            _discard(sink)
            raise
        sink.close()  # commits: one PUT, or completes the multipart upload
        self._verify_landed(final, total, item_id, display)
        return WriteResult(total, Checksum(algorithm, hasher.hexdigest()))

    def _write_rename(self, final, source, item_id, display, check_size, on_bytes, algorithm) -> WriteResult:
        hasher = algorithm.new()
        with FsAtomicFile(self.fs, final) as sink:
            total = self._pump_read(source, sink.write, hasher, on_bytes, item_id, display)
            check_size(total)
        self._verify_landed(final, total, item_id, display)
        return WriteResult(total, Checksum(algorithm, hasher.hexdigest()))

    # -- helpers --------------------------------------------------------------------------

    def _verify_landed(self, final: str, total: int, item_id: str, display: str) -> None:
        landed = self.fs.size(final)
        if landed != total:
            self.remove_quietly([final])
            raise RetryableItemError(item_id, f"{display} has {landed} bytes after writing {total}")

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


def _check_expected(total: int, expected: int | None, item_id: str, display: str) -> None:
    if expected is not None and total != expected:
        raise RetryableItemError(item_id, f"size mismatch writing {display}: the source announced {expected} bytes, sent {total}")


def _nanoseconds(when: datetime | None) -> int | None:
    """Nanoseconds since the epoch, exactly (a float timestamp would round microseconds)."""
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return (when - _EPOCH) // timedelta(microseconds=1) * 1000


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
