"""Atomic file writes: the one place ferry creates a ``.partial-<random>`` file and renames it.

Why one helper: the folder destination, both staging areas (the framework's and TikTok's), the
example connector, the reference destination and the runner's state file all need the same
promise, and each used to keep its own copy of it: no half-written file is ever visible under its
final name, and a failed write leaves nothing behind (rclone's ``.partial`` rule).

How, on a local disk (:class:`AtomicFile`): the bytes go to ``<final>.partial-<8 hex>`` opened
with ``O_EXCL`` (so never through an existing name or a planted symbolic link), the modification
time is set on it, it is optionally flushed (``fsync``), and ``os.replace`` renames it into place
(atomic within a file system). With ``fsync`` the directory is flushed after the rename too, so a
file that reached its final name survives a power loss. Any error removes the partial file.

Elsewhere (:func:`open_atomic` on an fsspec file system that is not local, e.g. ``memory://``,
SFTP, S3): the bytes go to the same partial name through fsspec and ``fs.mv`` moves them to the
final name; a failure removes the partial object. Listings skip partial names
(:func:`is_partial_name`) and importers clean up leftovers of a crashed run by the same rule.

Two ways to use it: a streaming context manager (``with open_atomic(fs, path) as sink:
sink.write(...)``; leaving the block normally renames, an exception removes), or
:func:`write_atomic` for bytes or an iterable of chunks.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from typing import Any, Protocol

__all__ = [
    "PARTIAL_MARK",
    "AtomicFile",
    "BinarySink",
    "FsAtomicFile",
    "fsync_directory",
    "is_partial_name",
    "open_atomic",
    "partial_name",
    "write_atomic",
]

#: Infix of temporary names; listings skip such files and importers clean leftovers.
PARTIAL_MARK = ".partial-"


class BinarySink(Protocol):
    """What a producer streaming into an atomic file needs: ``write`` (both writers satisfy it)."""

    def write(self, data: bytes, /) -> int: ...


def partial_name(final: str) -> str:
    """A fresh temporary name next to ``final``: ``<final>.partial-<8 hex>``."""
    return f"{final}{PARTIAL_MARK}{secrets.token_hex(4)}"


def is_partial_name(name: str) -> bool:
    """True for ``<name>.partial-<hex>``, the temporary names :func:`partial_name` makes."""
    head, mark, tail = name.rpartition(PARTIAL_MARK)
    return bool(mark and head and tail) and all(c in "0123456789abcdef" for c in tail)


class _PartialFile:
    """What both writers share: the commit/abort life cycle and the context manager.

    Subclasses open the partial file and say how to close it (:meth:`close`), drop it unfinished
    (:meth:`_drop`), move it (:meth:`_move`) and remove it (:meth:`_remove`).
    """

    final: str
    path: str
    _done = False

    def close(self) -> None:
        raise NotImplementedError

    def _drop(self) -> None:
        raise NotImplementedError

    def _move(self, target: str) -> None:
        raise NotImplementedError

    def _remove(self) -> None:
        raise NotImplementedError

    def commit(self, final: str | os.PathLike[str] | None = None) -> None:
        """Move the partial file into place (``final`` when given, for a receiver that picks the
        name only once the bytes are whole); on failure the partial file is removed."""
        if self._done:
            raise ValueError(f"{self.path} was already committed or aborted")
        try:
            self.close()
            self._move(self.final if final is None else os.fspath(final))
        except BaseException:
            self.abort()
            raise
        self._done = True

    def abort(self) -> None:
        """Close and remove the partial file; nothing shows under the final name. Idempotent,
        and a no-op after :meth:`commit`."""
        if self._done:
            return
        self._done = True
        try:
            self._drop()
        finally:
            self._remove()

    def __enter__(self):
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self.abort()
        elif not self._done:
            self.commit()


class AtomicFile(_PartialFile):
    """One local file being written under a partial name, renamed into place by :meth:`commit`.

    Args:
        final: the path the file gets when it is whole.
        fsync: flush the file before the rename and its directory after it.
        mtime_ns: modification time (ns since the epoch) given to the file before the rename.

    The descriptor (:meth:`fileno`) is open read-write, so a caller may hash what landed (mmap)
    or let the kernel copy into it (``copy_file_range``). Used as a context manager, a normal
    exit commits and an exception aborts; :meth:`abort` may also be called inside the block (the
    caller decided not to keep the bytes), after which the exit does nothing.

    Raises:
        FileExistsError: from the constructor, when the partial name exists (never written through).
    """

    def __init__(self, final: str | os.PathLike[str], *, fsync: bool = False, mtime_ns: int | None = None) -> None:
        self.final = os.fspath(final)
        self.fsync = fsync
        self.mtime_ns = mtime_ns
        self.path = partial_name(self.final)
        self.fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)

    def __enter__(self) -> AtomicFile:
        return self

    def fileno(self) -> int:
        if self.fd is None:
            raise ValueError(f"{self.path} is closed")
        return self.fd

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Write all of ``data`` (a raw ``write`` may take less than it was given); return its length."""
        view = memoryview(data).cast("B")
        size, fd = view.nbytes, self.fileno()
        while view:
            view = view[os.write(fd, view) :]
        return size

    def close(self) -> None:
        """Finish writing (mtime, fsync, close) without renaming: the bytes are complete."""
        if self.fd is None:
            return
        fd, self.fd = self.fd, None
        try:
            if self.mtime_ns is not None:
                os.utime(fd, ns=(self.mtime_ns, self.mtime_ns))
            if self.fsync:
                os.fsync(fd)
        finally:
            os.close(fd)

    def _drop(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)

    def _move(self, target: str) -> None:
        os.replace(self.path, target)
        if self.fsync:
            fsync_directory(os.path.dirname(target))

    def _remove(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


class FsAtomicFile(_PartialFile):
    """The same promise on an fsspec file system that is not local: partial object, then ``fs.mv``.

    Same methods as :class:`AtomicFile` (``write``, ``close``, ``commit``, ``abort``, context
    manager); :attr:`path` is the partial object's path, readable through ``fs`` once closed.
    """

    def __init__(self, fs: Any, final: str) -> None:
        self.fs = fs
        self.final = final
        self.path = partial_name(final)
        self._sink: Any = fs.open(self.path, "wb")

    def __enter__(self) -> FsAtomicFile:
        return self

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._sink.write(data)
        return memoryview(data).nbytes

    def close(self) -> None:
        if self._sink is not None:
            sink, self._sink = self._sink, None
            sink.close()

    def _drop(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - the write already failed; removing the leftover is what matters
            pass

    def _move(self, target: str) -> None:
        self.fs.mv(self.path, target)

    def _remove(self) -> None:
        try:
            self.fs.rm_file(self.path)
        except FileNotFoundError:
            pass


def _is_local_fs(fs: Any) -> bool:
    protocol = getattr(fs, "protocol", ())
    protocols = {protocol} if isinstance(protocol, str) else set(protocol)
    return "file" in protocols or "local" in protocols


def open_atomic(fs: Any, final: str, *, fsync: bool = False, mtime_ns: int | None = None) -> AtomicFile | FsAtomicFile:
    """An atomic writer for ``final`` on ``fs`` (an fsspec file system, or None for the local disk).

    The local disk gets :class:`AtomicFile` (``O_EXCL``, ``os.replace``, mtime and fsync); any
    other file system gets :class:`FsAtomicFile` (its objects keep their own times, and a store
    such as S3 answers a write only once it is durable).
    """
    if fs is None or _is_local_fs(fs):
        return AtomicFile(final, fsync=fsync, mtime_ns=mtime_ns)
    return FsAtomicFile(fs, final)


def write_atomic(
    final: str | os.PathLike[str],
    data: bytes | Iterable[bytes],
    *,
    fs: Any = None,
    fsync: bool = False,
    mtime_ns: int | None = None,
) -> int:
    """Write ``data`` (bytes, or an iterable of chunks) to ``final`` atomically; return the byte count."""
    chunks = [data] if isinstance(data, (bytes, bytearray, memoryview)) else data
    total = 0
    with open_atomic(fs, os.fspath(final), fsync=fsync, mtime_ns=mtime_ns) as sink:
        for chunk in chunks:
            total += sink.write(chunk)
    return total


def fsync_directory(path: str) -> None:
    """Persist a rename itself (the directory entry), as ``fsync`` promises."""
    fd = os.open(path or ".", os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
