"""What the destination already holds, one directory listing at a time.

Why: the importer must know, per item, whether its final file exists and how big it is
(idempotent re-runs), and where leftovers of a crashed run lie. Asking the storage once per item
(a stat or HEAD each) costs a round trip per file; listing the whole destination per item is
quadratic. So each directory is listed once per importer, the first time something is written
into it, and the index is updated as the importer writes.

Symbolic links (local disks) are listed apart, in :attr:`DirectoryState.links`: a name held by
a link is taken, never written through, read or compared, so nothing the importer does follows a
link out of the destination (:mod:`.containment` checks the folders themselves).

The index is private to one importer; another process writing the same directory at the same
time is not seen (the atomic writes still keep every file whole). It keeps the
:data:`MAX_DIRECTORIES` most recently used directories (a source is walked depth first, so a
directory is rarely needed again once left): memory stays flat however many files a transfer
has, and a directory needed again is simply listed again.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from ..atomicfile import PARTIAL_MARK, is_partial_name

__all__ = ["DirectoryIndex", "DirectoryState", "MAX_DIRECTORIES"]

#: Directories whose listing the index keeps at once.
MAX_DIRECTORIES = 128


@dataclass
class DirectoryState:
    """One directory: file sizes by name, sub-directory names, leftover partials by final name,
    and names held by something else (symbolic links, FIFOs, sockets, devices)."""

    files: dict[str, int] = field(default_factory=dict)
    dirs: set[str] = field(default_factory=set)
    partials: dict[str, list[str]] = field(default_factory=dict)
    links: set[str] = field(default_factory=set)

    def taken(self, name: str) -> bool:
        """True when ``name`` is held by anything (file, folder, link, special file)."""
        return name in self.files or name in self.dirs or name in self.links


class DirectoryIndex:
    """Lazily listed directories of one file system.

    Args:
        fs: the fsspec file system.
        local: use ``os.scandir`` (no fsspec overhead) for the local file system.
    """

    def __init__(self, fs: Any, *, local: bool):
        self._fs = fs
        self._local = local
        self._dirs: OrderedDict[str, DirectoryState] = OrderedDict()

    def get(self, directory: str) -> DirectoryState:
        """Return the state of ``directory`` (an absent directory is empty)."""
        state = self._dirs.get(directory)
        if state is None:
            state = self._list(directory)
            self._dirs[directory] = state
            while len(self._dirs) > MAX_DIRECTORIES:
                self._dirs.popitem(last=False)
        else:
            self._dirs.move_to_end(directory)
        return state

    def note_file(self, directory: str, name: str, size: int) -> None:
        state = self.get(directory)
        state.files[name] = size
        state.partials.pop(name, None)

    def note_dir(self, directory: str, name: str) -> None:
        self.get(directory).dirs.add(name)

    def forget(self, directory: str, name: str) -> None:
        state = self._dirs.get(directory)
        if state is not None:
            state.files.pop(name, None)

    def _list(self, directory: str) -> DirectoryState:
        state = DirectoryState()
        for name, is_dir, size in self._entries(directory):
            if size < 0:
                state.links.add(name)
            elif is_dir:
                state.dirs.add(name)
            elif is_partial_name(name):
                final = name.rpartition(PARTIAL_MARK)[0]
                state.partials.setdefault(final, []).append(f"{directory}/{name}")
            else:
                state.files[name] = size
        return state

    def _entries(self, directory: str):
        """``(name, is_dir, size)``; size -1 marks a name held by a link or a special file."""
        if self._local:
            try:
                with os.scandir(directory) as it:
                    for entry in it:
                        try:
                            if entry.is_symlink():
                                yield entry.name, False, -1  # taken, never followed
                            elif entry.is_dir(follow_symlinks=False):
                                yield entry.name, True, 0
                            elif entry.is_file(follow_symlinks=False):
                                yield entry.name, False, entry.stat(follow_symlinks=False).st_size
                            else:
                                yield entry.name, False, -1  # a FIFO, socket or device: taken
                        except FileNotFoundError:
                            continue
            except (FileNotFoundError, NotADirectoryError):
                return
            return
        self._fs.invalidate_cache(directory)
        try:
            listing = self._fs.ls(directory, detail=True)
        except (FileNotFoundError, NotADirectoryError):
            return
        prefix = directory.rstrip("/") + "/"
        for info in listing:
            full = info["name"].rstrip("/")
            if not full.startswith(prefix.lstrip("/")) and not full.startswith(prefix):
                continue  # the directory itself (some stores list a marker object)
            name = full.rsplit("/", 1)[-1]
            if not name:
                continue
            yield name, info.get("type") == "directory", int(info.get("size") or 0)
