"""The folder source: any fsspec folder read as blobs, or as albums of photos and videos.

Order and cursor: the tree is walked depth first with each directory's entries sorted by name,
which is exactly the order of the entries' relative paths compared segment by segment. So the
cursor only needs the relative path of the last item emitted (:class:`FolderCursor`), and
resuming lists just the directories on that path plus what follows: nothing before the cursor
is listed again. Within one exporter, the walk of the previous page is kept and continued when
the next cursor comes back, so a big flat directory is listed once, not once per page.

Items, with ids from the relative path (and, for blobs, the kind: :mod:`.ids`):

* ``blobs``: a :class:`~connectors.models.Folder` per directory, a :class:`~connectors.models.File`
  per file.
* ``photos`` / ``videos`` / ``media``: a :class:`~connectors.models.MediaAlbum` per directory
  that directly holds media of the vertical (named by its relative path), then its
  :class:`~connectors.models.Photo` / :class:`~connectors.models.Video` items (by extension,
  :mod:`.mediatypes`). Media in the root have no album. A ferry sidecar (``<file>.json``) or
  ``album.json`` next to them, as the folder destination writes, restores titles, times,
  places and album names, so folder -> folder keeps metadata.

Filters (``include`` / ``exclude``, rclone-style globs, :mod:`.filters`): only files that pass
become items; an excluded folder is not listed at all. Skipped silently: ferry's ``.partial-*``
temporaries and what the filters leave out. Skipped and named in :meth:`problems`
(each once per exporter; never opened, so a FIFO cannot hang the walk):

* FIFOs, sockets and devices (local ``lstat``; remote entries of another type): FAILED;
* symbolic links to directories (no loops), links leading out of the source folder and broken
  links: NOT_TRANSFERRED; a link to a regular file inside the folder is read like the file;
* in the media verticals, a directory named like a photo or video: NOT_TRANSFERRED (its files
  are still listed, as an album).

Local files are opened with :func:`connectors.specialfiles.open_regular` (``O_NONBLOCK`` plus
``fstat``), so a file swapped for a FIFO after listing is an item error, not a hang. A walk is
a snapshot only as far as the storage is: files added before the cursor during a transfer are
picked up by the next run, not this one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import IO, Any

from ..base import Cursor, Exporter, Page, Problem, ProblemKind
from ..errors import ConfigError, FatalError, ItemError, RetryableError, RetryableItemError
from ..models import File, Folder, Item, Location, MediaAlbum, Photo, Vertical, Video
from ..specialfiles import NotRegularFile, open_regular, special_kind
from . import sidecar
from ..atomicfile import is_partial_name
from .defaults import DEFAULT_PAGE_SIZE
from .filters import PathFilter
from .fs import FolderLocation
from .ids import IdScheme, item_id
from ..mediatypes import media_kind, mime_type

__all__ = ["FolderExporter", "FolderCursor", "DEFAULT_PAGE_SIZE", "EXPORTS"]

_MEDIA_KINDS = {Vertical.PHOTOS: {"photo"}, Vertical.VIDEOS: {"video"}, Vertical.MEDIA: {"photo", "video"}}
EXPORTS = frozenset({Vertical.BLOBS, *_MEDIA_KINDS})
_READ_BLOCK = 8 << 20  # remote read-ahead per open file: big enough for throughput, flat memory


class FolderCursor(Cursor):
    """Where the walk stands: the relative path of the last item emitted."""

    after: str


@dataclass(frozen=True)
class _Entry:
    name: str
    is_dir: bool
    size: int
    modified: datetime | None
    #: Why the entry is not read: (kind of problem, reason). None for files and directories.
    skip: tuple[ProblemKind, str] | None = None


@dataclass(frozen=True)
class _Node:
    rel: str
    entry: _Entry
    children: tuple[_Entry, ...] = ()  # directories only: their sorted entries
    has_sidecar: bool = False  # files only: a "<name>.json" lies next to it


class FolderExporter(Exporter):
    """Lists an fsspec folder page by page.

    Args:
        location: the opened source (:func:`connectors.folder.fs.open_folder`).
        page_size: items per page.
        id_scheme: how ids are made (:mod:`.ids`; ``path`` only for transfers that began with it).
        filters: which paths are transferred (``--include`` / ``--exclude``).
    """

    cursor_model = FolderCursor
    service_name = "folder"

    def __init__(
        self,
        location: FolderLocation,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        id_scheme: IdScheme = IdScheme.KIND,
        filters: PathFilter | None = None,
    ):
        if page_size < 1:
            raise ConfigError(f"page_size must be at least 1, got {page_size}")
        self.location = location
        self.fs = location.fs
        self.page_size = page_size
        self.id_scheme = IdScheme(id_scheme)
        self.filters = filters or PathFilter()
        # Per vertical: the cursor path the walk stopped at, the next (path, item), the walk.
        self._walks: dict[Vertical, tuple[str, tuple[str, Item], Iterator[tuple[str, Item]]]] = {}
        self._root_checked = False
        self._problems: list[Problem] = []
        self._reported: set[str] = set()

    # -- Exporter -------------------------------------------------------------------------

    def list_page(self, vertical: Vertical, cursor: Cursor | None) -> Page:
        """Return up to ``page_size`` items of ``vertical`` after ``cursor`` (see module doc).

        Raises:
            ConfigError: the vertical is not one a folder exports.
            FatalError: the root is missing, not a folder, or unreadable.
            RetryableError: listing failed in a way that may pass (network).
        """
        vertical = Vertical(vertical)
        if vertical not in EXPORTS:
            have = ", ".join(sorted(EXPORTS))
            raise ConfigError(f"a folder source exports {have}, not {vertical}")
        after = cursor.after if isinstance(cursor, FolderCursor) else None
        self._check_root()
        kept = self._walks.pop(vertical, None)
        if kept is not None and after is not None and kept[0] == after:
            _, pending, walk = kept
            entries = [pending] + _take(walk, self.page_size - 1)
        else:
            walk = self._items(vertical, after)
            entries = _take(walk, self.page_size)
        items = tuple(item for _, item in entries)
        following = _take(walk, 1)
        if not following:
            return Page(items=items, next=None)
        last = entries[-1][0]
        self._walks[vertical] = (last, following[0], walk)
        return Page(items=items, next=FolderCursor(after=last))

    def open_bytes(self, item: Item) -> IO[bytes]:
        """Open a Photo, Video or File of this folder for reading.

        Thread-safe: every call opens its own handle (a plain file, or an fsspec file whose
        requests go through the file system's thread-safe event loop); nothing shared changes.

        Raises:
            ItemError: the file is gone or unreadable (retryable for transient errors).
        """
        ref = getattr(item, "ref", None)
        if not ref:
            raise ItemError(item.id, f"{item.display_name} carries no bytes")
        shown = self.location.display(ref)
        path = self.location.path(ref)
        try:
            if self.location.local:
                return open_regular(path)  # a real file: readinto, no fsspec layer, never a FIFO
            return self.fs.open(path, "rb", block_size=_READ_BLOCK)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ItemError(item.id, f"{shown} is gone from the source") from None
        except PermissionError:
            raise ItemError(item.id, f"{shown} cannot be read: permission denied") from None
        except NotRegularFile as exc:
            raise ItemError(item.id, f"{shown} is {exc.kind} now, not a regular file; not read") from None
        except OSError as exc:
            raise RetryableItemError(item.id, f"{shown} cannot be opened: {type(exc).__name__}: {exc}") from exc

    def problems(self) -> list[Problem]:
        """Return and clear the entries skipped so far (each named once per exporter)."""
        found, self._problems = self._problems, []
        return found

    def close(self) -> None:
        self._walks.clear()

    def _report(self, rel: str, kind: ProblemKind, message: str) -> None:
        if rel not in self._reported:
            self._reported.add(rel)
            self._problems.append(Problem(self.location.display(rel), message, kind))

    # -- the walk -------------------------------------------------------------------------

    def _items(self, vertical: Vertical, after: str | None) -> Iterator[tuple[str, Item]]:
        """Yield ``(relative path, item)`` of ``vertical`` strictly after ``after``."""
        after_parts = tuple(after.split("/")) if after else None
        for node in self._walk("", self._list(""), after_parts):
            item = self._to_item(vertical, node)
            if item is not None:
                yield node.rel, item

    def _walk(self, rel_dir: str, entries: tuple[_Entry, ...], after: tuple[str, ...] | None) -> Iterator[_Node]:
        """Yield the nodes under ``rel_dir`` strictly after ``after`` (relative to it), in order."""
        file_names = {e.name for e in entries if not e.is_dir and e.skip is None}
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if after is not None:
                if entry.name < after[0]:
                    continue
                if entry.name == after[0]:
                    # This entry is on the cursor's path: it was emitted already; only the part
                    # of its subtree after the cursor remains.
                    if entry.is_dir and self.filters.walks(rel):
                        yield from self._walk(rel, self._list(rel), after[1:] or None)
                    continue
            if entry.is_dir:
                if not self.filters.walks(rel):
                    continue  # excluded: not even listed
                children = self._list(rel)
                yield _Node(rel, entry, children)
                yield from self._walk(rel, children, None)
            else:
                yield _Node(rel, entry, has_sidecar=entry.name + sidecar.SIDECAR_SUFFIX in file_names)

    def _to_item(self, vertical: Vertical, node: _Node) -> Item | None:
        rel, entry = node.rel, node.entry
        parent = rel.rpartition("/")[0]
        if not entry.is_dir and not self.filters.file(rel):
            return None  # left out by --include / --exclude
        if entry.skip is not None:
            if vertical == Vertical.BLOBS or media_kind(entry.name) in _MEDIA_KINDS.get(vertical, ()):
                self._report(rel, *entry.skip)
            return None
        if vertical == Vertical.BLOBS:
            if entry.is_dir:
                if not self.filters.folder(rel):
                    return None
                return Folder(id=self._id("folder", rel), path="/" + rel)
            return File(
                id=self._id("file", rel),
                folder="/" + parent,
                name=entry.name,
                mime_type=mime_type(entry.name),
                modified=entry.modified,
                size=entry.size,
                ref=rel,
            )
        kinds = _MEDIA_KINDS[vertical]
        if entry.is_dir:
            if media_kind(entry.name) in kinds:
                self._report(rel, ProblemKind.NOT_TRANSFERRED, f"is a directory named like a {media_kind(entry.name)}, not a file; only the files inside it are listed")
            if not any(not c.is_dir and media_kind(c.name) in kinds and self.filters.file(f"{rel}/{c.name}") for c in node.children):
                return None
            record = self._record(rel, sidecar.ALBUM_RECORD, node.children) or {}
            return MediaAlbum(id=self._id("album", rel), name=record.get("name") or rel, description=record.get("description"))
        kind = media_kind(entry.name)
        if kind not in kinds:
            return None
        meta = (self._read_record(rel + sidecar.SIDECAR_SUFFIX) if node.has_sidecar else None) or {}
        model = Photo if kind == "photo" else Video
        location = meta.get("location")
        return model(
            id=self._id(kind, rel),
            album_id=self._id("album", parent) if parent else None,
            title=meta.get("title") or entry.name,
            description=meta.get("description"),
            mime_type=mime_type(entry.name),
            taken_time=meta.get("taken_time"),
            uploaded_time=meta.get("uploaded_time") or entry.modified,
            favorite=bool(meta.get("favorite", False)),
            location=Location(**location) if isinstance(location, dict) else None,
            size=entry.size,
            ref=rel,
            file_name=entry.name,
        )

    def _id(self, kind: str, rel: str) -> str:
        return item_id(kind, rel, self.id_scheme)

    # -- sidecars written by the folder destination ---------------------------------------

    def _record(self, rel_dir: str, name: str, children: tuple[_Entry, ...]) -> dict[str, Any] | None:
        if not any(c.name == name and not c.is_dir for c in children):
            return None
        return self._read_record(f"{rel_dir}/{name}")

    def _read_record(self, rel: str) -> dict[str, Any] | None:
        path = self.location.path(rel)
        try:
            with (open_regular(path) if self.location.local else self.fs.open(path, "rb")) as handle:
                return sidecar.parse_record(handle.read(1 << 20))
        except OSError:
            return None  # metadata is a bonus; the media still moves

    def check(self) -> None:
        """The source folder exists, is a folder and can be listed (one directory read)."""
        self._check_root()
        self._list("")

    # -- listing --------------------------------------------------------------------------

    def _check_root(self) -> None:
        if self._root_checked:
            return
        shown = self.location.display()
        try:
            info = self.fs.info(self.location.root)
        except FileNotFoundError:
            raise FatalError(f"source folder {shown} does not exist") from None
        except PermissionError:
            raise FatalError(f"source folder {shown} cannot be read: permission denied") from None
        except OSError as exc:
            raise RetryableError(f"cannot reach source folder {shown}: {type(exc).__name__}: {exc}") from exc
        if info.get("type") != "directory":
            raise FatalError(f"source {shown} is not a folder")
        self._root_checked = True

    def _list(self, rel: str) -> tuple[_Entry, ...]:
        """The sorted entries of directory ``rel`` (ferry's temporaries left out)."""
        shown = self.location.display(rel)
        try:
            entries = self._list_local(rel) if self.location.local else self._list_remote(rel)
        except FileNotFoundError:
            entries = []  # vanished since its parent was listed
        except PermissionError:
            raise FatalError(f"source folder {shown} cannot be read: permission denied") from None
        except OSError as exc:
            raise RetryableError(f"listing {shown} failed: {type(exc).__name__}: {exc}") from exc
        return tuple(sorted((e for e in entries if not is_partial_name(e.name)), key=lambda e: e.name))

    def _list_local(self, rel: str) -> list[_Entry]:
        """Entries by ``lstat``: nothing is opened, and links are judged before they are followed."""
        out = []
        root = os.path.realpath(self.location.root)
        with os.scandir(self.location.path(rel)) as it:
            for entry in it:
                try:
                    if entry.is_symlink():
                        out.append(self._link_entry(entry, root))
                    elif entry.is_dir(follow_symlinks=False):
                        out.append(_Entry(entry.name, True, 0, None))
                    else:
                        st = entry.stat(follow_symlinks=False)
                        kind = special_kind(st.st_mode)
                        skip = (ProblemKind.FAILED, f"is {kind}, not a regular file; not opened") if kind else None
                        out.append(_Entry(entry.name, False, st.st_size, _as_time(st.st_mtime), skip))
                except FileNotFoundError:
                    continue
        return out

    @staticmethod
    def _link_entry(entry: os.DirEntry, root: str) -> _Entry:
        target = os.path.realpath(entry.path)
        not_moved = ProblemKind.NOT_TRANSFERRED
        if os.path.commonpath([root, target]) != root:
            return _Entry(entry.name, False, 0, None, (not_moved, "is a symbolic link leading outside the source folder; not followed"))
        try:
            st = os.stat(target)
        except OSError:
            return _Entry(entry.name, False, 0, None, (not_moved, "is a broken symbolic link"))
        if os.path.isdir(target):
            return _Entry(entry.name, False, 0, None, (not_moved, "is a symbolic link to a directory; not followed (no loops)"))
        kind = special_kind(st.st_mode)
        if kind is not None:
            return _Entry(entry.name, False, 0, None, (ProblemKind.FAILED, f"is a symbolic link to {kind}; not opened"))
        return _Entry(entry.name, False, st.st_size, _as_time(st.st_mtime))

    def _list_remote(self, rel: str) -> list[_Entry]:
        directory = self.location.path(rel)
        prefix = directory.rstrip("/") + "/"
        out = []
        for info in self.fs.ls(directory, detail=True):
            full = info["name"].rstrip("/")
            if not (full.startswith(prefix) or full.startswith(prefix.lstrip("/"))):
                continue  # the directory's own marker object
            name = full.rsplit("/", 1)[-1]
            kind = info.get("type")
            if not name:
                continue
            modified = info.get("LastModified") or info.get("mtime") or info.get("created")
            skip = None if kind in ("file", "directory") else (ProblemKind.FAILED, f"is of type {kind!r}, not a file; not read")
            out.append(_Entry(name, kind == "directory", int(info.get("size") or 0), _as_time(modified), skip))
        return out


def _as_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc)
    return None


def _take(iterator: Iterator, count: int) -> list:
    out: list = []
    if count <= 0:
        return out
    for item in iterator:
        out.append(item)
        if len(out) >= count:
            break
    return out
