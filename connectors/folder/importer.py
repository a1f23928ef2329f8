"""The folder destination: items written as plain files under any fsspec URL.

Layout under the root (destination ids are these paths, relative to the root)::

    photos/<album>/album.json            the album (name, description, source id)
    photos/<album>/<file name>           a photo's or video's bytes
    photos/<album>/<file name>.json      its sidecar: title, description, times, place, favourite,
                                         source id, size and sha256 of the bytes
    photos/<file name>                   media without an album (and its .json)
    posts/<YYYY-MM-DD>_<id>.json         a post; attachments name the stored media's path
    calendars/<calendar>/calendar.json   a calendar
    calendars/<calendar>/<YYYY-MM-DD>_<id>.ics   one event per iCalendar file, UID = item id
    files/<folder path>/<name>           blobs: the source's folder tree, as is

Names are made safe (see :mod:`.names`). Two albums or files wanting the same name: the later
one gets `` (<first 8 hex of its id>)``, decided by the records (``album.json``, sidecars) that
claim names, so re-runs pick the same name.

Idempotence (``Capabilities.repeat_safety`` RECOGNISES): before writing, the importer looks at what is there (one listing per
directory, :mod:`.listing`). A media file whose sidecar names this item and whose size matches
the sidecar (and the item's size, when known) is SKIPPED; a blob of the announced size is
SKIPPED; posts, events and records are SKIPPED when the same bytes are already there, else
rewritten. Either way the destination id is the same, and no second copy appears.

Errors: an item whose bytes cannot be read, or whose write fails verification, is FAILED and the
page goes on. Permission denied or a read-only destination raises FatalError naming the path;
a full disk raises DestinationFull.

Parallel copies (``transfers``, like rclone's ``--transfers``): every item is *planned* on the
calling thread in page order (its name claimed, its folder made, leftovers removed; containers
and documents written there and then), and only the byte copies of photos, videos and files
(plus a media sidecar, :mod:`.copies`) run on up to ``transfers`` threads (:mod:`.pool`). So
names never depend on which copy finishes first, and outcomes are yielded in page order. A post
waits for the copies in flight, since it names where its media landed. When a copy hits a
systemic error, no new copy starts, the ones in flight finish, their outcomes are yielded, then
the error is raised; the framework redoes the rest. ``transfers=1`` copies on the calling
thread, one item at a time. Exporters' ``open_bytes`` is called from the copy threads (it must
be thread-safe, see :meth:`connectors.base.Exporter.open_bytes`); byte progress reports from
them are serialised.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator, Sequence
from functools import partial

from ..base import Checked, Delivered, ImportContext, Importer, ItemOutcome
from ..errors import FatalError, FerryError, ItemError, RetryableItemError
from ..models import Calendar, CalendarEvent, File, Folder, Item, MediaAlbum, Photo, SocialPost, Video
from . import sidecar
from .atomic import DEFAULT_CHUNK, AtomicWriter
from .copies import ByteCopier, ByteReport, Copy, Landed, writing
from .fs import FolderLocation, translate_write_errors
from .ics import event_ics
from .listing import DirectoryIndex
from .names import dated_name, name_candidates, safe_path, safe_segment
from .pool import OrderedPool
from .verify import verify_folder

__all__ = ["FolderImporter", "PHOTOS_DIR", "POSTS_DIR", "CALENDARS_DIR", "FILES_DIR", "DEFAULT_TRANSFERS"]

PHOTOS_DIR = "photos"
POSTS_DIR = "posts"
CALENDARS_DIR = "calendars"
FILES_DIR = "files"
#: Byte copies running at once (rclone's default ``--transfers``).
DEFAULT_TRANSFERS = 4


class FolderImporter(Importer):
    """Writes albums, media, posts, calendars and blobs into one folder.

    Args:
        location: the opened destination (:func:`connectors.folder.fs.open_folder`).
        chunk_size: copy buffer size in bytes (one buffer per copy thread).
        strategy: atomic write strategy (``"auto"``; see :class:`.atomic.AtomicWriter`).
        transfers: byte copies running at once (1: one at a time on the calling thread).
    """

    def __init__(
        self,
        location: FolderLocation,
        *,
        chunk_size: int = DEFAULT_CHUNK,
        strategy: str = "auto",
        transfers: int = DEFAULT_TRANSFERS,
    ):
        if transfers < 1:
            raise ValueError(f"transfers must be at least 1, got {transfers}")
        self.location = location
        self.transfers = transfers
        self.fs = location.fs
        self.writer = AtomicWriter(self.fs, strategy=strategy, chunk_size=chunk_size)
        self.copier = ByteCopier(location, self.writer)
        self.index = DirectoryIndex(self.fs, local=location.local)
        self._made: set[str] = set()
        self._placed: dict[str, str] = {}  # item id -> destination id, for items seen by this importer
        self._claims: dict[str, str] = {}  # destination id -> item id, claimed by this importer
        self._calendar_names: dict[str, str | None] = {}  # calendar folder -> its name
        self._root_ready = False

    # -- Importer -------------------------------------------------------------------------

    def verify(self, delivered: Sequence[Delivered]) -> Iterator[Checked]:
        return verify_folder(self.location, delivered)

    def import_page(self, items: Sequence[Item], ctx: ImportContext) -> Iterator[ItemOutcome]:
        """Import ``items``, yielding outcomes in page order; see the module docstring."""
        self._prepare_root()
        report = ByteReport(ctx.progress)  # the framework counts items; we report bytes
        with OrderedPool[Landed](self.transfers) as pool:
            try:
                for item in items:
                    if ctx.should_stop():
                        break  # Ctrl-C: start nothing new; the copies in flight finish
                    if isinstance(item, SocialPost):
                        yield from self._landed(pool.drain())  # it names where its media landed
                    if pool.stopped is not None:
                        break  # a copy hit a systemic error: start nothing new
                    planned = self._plan(item, ctx)
                    if isinstance(planned, Copy):
                        pool.submit(partial(self.copier.run, planned, ctx, report, pool.check))  # False: stopped
                    else:
                        pool.put(Landed(planned))
                    yield from self._landed(pool.ready())
                yield from self._landed(pool.drain())
            except FerryError:  # systemic, raised while planning: hand back what finished first
                yield from self._landed(pool.drain())
                raise
        if pool.stopped is not None:
            raise pool.stopped

    def _prepare_root(self) -> None:
        if self._root_ready:
            return
        display = self.location.display()
        with translate_write_errors(display):
            try:
                self.fs.makedirs(self.location.root, exist_ok=True)
            except (FileExistsError, NotADirectoryError) as exc:
                # the destination itself is a file, or a file sits on its path: nothing can land
                raise FatalError(f"cannot write to {display}: a file is in the way ({exc.filename or display})") from exc
        self._root_ready = True

    def _landed(self, results: Iterator[Landed]) -> Iterator[ItemOutcome]:
        """Record finished copies (index, placements) on the planning thread, then yield them."""
        for landed in results:
            for directory, name, size in landed.files:
                self.index.note_file(directory, name, size)
            outcome = landed.outcome
            if outcome.destination_id is not None:
                self._placed[outcome.item_id] = outcome.destination_id
            yield outcome

    # -- dispatch -------------------------------------------------------------------------

    def _plan(self, item: Item, ctx: ImportContext) -> ItemOutcome | Copy:
        """Import ``item`` here, or claim its name and return the byte copy still to run."""
        handler = self._handlers().get(type(item))
        if handler is None:
            return ItemOutcome.failed(item.id, f"the folder destination cannot store a {type(item).__name__}")
        try:
            with writing(item.id, self.location.display()):
                planned = handler(item, ctx)
        except ItemError as exc:
            return ItemOutcome.failed(item.id, exc.reason, retryable=exc.retryable)
        except FerryError:
            raise  # FatalError, DestinationFull, ReauthRequired: stop the job
        except Exception as exc:  # one bad item (an unparsable RRULE, ...) must not sink the page
            return ItemOutcome.failed(item.id, f"{item.display_name}: {type(exc).__name__}: {exc}")
        if isinstance(planned, ItemOutcome) and planned.destination_id is not None:
            self._placed[item.id] = planned.destination_id
        return planned

    def _handlers(self) -> dict[type, Callable[[Item, ImportContext], ItemOutcome | Copy]]:
        return {
            MediaAlbum: self._album,
            Photo: self._media,
            Video: self._media,
            SocialPost: self._post,
            Calendar: self._calendar,
            CalendarEvent: self._event,
            Folder: self._folder,
            File: self._file,
        }

    # -- containers -----------------------------------------------------------------------

    def _album(self, album: MediaAlbum, ctx: ImportContext) -> ItemOutcome:
        return self._container(album, PHOTOS_DIR, album.name, sidecar.ALBUM_RECORD, sidecar.album_record(album))

    def _calendar(self, calendar: Calendar, ctx: ImportContext) -> ItemOutcome:
        outcome = self._container(
            calendar, CALENDARS_DIR, calendar.name, sidecar.CALENDAR_RECORD, sidecar.calendar_record(calendar)
        )
        if outcome.destination_id:
            self._calendar_names[outcome.destination_id] = calendar.name
        return outcome

    def _container(self, item: Item, parent: str, name: str | None, record_name: str, record: bytes) -> ItemOutcome:
        """A folder claimed by a record file naming the item; the first free candidate name wins."""
        base = safe_segment(name, fallback=item.id)
        parent_path = self.location.path(parent)
        for candidate in name_candidates(base, item.id):
            rel = f"{parent}/{candidate}"
            if self._claims.get(rel, item.id) != item.id:
                continue
            if candidate in self.index.get(parent_path).dirs:
                existing = self._read_record(rel, record_name, item.id)
                if existing is None:
                    # No record: an empty folder is ours from a run that stopped before writing
                    # the record; a folder with content belongs to someone else.
                    if self._has_content(rel):
                        continue
                elif existing.get("source_id") != item.id:
                    continue  # another album's folder
                self._claims[rel] = item.id
                written = self._put_document(item.id, rel, record_name, record)
                return ItemOutcome.imported(item.id, rel) if written else ItemOutcome.skipped(item.id, rel)
            self._claims[rel] = item.id
            self._ensure_dir(rel)
            self._put_document(item.id, rel, record_name, record)
            return ItemOutcome.imported(item.id, rel)
        raise ItemError(item.id, f"no free folder name for {base!r} under {self.location.display(parent)}")

    def _folder(self, folder: Folder, ctx: ImportContext) -> ItemOutcome:
        rel = posixpath.join(FILES_DIR, safe_path(folder.path)).rstrip("/")
        parent, name = rel.rsplit("/", 1) if "/" in rel else ("", rel)
        existed = name in self.index.get(self.location.path(parent)).dirs
        self._ensure_dir(rel)
        return ItemOutcome.skipped(folder.id, rel) if existed else ItemOutcome.imported(folder.id, rel)

    # -- bytes ----------------------------------------------------------------------------

    def _media(self, item: Photo | Video, ctx: ImportContext) -> ItemOutcome | Copy:
        folder = PHOTOS_DIR
        if item.album_id:
            folder = self._parent_of(item, item.album_id, ctx, "album")
        base = safe_segment(item.file_name or item.title, fallback=item.id)
        for candidate in name_candidates(base, item.id):
            rel = f"{folder}/{candidate}"
            state = self._media_state(item, folder, candidate)
            if state == "taken":
                continue
            self._claims[rel] = item.id
            self._claims[rel + sidecar.SIDECAR_SUFFIX] = item.id  # the sidecar lands later, maybe after others plan
            if state == "complete":
                return ItemOutcome.skipped(item.id, rel)
            return self._prepare_copy(item, folder, candidate, with_sidecar=True)
        raise ItemError(item.id, f"no free name for {base!r} in {self.location.display(folder)}")

    def _media_state(self, item: Photo | Video, folder: str, name: str) -> str:
        """``free``, ``complete`` (ours, whole), ``incomplete`` (ours, to rewrite) or ``taken``."""
        rel = f"{folder}/{name}"
        claimed_by = self._claims.get(rel)
        if claimed_by is not None and claimed_by != item.id:
            return "taken"
        files = self.index.get(self.location.path(folder)).files
        size = files.get(name)
        if name + sidecar.SIDECAR_SUFFIX in files:
            record = self._read_record(folder, name + sidecar.SIDECAR_SUFFIX, item.id)
            if record is None or record.get("source_id") != item.id:
                return "taken"
            whole = size is not None and size == record.get("size") and item.size in (None, size)
            return "complete" if whole else "incomplete"
        if size is None:
            return "free"
        # Bytes without a sidecar: a crash between the two writes, or a foreign file. Adopt it
        # only when the source vouches for the size; otherwise leave it alone.
        return "incomplete" if item.size is not None and item.size == size else "taken"

    def _file(self, item: File, ctx: ImportContext) -> ItemOutcome | Copy:
        folder = posixpath.join(FILES_DIR, safe_path(item.folder)).rstrip("/")
        base = safe_segment(item.name, fallback=item.id)
        files = self.index.get(self.location.path(folder)).files
        for candidate in name_candidates(base, item.id):
            rel = f"{folder}/{candidate}"
            if self._claims.get(rel, item.id) != item.id:
                continue
            self._claims[rel] = item.id
            if item.size is not None and files.get(candidate) == item.size:
                return ItemOutcome.skipped(item.id, rel)
            return self._prepare_copy(item, folder, candidate, with_sidecar=False)
        raise ItemError(item.id, f"no free name for {base!r} in {self.location.display(folder)}")

    def _prepare_copy(self, item: Photo | Video | File, folder: str, name: str, *, with_sidecar: bool) -> Copy:
        """On the planning thread: make the folder and remove a crashed run's leftovers."""
        self._ensure_dir(folder)
        directory = self.location.path(folder)
        partials = self.index.get(directory).partials
        leftovers = partials.pop(name, [])
        if with_sidecar:
            leftovers += partials.pop(name + sidecar.SIDECAR_SUFFIX, [])
        if leftovers:
            with writing(item.id, self.location.display(f"{folder}/{name}")):
                self.writer.remove_quietly(leftovers)
        return Copy(item, folder, name, with_sidecar)

    # -- metadata documents ---------------------------------------------------------------

    def _post(self, post: SocialPost, ctx: ImportContext) -> ItemOutcome:
        known = {}
        for attachment in post.attachments:
            media_id = attachment.media_id
            if media_id:
                path = self._placed.get(media_id) or ctx.parents.get(media_id) or ctx.destination_of(media_id)
                if path:
                    known[media_id] = path
        name = dated_name(post.published, post.id, ".json")
        written = self._put_document(post.id, POSTS_DIR, name, sidecar.post_document(post, known))
        rel = f"{POSTS_DIR}/{name}"
        return ItemOutcome.imported(post.id, rel) if written else ItemOutcome.skipped(post.id, rel)

    def _event(self, event: CalendarEvent, ctx: ImportContext) -> ItemOutcome:
        folder = CALENDARS_DIR
        if event.calendar_id:
            folder = self._parent_of(event, event.calendar_id, ctx, "calendar")
        data = event_ics(event, calendar_name=self._calendar_name(folder))
        name = dated_name(event.start, event.id, ".ics")
        written = self._put_document(event.id, folder, name, data)
        rel = f"{folder}/{name}"
        return ItemOutcome.imported(event.id, rel) if written else ItemOutcome.skipped(event.id, rel)

    def _calendar_name(self, folder: str) -> str | None:
        if folder == CALENDARS_DIR:
            return None
        if folder not in self._calendar_names:
            record = self._read_record(folder, sidecar.CALENDAR_RECORD, folder) or {}
            self._calendar_names[folder] = record.get("name")
        return self._calendar_names[folder]

    def _put_document(self, item_id: str, folder: str, name: str, data: bytes, *, compare: bool = True) -> bool:
        """Write a small document atomically unless the same bytes are there; True if written."""
        directory = self.location.path(folder)
        final = f"{directory}/{name}"
        display = self.location.display(f"{folder}/{name}")
        with writing(item_id, display):
            state = self.index.get(directory)
            if compare and state.files.get(name) == len(data):
                with self.fs.open(final, "rb") as existing:
                    if existing.read() == data:
                        return False
            self._ensure_dir(folder)
            self.writer.remove_quietly(state.partials.pop(name, []))
            self.writer.write_bytes(final, data, item_id=item_id, display=display)
        self.index.note_file(directory, name, len(data))
        return True

    def _has_content(self, rel: str) -> bool:
        state = self.index.get(self.location.path(rel))
        return bool(state.files or state.dirs)

    def _read_record(self, folder: str, name: str, item_id: str) -> dict | None:
        path = f"{self.location.path(folder)}/{name}"
        with writing(item_id, self.location.display(f"{folder}/{name}")):
            try:
                with self.fs.open(path, "rb") as handle:
                    return sidecar.parse_record(handle.read(1 << 20))
            except FileNotFoundError:
                return None

    # -- helpers --------------------------------------------------------------------------

    def _parent_of(self, item: Item, parent_id: str, ctx: ImportContext, what: str) -> str:
        found = ctx.parents.get(parent_id) or self._placed.get(parent_id) or ctx.destination_of(parent_id)
        if found is None:
            raise RetryableItemError(
                item.id, f"{item.display_name}: its {what} {parent_id} is not at the destination yet"
            )
        return found

    def _ensure_dir(self, rel: str) -> None:
        """Create ``rel`` (and parents) once per importer; object stores need no directories."""
        if rel in self._made:
            return
        path = self.location.path(rel)
        with translate_write_errors(self.location.display(rel)):
            self.fs.makedirs(path, exist_ok=True)
        self._made.add(rel)
        if "/" in rel:
            parent, name = rel.rsplit("/", 1)
            self.index.note_dir(self.location.path(parent), name)
        elif rel:
            self.index.note_dir(self.location.root, rel)
