"""Local files that are not regular files, told apart without opening them.

Why: opening a FIFO blocks until someone writes to it (ferry would hang for ever), reading a
character device such as ``/dev/zero`` never ends, and a symlink can lead out of the folder the
user chose. Sources that read local files (the folder source, a Meta export folder) ``lstat``
first, name such entries as problems, and open what remains with :func:`open_regular`, which
cannot hang even if a file was swapped for a FIFO since it was listed.
"""

from __future__ import annotations

import os
import stat
from typing import IO

__all__ = ["special_kind", "open_regular", "NotRegularFile"]

_SPECIAL = {
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFLNK: "a symbolic link",
    stat.S_IFDIR: "a directory",
}


class NotRegularFile(OSError):
    """The path is a FIFO, socket, device or directory; ``kind`` says which."""

    def __init__(self, path: str, kind: str):
        super().__init__(f"{path} is {kind}, not a regular file")
        self.kind = kind


def special_kind(mode: int) -> str | None:
    """What a file mode is when it is not a regular file (``"a FIFO (named pipe)"``), else None.

    A mode without type bits (zip writers that store only permissions, ``0o600``) counts as regular.
    """
    if stat.S_ISREG(mode) or stat.S_IFMT(mode) == 0:
        return None
    return _SPECIAL.get(stat.S_IFMT(mode), "not a regular file")


def open_regular(path: str | os.PathLike[str]) -> IO[bytes]:
    """Open a local file for reading, refusing anything that is not a regular file.

    ``O_NONBLOCK`` makes opening a FIFO return at once instead of waiting for a writer, and the
    ``fstat`` after opening catches a file swapped for a FIFO or device since it was listed.

    Raises:
        NotRegularFile: not a regular file (``kind`` says what it is).
        OSError: cannot open.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        kind = special_kind(os.fstat(fd).st_mode)
        if kind is not None:
            raise NotRegularFile(os.fspath(path), kind)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
