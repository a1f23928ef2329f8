"""Local file -> local file: the kernel copies, ferry hashes what landed, one file at a time.

Why a module of its own: when both ends are local files (a folder source into a folder on disk,
or staged bytes), the bytes need not pass through Python at all, and per-file overhead decides
how many small files a second ferry can move. Two paths, chosen by the source's size:

* **small** (up to one copy buffer, 4 MiB): one ``preadv`` into the thread's reusable buffer,
  hashed, one ``write``: three system calls per file besides open/close/rename.
* **large**: ``os.copy_file_range`` moves each window inside the kernel (on file systems with
  reflinks nothing is even copied); the same window of the *destination* is then hashed through
  ``mmap`` from the page cache, so the hash is of exactly the bytes that landed, there is no
  second disk read, and no copy into Python. Windows are unmapped as soon as they are hashed:
  memory stays flat whatever the file size. Where the kernel cannot (``EXDEV`` across file
  systems on older kernels, ``ENOSYS``, ``EINVAL`` on special file systems), the window loop
  falls back to ``preadv`` + ``write`` through the same buffer.

The hash is the caller's choice (:class:`~connectors.checksums.HashAlgorithm`): sha256 where
someone else checks it (media sidecars), else XXH3, so hashing at over 20 GB/s no longer sets
the pace of the kernel's copy (sha256 runs at about half its speed).

Both write through :class:`connectors.atomicfile.AtomicFile` (``<final>.partial-<random>``,
``O_EXCL``, modification time, optional ``fsync``, rename into place), so a file under its final
name is always whole (see :mod:`.atomic` for the promises and the fsync policy).

Only plain ``io.FileIO`` / ``io.BufferedReader`` streams at offset 0 take this path (their
``fileno`` is the whole file); anything else (a zip member, a wrapper that exposes a
``fileno`` but means a slice) is copied by :mod:`.atomic`'s stream loop.
"""

from __future__ import annotations

import errno
import io
import mmap
import os
from collections.abc import Callable
from typing import IO, Any

from ..atomicfile import AtomicFile
from ..checksums import HashAlgorithm
from ..errors import RetryableItemError

__all__ = ["copy_file", "plain_file_descriptor"]

_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EBADF, errno.ETXTBSY}
_GRANULARITY = mmap.ALLOCATIONGRANULARITY
_HAS_COPY_FILE_RANGE = hasattr(os, "copy_file_range")


def plain_file_descriptor(source: IO[bytes]) -> int | None:
    """The descriptor of ``source`` when it is a whole local file read from its start, else None."""
    if type(source) not in (io.BufferedReader, io.FileIO):
        return None
    try:
        if source.tell() != 0:
            return None
        return source.fileno()
    except (OSError, ValueError):
        return None


def copy_file(
    src: int,
    final: str,
    buffer: memoryview,
    *,
    on_bytes: Callable[[int], None],
    check_size: Callable[[int], None],
    mtime_ns: int | None = None,
    fsync: bool = False,
    item_id: str,
    display: str,
    algorithm: HashAlgorithm = HashAlgorithm.SHA256,
) -> tuple[int, str]:
    """Copy the file open as ``src`` to ``final``; return (bytes, hex digest in ``algorithm``) of what landed.

    ``check_size(total)`` runs before the rename (it raises when the source announced another
    size); ``on_bytes`` reports progress (and may raise to abandon the copy).

    Raises:
        RetryableItemError: reading the source failed.
        OSError: writing failed (the caller classifies it).
    """
    with AtomicFile(final, fsync=fsync, mtime_ns=mtime_ns) as sink:
        total, digest = _copy(src, sink, buffer, algorithm.new(), on_bytes, item_id, display)
        check_size(total)
    return total, digest


def _read(src: int, buffer: memoryview, offset: int, item_id: str, display: str) -> int:
    """``preadv`` from the source; its failures are the item's (retryable), not the destination's."""
    try:
        return os.preadv(src, [buffer], offset)
    except OSError as exc:
        raise RetryableItemError(item_id, f"reading the source for {display} failed: {type(exc).__name__}: {exc}") from exc


def _copy(src: int, sink: AtomicFile, buffer: memoryview, hasher: Any, on_bytes: Callable[[int], None], item_id: str, display: str) -> tuple[int, str]:
    size = os.fstat(src).st_size
    if size < len(buffer):  # small: the whole file in one read (a short read means the end)
        n = _read(src, buffer, 0, item_id, display)
        if n <= size:  # it did not grow meanwhile: done (else the loop below takes over)
            chunk = buffer[:n]
            hasher.update(chunk)
            sink.write(chunk)
            on_bytes(n)
            return n, hasher.hexdigest()
        os.ftruncate(sink.fileno(), 0)
    return _copy_windows(src, sink, buffer, hasher, on_bytes, item_id, display)


def _copy_windows(src: int, sink: AtomicFile, buffer: memoryview, hasher: Any, on_bytes: Callable[[int], None], item_id: str, display: str) -> tuple[int, str]:
    window = len(buffer)
    dst = sink.fileno()
    offset = 0
    kernel = _HAS_COPY_FILE_RANGE
    while True:
        n = -1
        if kernel:
            try:
                n = os.copy_file_range(src, dst, window, offset, offset)
            except OSError as exc:
                if exc.errno not in _NO_KERNEL_COPY or offset:
                    raise
                kernel = False  # this pair of files cannot: the buffer loop does it
        if n < 0:
            n = _read(src, buffer, offset, item_id, display)
            if n:
                chunk = buffer[:n]
                hasher.update(chunk)
                os.lseek(dst, offset, os.SEEK_SET)
                sink.write(chunk)
        elif n:
            _hash_window(dst, offset, n, hasher)
        if not n:
            return offset, hasher.hexdigest()
        offset += n
        on_bytes(n)


def _hash_window(fd: int, offset: int, length: int, hasher: Any) -> None:
    """Hash ``length`` bytes of ``fd`` at ``offset`` from the page cache, without copying them."""
    start = offset - offset % _GRANULARITY
    with mmap.mmap(fd, offset + length - start, access=mmap.ACCESS_READ, offset=start) as mapped:
        with memoryview(mapped) as view:
            hasher.update(view[offset - start :])
