"""The folder destination: items written as plain files under any fsspec URL.

Layout under the root (destination ids are these paths, relative to the root)::

    photos/<album>/album.json            the album (name, description, source id)
    photos/<album>/<file name>           a photo's bytes
    photos/<album>/<file name>.json      its sidecar: title, description, times, place, favourite,
                                         source id, size and sha256 of the bytes
    photos/<file name>                   photos without an album (and their .json)
    videos/<album>/<file name>           a video (and its .json); the folder gets a copy of the
                                         album's album.json
    videos/<file name>                   videos without an album
    posts/<YYYY-MM-DD>_<id>.json         a post; attachments name the stored media's path
    calendars/<calendar>.ics             a calendar with all its events (UID = item id)
    calendars/Events.ics                 events that belong to no calendar
    files/<folder path>/<name>           blobs: the source's folder tree, as is

With ``ics=event``: ``calendars/<calendar>/calendar.json`` plus one
``calendars/<calendar>/<YYYY-MM-DD>_<id>.ics`` per event (and loose events as
``calendars/<YYYY-MM-DD>_<id>.ics``), the layout of earlier versions.

Names are made safe (see :mod:`.names`). Two albums or files wanting the same name: the later
one gets `` (<first 8 hex of its id>)``, decided by the records (``album.json``, sidecars) that
claim names, so re-runs pick the same name.

Destinations written by earlier versions (videos in ``photos/``, per-event ``.ics``) are read as
they are, never copied a second time: a video whose sidecar in ``photos/...`` names it is
SKIPPED where it lies, and a calendar that already has its ``calendars/<name>/`` folder keeps
getting per-event files there. Only new items follow the new layout.

**Nothing is lost** (:mod:`.tree`, :mod:`.sameness`). An existing file is "already there" only
when its content matches: a media file whose sidecar names this item with the same size (the
sidecar is ferry's record of what it wrote), or, for anything else, the same sha256 as the
source (hashed on a copy thread). A file of another size, a media file whose sidecar names
another item, or one whose bytes differ keeps its name; the item takes the next name
(``x (<id8>).jpg``) and both survive. The one file ever replaced is this same item's own earlier
copy (a blob the ledger says ferry delivered to that path, a media file whose sidecar names the
item, a post or event file naming it): that is an update of the same item. Folders are resolved
before anything is written into them: a folder that is a symbolic link leading outside the root
fails its items, naming the path; names held by links are never written through.

Idempotence (``Capabilities.repeat_safety`` RECOGNISES): before writing, the importer looks at what is there (one listing per
directory, :mod:`.listing`), by the rules above; either way the destination id is the same, and
no second copy appears.

Errors: an item whose bytes cannot be read, or whose write fails verification, is FAILED and the
page goes on. Permission denied or a read-only destination raises FatalError naming the path;
a full disk raises DestinationFull.

Parallel copies (``transfers``, like rclone's ``--transfers``): every item is *planned* on the
calling thread in page order (its name claimed, its folder made, leftovers removed; containers
and documents written there and then), and only the byte copies of photos, videos and files
(plus a media sidecar, and the comparison of :class:`.copies.Copy`) run on up to ``transfers``
threads (:mod:`.pool`). So names never depend on which copy finishes first, and outcomes are
yielded in page order. A post waits for the copies in flight, since it names where its media
landed. Events are merged into their calendar files before anything else is planned and at the
end of the page (:mod:`.calendars`). When a copy hits a systemic error, no new copy starts, the
ones in flight finish, their outcomes are yielded, then the error is raised; the framework
redoes the rest. ``transfers=1`` copies on the calling thread, one item at a time; so does a
small file (up to ``INLINE_LIMIT``) from local files to a local disk, whatever ``transfers``
says (its copy is a dozen system calls: handing it to a thread costs more than it saves).
Exporters'
``open_bytes`` is called from the copy threads (it must be thread-safe, see
:meth:`connectors.base.Exporter.open_bytes`); byte progress reports from them are serialised.
"""

from __future__ import annotations

import enum
import posixpath
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial

from ..base import Checked, Delivered, ImportContext, Importer, ItemOutcome
from ..errors import FatalError, FerryError, ItemError, RetryableItemError
from ..models import Calendar, CalendarEvent, File, Folder, Item, MediaAlbum, Photo, SocialPost, Video
from . import sidecar
from .atomic import AtomicWriter
from .calendars import CalendarFiles
from .copies import ByteCopier, ByteReport, Copy, Landed, writing
from .defaults import DEFAULT_CHUNK, DEFAULT_TRANSFERS, IcsLayout
from .fs import FolderLocation, translate_write_errors
from .ics import event_ics, event_uids
from ..names import dated_name, name_candidates, safe_path, safe_segment
from ..pool import OrderedPool
from .tree import DestinationTree
from .verify import verify_folder

__all__ = [
    "FolderImporter",
    "IcsLayout",
    "PHOTOS_DIR",
    "VIDEOS_DIR",
    "POSTS_DIR",
    "CALENDARS_DIR",
    "FILES_DIR",
    "DEFAULT_TRANSFERS",
]

PHOTOS_DIR = "photos"
VIDEOS_DIR = "videos"
POSTS_DIR = "posts"
CALENDARS_DIR = "calendars"
FILES_DIR = "files"
#: local files up to this size are copied on the planning thread (:meth:`FolderImporter._copies_inline`)
INLINE_LIMIT = 256 << 10
class _Verdict(enum.Enum):
    FREE = "free"  # nothing under the name
    OURS = "ours"  # this item's own complete copy: SKIPPED without reading anything
    REWRITE = "rewrite"  # this item's own older or incomplete copy: replaced
    COMPARE = "compare"  # a file that may hold these bytes: hash both sides first
    TAKEN = "taken"  # someone else's: try the next name


@dataclass(frozen=True)
class _Judged:
    verdict: _Verdict
    sha256: str | None = None  # COMPARE: the file's hash when a record vouches for it


_PENDING = object()  # an event queued for its calendar file; its outcome comes with the flush


class FolderImporter(Importer):
    """Writes albums, media, posts, calendars and blobs into one folder.

    Args:
        location: the opened destination (:func:`connectors.folder.fs.open_folder`).
        chunk_size: copy buffer size in bytes (one buffer per copy thread).
        strategy: atomic write strategy (``"auto"``; see :class:`.atomic.AtomicWriter`).
        transfers: byte copies running at once (1: one at a time on the calling thread).
        ics: one ``.ics`` per calendar (default) or per event.
        fsync: flush each local file to disk before it counts as written (:mod:`.atomic`).
    """

    def __init__(
        self,
        location: FolderLocation,
        *,
        chunk_size: int = DEFAULT_CHUNK,
        strategy: str = "auto",
        transfers: int = DEFAULT_TRANSFERS,
        ics: IcsLayout = IcsLayout.CALENDAR,
        fsync: bool = False,
    ):
        if transfers < 1:
            raise ValueError(f"transfers must be at least 1, got {transfers}")
        self.location = location
        self.transfers = transfers
        self.ics = IcsLayout(ics)
        self.fs = location.fs
        self.writer = AtomicWriter(self.fs, strategy=strategy, chunk_size=chunk_size, fsync=fsync)
        self.copier = ByteCopier(location, self.writer)
        self.tree = DestinationTree(location, self.writer)
        self.calendars = CalendarFiles(self.tree, CALENDARS_DIR)
        self._placed: dict[str, str] = {}  # item id -> destination id, for items seen by this importer
        self._calendar_names: dict[str, str | None] = {}  # calendar folder -> its name (per-event layout)
        self._video_albums: dict[str, str] = {}  # album folder under photos/ -> its twin under videos/
        self._root_ready = False

    @property
    def index(self):
        return self.tree.index

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
                    if not isinstance(item, CalendarEvent):
                        self._flush_events(pool)
                    if isinstance(item, SocialPost):
                        yield from self._landed(pool.drain())  # it names where its media landed
                    if pool.stopped is not None:
                        break  # a copy hit a systemic error: start nothing new
                    planned = self._plan(item, ctx)
                    if isinstance(planned, Copy):
                        job = partial(self.copier.run, planned, ctx, report, pool.check)
                        pool.submit(job, inline=self._copies_inline(planned))  # False: stopped
                    elif planned is not _PENDING:
                        pool.put(Landed(planned))
                    yield from self._landed(pool.ready())
                self._flush_events(pool)
                yield from self._landed(pool.drain())
                # Every copy landed (or failed): the index now says what each claimed name holds,
                # so the claims go; this importer's memory does not grow with the transfer.
                self.tree.claims.clear()
            except FerryError:  # systemic, raised while planning: hand back what finished first
                yield from self._landed(pool.drain())
                raise
        if pool.stopped is not None:
            raise pool.stopped

    def _copies_inline(self, planned: Copy) -> bool:
        """Whether a copy runs on the planning thread rather than a copy thread.

        A small file (up to :data:`INLINE_LIMIT`) from a local file to a local disk: its copy is
        a dozen system calls, and creations in one folder are serialised by the kernel anyway,
        so a copy thread adds only GIL hand-offs (measured: more CPU, no more files a second).
        Whether the source is local shows only once a stream is open, so this follows the
        sources seen so far (:attr:`.copies.ByteCopier.sources_are_files`): the first copies of
        an import, and every copy after a remote or streamed source, use the threads. Remote
        sources and stores (a round trip per file) and larger files keep the threads.
        """
        size = planned.item.size
        if self.writer.strategy != "local" or planned.same_as or size is None or size > INLINE_LIMIT:
            return False
        return self.copier.sources_are_files

    def check(self) -> None:
        """The destination folder can be made and takes a write: a probe file under a temporary
        name (ignored by listings, cleaned like any leftover) is written and removed, and so are
        the folders made for it, so a check leaves the destination as it found it."""
        import posixpath

        from ..atomicfile import partial_name

        made = []
        path = self.location.root.rstrip("/")
        while path and path not in ("/", ".") and not self.fs.exists(path):
            made.append(path)
            path = posixpath.dirname(path)
        self._prepare_root()
        probe = partial_name(self.location.path(".ferry-check"))
        with translate_write_errors(self.location.display()):
            self.fs.pipe_file(probe, b"ferry check\n")
            self.fs.rm_file(probe)
        for folder in made:  # deepest first; an object store has no empty "folder" to remove, but a bucket
            try:
                self.fs.rmdir(folder)
            except OSError:
                continue
        if made:
            self._root_ready = False

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
            if outcome.destination_id is not None and not landed.blob:
                self._placed[outcome.item_id] = outcome.destination_id
            yield outcome

    def _flush_events(self, pool: OrderedPool[Landed]) -> None:
        for outcome in self.calendars.flush():
            if outcome.destination_id is not None:
                self._placed[outcome.item_id] = outcome.destination_id
            pool.put(Landed(outcome))

    # -- dispatch -------------------------------------------------------------------------

    def _plan(self, item: Item, ctx: ImportContext) -> ItemOutcome | Copy | object:
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

    def _handlers(self) -> dict[type, Callable[[Item, ImportContext], ItemOutcome | Copy | object]]:
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
        if self.ics == IcsLayout.CALENDAR and not self._has_calendar_folder(calendar):
            return self.calendars.calendar(calendar)
        outcome = self._container(
            calendar, CALENDARS_DIR, calendar.name, sidecar.CALENDAR_RECORD, sidecar.calendar_record(calendar)
        )
        if outcome.destination_id:
            self._calendar_names[outcome.destination_id] = calendar.name
        return outcome

    def _has_calendar_folder(self, calendar: Calendar) -> bool:
        """True when an earlier run gave this calendar a folder of per-event files (kept as is)."""
        state = self.tree.state(CALENDARS_DIR)
        for candidate in name_candidates(safe_segment(calendar.name, fallback=calendar.id), calendar.id):
            if candidate in state.dirs:
                record = self.tree.read_record(f"{CALENDARS_DIR}/{candidate}", sidecar.CALENDAR_RECORD, calendar.id)
                if record is not None and record.get("source_id") == calendar.id:
                    return True
        return False

    def _container(self, item: Item, parent: str, name: str | None, record_name: str, record: bytes) -> ItemOutcome:
        """A folder claimed by a record file naming the item; the first free candidate name wins."""
        base = safe_segment(name, fallback=item.id)
        rel = self._claim_folder(item.id, parent, base, record_name)
        written = self.tree.put_document(item.id, rel, record_name, record)[1]
        return ItemOutcome.imported(item.id, rel) if written else ItemOutcome.skipped(item.id, rel)

    def _claim_folder(self, item_id: str, parent: str, base: str, record_name: str) -> str:
        """The folder under ``parent`` that holds (or will hold) ``item_id``'s record, made."""
        state = self.tree.state(parent)
        for candidate in name_candidates(base, item_id):
            rel = f"{parent}/{candidate}"
            if self.tree.taken_by_other(rel, item_id) or candidate in state.links or candidate in state.files:
                continue
            if candidate in state.dirs:
                existing = self.tree.read_record(rel, record_name, item_id)
                if existing is None:
                    # No record: an empty folder is ours from a run that stopped before writing
                    # the record; a folder with content belongs to someone else.
                    if self.tree.has_content(rel):
                        continue
                elif existing.get("source_id") != item_id:
                    continue  # another album's folder
            self.tree.claim(rel, item_id)
            self.tree.ensure_dir(rel, item_id)
            return rel
        raise ItemError(item_id, f"no free folder name for {base!r} under {self.location.display(parent)}")

    def _folder(self, folder: Folder, ctx: ImportContext) -> ItemOutcome:
        rel = posixpath.join(FILES_DIR, safe_path(folder.path)).rstrip("/")
        parent, _, name = rel.rpartition("/")
        existed = name in self.tree.state(parent).dirs
        self.tree.ensure_dir(rel, folder.id)
        return ItemOutcome.skipped(folder.id, rel) if existed else ItemOutcome.imported(folder.id, rel)

    # -- bytes ----------------------------------------------------------------------------

    def _media(self, item: Photo | Video, ctx: ImportContext) -> ItemOutcome | Copy:
        video = isinstance(item, Video)
        album = self._parent_of(item, item.album_id, ctx, "album") if item.album_id else None
        base = safe_segment(item.file_name or item.title, fallback=item.id)
        if video:
            earlier = self._video_in_photos(item, album or PHOTOS_DIR, base)
            if earlier is not None:
                return earlier
            folder = self._video_album(item, album) if album else VIDEOS_DIR
        else:
            folder = album or PHOTOS_DIR
        return self._place_bytes(item, folder, base, with_sidecar=True, ctx=ctx)

    def _video_in_photos(self, item: Video, folder: str, base: str) -> ItemOutcome | None:
        """A video an earlier version stored under ``photos/`` (its sidecar names it): left there."""
        state = self.tree.state(folder)
        for candidate in name_candidates(base, item.id):
            if candidate + sidecar.SIDECAR_SUFFIX not in state.files:
                continue
            if self._judge_media(item, folder, candidate).verdict == _Verdict.OURS:
                rel = f"{folder}/{candidate}"
                self.tree.claim(rel, item.id)
                return ItemOutcome.skipped(item.id, rel)
        return None

    def _video_album(self, item: Video, album: str) -> str:
        """The folder under ``videos/`` of the album at ``album`` (``photos/<name>``), with its record."""
        found = self._video_albums.get(album)
        if found is not None:
            return found
        record = self.tree.read_small(album, sidecar.ALBUM_RECORD, item.id, limit=1 << 20)
        parsed = sidecar.parse_record(record) if record is not None else None
        if record is None or parsed is None:
            raise RetryableItemError(item.id, f"{item.display_name}: the record of its album {self.location.display(album)} is missing")
        album_id = str(parsed.get("source_id") or item.album_id)
        rel = self._claim_folder(album_id, VIDEOS_DIR, posixpath.basename(album), sidecar.ALBUM_RECORD)
        self.tree.put_document(album_id, rel, sidecar.ALBUM_RECORD, record)
        self._video_albums[album] = rel
        return rel

    def _file(self, item: File, ctx: ImportContext) -> ItemOutcome | Copy:
        folder = posixpath.join(FILES_DIR, safe_path(item.folder)).rstrip("/")
        return self._place_bytes(item, folder, safe_segment(item.name, fallback=item.id), with_sidecar=False, ctx=ctx)

    def _place_bytes(self, item: Photo | Video | File, folder: str, base: str, *, with_sidecar: bool, ctx: ImportContext) -> ItemOutcome | Copy:
        """Choose the name for ``item``'s bytes by the rules of the module doc; claim it."""
        compare: list[tuple[str, str | None]] = []  # (name, its sha256 if known): compared first
        for candidate in name_candidates(base, item.id):
            rel = f"{folder}/{candidate}"
            if self.tree.taken_by_other(rel, item.id):
                continue
            judged = self._judge_media(item, folder, candidate) if with_sidecar else self._judge_file(item, folder, candidate, ctx)
            if judged.verdict == _Verdict.TAKEN:
                continue
            self._claim_bytes(rel, item.id, with_sidecar)
            if judged.verdict == _Verdict.COMPARE:
                compare.append((candidate, judged.sha256))
                continue  # keep a free name ready in case the bytes differ
            if judged.verdict == _Verdict.OURS:
                return ItemOutcome.skipped(item.id, rel)
            if judged.verdict == _Verdict.REWRITE and not with_sidecar:
                compare.append((candidate, None))  # our own older copy: still skip the write if it is the same
            return self._prepare_copy(item, folder, candidate, with_sidecar, compare)
        if compare:
            return self._prepare_copy(item, folder, None, with_sidecar, compare)  # equal, or no free name
        raise ItemError(item.id, f"no free name for {base!r} in {self.location.display(folder)}")

    def _claim_bytes(self, rel: str, item_id: str, with_sidecar: bool) -> None:
        self.tree.claim(rel, item_id)
        if with_sidecar:
            self.tree.claim(rel + sidecar.SIDECAR_SUFFIX, item_id)  # the sidecar lands later, maybe after others plan

    def _judge_media(self, item: Photo | Video, folder: str, name: str) -> _Judged:
        state = self.tree.state(folder)
        side = name + sidecar.SIDECAR_SUFFIX
        if name in state.dirs or name in state.links or side in state.dirs or side in state.links:
            return _Judged(_Verdict.TAKEN)
        size = state.files.get(name)
        if side in state.files:
            record = self.tree.read_record(folder, side, item.id)
            if record is None or record.get("source_id") != item.id:
                return _Judged(_Verdict.TAKEN)  # another item's media, or a foreign JSON file
            whole = size is not None and size == record.get("size") and item.size in (None, size)
            return _Judged(_Verdict.OURS if whole else _Verdict.REWRITE)
        if size is None:
            return _Judged(_Verdict.FREE)
        # Bytes without a sidecar: a crash between the two writes, or a foreign file. Ours only
        # if the content is the same; a file of another size is someone else's.
        if item.size is not None and item.size != size:
            return _Judged(_Verdict.TAKEN)
        return _Judged(_Verdict.COMPARE)

    def _judge_file(self, item: File, folder: str, name: str, ctx: ImportContext) -> _Judged:
        state = self.tree.state(folder)
        if name in state.dirs or name in state.links:
            return _Judged(_Verdict.TAKEN)
        size = state.files.get(name)
        if size is None:
            return _Judged(_Verdict.FREE)
        rel = f"{folder}/{name}"
        if self._placed.get(item.id) == rel or ctx.destination_of(item.id) == rel:
            return _Judged(_Verdict.REWRITE)  # ferry delivered this item here before: an update
        if item.size is not None and item.size != size:
            return _Judged(_Verdict.TAKEN)
        return _Judged(_Verdict.COMPARE)

    def _prepare_copy(self, item, folder: str, name: str | None, with_sidecar: bool, compare: list[tuple[str, str | None]]) -> Copy:
        """On the planning thread: make the folder and remove a crashed run's leftovers."""
        self.tree.ensure_dir(folder, item.id)
        if name is not None:
            partials = self.tree.state(folder).partials
            leftovers = partials.pop(name, [])
            if with_sidecar:
                leftovers += partials.pop(name + sidecar.SIDECAR_SUFFIX, [])
            if leftovers:
                with writing(item.id, self.location.display(f"{folder}/{name}")):
                    self.writer.remove_quietly(leftovers)
        return Copy(item, folder, name, with_sidecar, same_as=tuple(compare))

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
        rel, written = self.tree.put_document(post.id, POSTS_DIR, name, sidecar.post_document(post, known), owned=_names(post.id))
        return ItemOutcome.imported(post.id, rel) if written else ItemOutcome.skipped(post.id, rel)

    def _event(self, event: CalendarEvent, ctx: ImportContext) -> ItemOutcome | object:
        folder = CALENDARS_DIR
        if event.calendar_id:
            folder = self._parent_of(event, event.calendar_id, ctx, "calendar")
            if folder.endswith(".ics"):
                self.calendars.add(event, folder)
                return _PENDING
        name = dated_name(event.start, event.id, ".ics")
        if folder == CALENDARS_DIR and self.ics == IcsLayout.CALENDAR and name not in self.tree.state(folder).files:
            self.calendars.add(event, None)  # no calendar, and no per-event file from an earlier run
            return _PENDING
        data = event_ics(event, calendar_name=self._calendar_name(folder))
        rel, written = self.tree.put_document(event.id, folder, name, data, owned=lambda existing: event.id in event_uids(existing))
        return ItemOutcome.imported(event.id, rel) if written else ItemOutcome.skipped(event.id, rel)

    def _calendar_name(self, folder: str) -> str | None:
        if folder == CALENDARS_DIR:
            return None
        if folder not in self._calendar_names:
            record = self.tree.read_record(folder, sidecar.CALENDAR_RECORD, folder) or {}
            self._calendar_names[folder] = record.get("name")
        return self._calendar_names[folder]

    # -- helpers --------------------------------------------------------------------------

    def _parent_of(self, item: Item, parent_id: str, ctx: ImportContext, what: str) -> str:
        found = ctx.parents.get(parent_id) or self._placed.get(parent_id) or ctx.destination_of(parent_id)
        if found is None:
            raise RetryableItemError(
                item.id, f"{item.display_name}: its {what} {parent_id} is not at the destination yet"
            )
        return found


def _names(item_id: str) -> Callable[[bytes], bool]:
    """Whether a ferry record names ``item_id`` (its own earlier version)."""

    def owned(existing: bytes) -> bool:
        record = sidecar.parse_record(existing)
        return record is not None and record.get("source_id") == item_id

    return owned
