"""The destination folder as the planning thread sees it: listings, claimed names, folders, documents.

Why a module of its own: the importer (:mod:`.importer`) and the calendar files
(:mod:`.calendars`) decide names and write small documents the same way, and the rules that keep
a destination safe live here once:

* **Names are claimed** in page order (:meth:`DestinationTree.claim`), so parallel copies never
  race for one name and a re-run picks the same names.
* **Nothing is written outside the root.** Every folder is resolved before it is created or
  written into (:meth:`ensure_dir`): a folder that is a symbolic link leading elsewhere fails
  the item with a message naming it; a name held by a link or a special file is never written
  through, read or compared (:class:`.listing.DirectoryState.links`).
* **Nobody's file is replaced.** A document (a post, an event's ``.ics``) replaces the file under
  its name only when that file is the same item's earlier version (``owned``); anything else
  keeps its name and the document takes the next candidate (``name (<id8>).json``).
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import ItemError
from . import sidecar
from .atomic import AtomicWriter
from .copies import writing
from .fs import FolderLocation, escapes_root, translate_write_errors
from .listing import DirectoryIndex, DirectoryState
from ..names import name_candidates

__all__ = ["DestinationTree", "MAX_DOCUMENT"]

#: Largest document or record the importer reads back (a calendar file of many thousand events).
MAX_DOCUMENT = 64 << 20


class DestinationTree:
    """Listings, claims, folders and small documents of one destination (planning thread only).

    Args:
        location: the destination root.
        writer: the atomic writer documents are written with.
    """

    def __init__(self, location: FolderLocation, writer: AtomicWriter):
        self.location = location
        self.fs = location.fs
        self.writer = writer
        self.index = DirectoryIndex(self.fs, local=location.local)
        self.claims: dict[str, str] = {}  # destination path -> item id, claimed by this importer
        self._made: set[str] = set()

    # -- names ----------------------------------------------------------------------------

    def state(self, folder: str) -> DirectoryState:
        """What ``folder`` (relative to the root) holds, listed once."""
        return self.index.get(self.location.path(folder))

    def taken_by_other(self, rel: str, item_id: str) -> bool:
        return self.claims.get(rel, item_id) != item_id

    def claim(self, rel: str, item_id: str) -> None:
        self.claims[rel] = item_id

    def note_file(self, folder: str, name: str, size: int) -> None:
        self.index.note_file(self.location.path(folder), name, size)

    def has_content(self, folder: str) -> bool:
        state = self.state(folder)
        return bool(state.files or state.dirs or state.links)

    # -- folders --------------------------------------------------------------------------

    def ensure_dir(self, rel: str, item_id: str) -> None:
        """Create ``rel`` (and parents) once per importer, after checking it stays inside the root.

        Raises:
            ItemError: the folder leads outside the destination (a symbolic link), or a file
                is where the folder must go; the item fails, the others go on.
            FatalError / DestinationFull: the destination cannot be written at all.
        """
        if rel in self._made:
            return
        display = self.location.display(rel)
        outside = escapes_root(self.location, rel)
        if outside is not None:
            raise ItemError(item_id, f"{display} leads outside the destination (a symbolic link to {outside}); nothing is written there")
        try:
            with translate_write_errors(display):
                self.fs.makedirs(self.location.path(rel), exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise ItemError(item_id, f"cannot create the folder {display}: a file is in the way") from None
        self._made.add(rel)
        parent, _, name = rel.rpartition("/")
        if name:
            self.index.note_dir(self.location.path(parent), name)

    # -- documents ------------------------------------------------------------------------

    def read_small(self, folder: str, name: str, item_id: str, limit: int = MAX_DOCUMENT) -> bytes | None:
        """The bytes of a small file we may own, or None when it is missing, a link or too big."""
        state = self.state(folder)
        size = state.files.get(name)
        if size is None or size > limit:
            return None
        with writing(item_id, self.location.display(f"{folder}/{name}")):
            try:
                with self.fs.open(f"{self.location.path(folder)}/{name}", "rb") as handle:
                    return handle.read(limit + 1)[:limit]
            except FileNotFoundError:
                return None

    def read_record(self, folder: str, name: str, item_id: str) -> dict | None:
        """A ferry record (``album.json``, a sidecar) or None when missing or foreign."""
        data = self.read_small(folder, name, item_id, limit=1 << 20)
        return sidecar.parse_record(data) if data is not None else None

    def put_document(self, item_id: str, folder: str, name: str, data: bytes, *, owned: Callable[[bytes], bool] | None = None) -> tuple[str, bool]:
        """Write a small document atomically under the first name that is free or ours.

        Args:
            owned: says whether an existing file with other bytes is this item's own earlier
                version (then it is replaced); None: the name is ours already (a record in a
                folder this item claimed).

        Returns:
            ``(relative path, written)``; ``written`` is False when the same bytes were there.
        """
        state = self.state(folder)
        candidates = name_candidates(name, item_id) if owned is not None else iter((name,))
        for candidate in candidates:
            rel = f"{folder}/{candidate}"
            if self.taken_by_other(rel, item_id) or candidate in state.dirs or candidate in state.links:
                continue
            if candidate in state.files:
                existing = self.read_small(folder, candidate, item_id)
                if existing == data:
                    self.claim(rel, item_id)
                    return rel, False
                if owned is not None and (existing is None or not owned(existing)):
                    continue  # someone else's file: it keeps its name
            self.claim(rel, item_id)
            self._write(item_id, folder, candidate, data)
            return rel, True
        raise ItemError(item_id, f"no free name for {name!r} in {self.location.display(folder)}")

    def _write(self, item_id: str, folder: str, name: str, data: bytes) -> None:
        self.ensure_dir(folder, item_id)
        directory = self.location.path(folder)
        display = self.location.display(f"{folder}/{name}")
        with writing(item_id, display):
            self.writer.remove_quietly(self.index.get(directory).partials.pop(name, []))
            self.writer.write_bytes(f"{directory}/{name}", data, item_id=item_id, display=display)
        self.index.note_file(directory, name, len(data))
