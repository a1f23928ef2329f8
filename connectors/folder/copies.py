"""Running one planned byte copy, on whichever thread the pool gives it.

Why a module of its own: the importer (:mod:`.importer`) decides *where* an item goes on the
calling thread; what may run on a copy thread is only this: open the source stream, write it
atomically and verified, write the media sidecar. It touches no shared state but the file
system (the planner records what landed from the returned :class:`Landed`), so several copies
can run at once.

Comparing before copying (:attr:`Copy.same_as`): when the planner found files that may already
hold the item's bytes (a foreign file of the same size, bytes of a crashed run without their
sidecar, an earlier delivery of the same item), the copy first hashes the source once and each
such file (or takes a file's sha256 from a record that vouches for it). Equal: the item is
already there under that name, SKIPPED, nothing is written but a missing sidecar. Different:
the bytes go to :attr:`Copy.name`, a name the planner claimed for exactly this case (the same
name when the file is this item's own older copy), so the other files survive.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from ..base import ImportContext, ItemOutcome
from ..checksums import HashAlgorithm
from ..errors import DestinationFull, FatalError, FerryError, ItemError, ReauthRequired, RetryableItemError
from ..models import File, Photo, Video
from ..progress import Progress
from . import sidecar
from .atomic import AtomicWriter, WriteResult
from .fs import FolderLocation, translate_write_errors
from .localcopy import plain_file_descriptor
from .sameness import stored_sha256, stream_sha256

__all__ = ["ByteCopier", "ByteReport", "Copy", "Landed", "writing", "file_time"]


@dataclass(frozen=True)
class Copy:
    """A planned byte copy: the name is claimed and the folder exists; it may run on any thread."""

    item: Photo | Video | File
    folder: str
    name: str | None  # where the bytes go (None: nowhere free; only valid with same_as)
    with_sidecar: bool  # media: write ``<name>.json`` once the bytes landed
    #: files of ``folder`` that may already hold these bytes, compared first (see module doc):
    #: ``(name, its sha256 when a record vouches for it, else None)``
    same_as: tuple[tuple[str, str | None], ...] = ()

    @property
    def rel(self) -> str:
        return f"{self.folder}/{self.name or (self.same_as[0][0] if self.same_as else '')}"


@dataclass
class Landed:
    """A finished item: its outcome plus the files it wrote, for the index (updated by the planner)."""

    outcome: ItemOutcome
    files: list[tuple[str, str, int]] = field(default_factory=list)  # (directory, name, size)
    blob: bool = False  # a File: nothing refers to it later, so its placement is not remembered


class ByteReport:
    """Serialises byte reports from copy threads: a progress sink need not be thread-safe."""

    def __init__(self, progress: Progress):
        self._progress = progress
        self._lock = threading.Lock()

    def __call__(self, nbytes: int) -> None:
        with self._lock:
            self._progress.advance(bytes=nbytes)


class ByteCopier:
    """Copies planned items into one folder; safe to use from several threads at once.

    Args:
        location: the destination folder.
        writer: its atomic writer (keeps one copy buffer per thread).
    """

    def __init__(self, location: FolderLocation, writer: AtomicWriter):
        self.location = location
        self.writer = writer
        #: whether the last source this copier opened was a whole local file (the kernel's
        #: path): the importer then copies small files on its own thread (see
        #: ``FolderImporter._copies_inline``); a remote or streamed source turns it off again
        self.sources_are_files = False

    def run(self, job: Copy, ctx: ImportContext, report: Callable[[int], None], check: Callable[[], None]) -> Landed:
        """Run one planned copy (on a copy thread): the bytes, then the media sidecar.

        Item errors become a FAILED outcome; systemic errors (FatalError, DestinationFull,
        ReauthRequired) propagate to the pool, which stops the page. Touches no shared state
        but the file system: the planning thread records what landed.
        """
        item = job.item
        landed = Landed(ItemOutcome.failed(item.id, "not copied"), blob=isinstance(item, File))
        directory = self.location.path(job.folder)
        try:
            if job.same_as and self._already_there(job, ctx, landed):
                return landed
            if job.name is None:
                raise ItemError(item.id, f"no free name for {item.display_name!r} in {self.location.display(job.folder)}")
            with writing(item.id, self.location.display(job.rel)):
                result = self._stream(job, ctx, lambda n: (check(), report(n)))
                landed.files.append((directory, job.name, result.size))
                if job.with_sidecar:
                    size = self._write_sidecar(job, result, ctx)
                    landed.files.append((directory, job.name + sidecar.SIDECAR_SUFFIX, size))
            landed.outcome = ItemOutcome.imported(item.id, job.rel, result.size, checksum=result.checksum)
        except ItemError as exc:
            landed.outcome = ItemOutcome.failed(item.id, exc.reason, retryable=exc.retryable)
        except FerryError:
            raise
        except Exception as exc:
            landed.outcome = ItemOutcome.failed(item.id, f"{item.display_name}: {type(exc).__name__}: {exc}")
        return landed

    def _already_there(self, job: Copy, ctx: ImportContext, landed: Landed) -> bool:
        """Compare the source with each of ``job.same_as``; on the first equal one, fill
        ``landed`` (SKIPPED there) and say so."""
        item = job.item
        ours: WriteResult | None = None
        for name, recorded in job.same_as:
            rel = f"{job.folder}/{name}"
            with writing(item.id, self.location.display(rel)):
                if ours is None:
                    ours = self._source_sha256(item, ctx)
                try:
                    theirs = recorded or stored_sha256(self.location, rel)
                except FileNotFoundError:
                    continue  # gone since it was listed
                if ours.sha256 != theirs:
                    continue
                if job.with_sidecar:
                    size = self._write_sidecar(job, ours, ctx, name=name)
                    landed.files.append((self.location.path(job.folder), name + sidecar.SIDECAR_SUFFIX, size))
            landed.outcome = ItemOutcome.skipped(item.id, rel)
            return True
        return False

    @staticmethod
    def _source_sha256(item: Photo | Video | File, ctx: ImportContext) -> WriteResult:
        try:
            source = ctx.open_bytes(item)
        except (ItemError, FatalError, ReauthRequired, DestinationFull):
            raise
        except Exception as exc:
            raise RetryableItemError(item.id, f"cannot open the bytes of {item.display_name}: {type(exc).__name__}: {exc}") from exc
        try:
            return stream_sha256(source, item.id, item.display_name)
        finally:
            source.close()

    def _write_sidecar(self, job: Copy, result: WriteResult, ctx: ImportContext, *, name: str | None = None) -> int:
        """Write ``<name>.json`` describing the bytes that landed; return its size."""
        data = sidecar.media_sidecar(job.item, size=result.size, sha256=result.sha256, export_service=ctx.export_service)
        name = (name or job.name) + sidecar.SIDECAR_SUFFIX
        display = self.location.display(f"{job.folder}/{name}")
        with writing(job.item.id, display):
            self.writer.write_bytes(f"{self.location.path(job.folder)}/{name}", data, item_id=job.item.id, display=display)
        return len(data)

    def _algorithm(self, job: Copy) -> HashAlgorithm:
        """sha256 where someone else checks the hash (a media sidecar records it; S3 checks it on
        upload and keeps it), else XXH3: a local copy is checked by ferry alone."""
        if job.with_sidecar or self.writer.strategy != "local":
            return HashAlgorithm.SHA256
        return HashAlgorithm.XXH3_128

    def _stream(self, job: Copy, ctx: ImportContext, on_bytes: Callable[[int], None]) -> WriteResult:
        """Open the item's bytes and write them atomically to the job's path."""
        item = job.item
        final = f"{self.location.path(job.folder)}/{job.name}"
        display = self.location.display(job.rel)
        try:
            source = ctx.open_bytes(item)  # ItemError -> FAILED, page goes on
        except (ItemError, FatalError, ReauthRequired, DestinationFull):
            raise  # the source's own verdict: this item, or the whole job (an archive gone, a dead token)
        except Exception as exc:
            raise RetryableItemError(
                item.id, f"cannot open the bytes of {item.display_name}: {type(exc).__name__}: {exc}"
            ) from exc
        self.sources_are_files = plain_file_descriptor(source) is not None
        try:
            with writing(item.id, display):
                return self.writer.write_stream(
                    final, source, item_id=item.id, display=display, expected_size=item.size, on_bytes=on_bytes,
                    mtime=file_time(item), algorithm=self._algorithm(job),
                )  # fmt: skip
        finally:
            source.close()


def file_time(item: Photo | Video | File) -> datetime | None:
    """The time a copy keeps as its modification time: a file's own, a photo's or video's taken
    time (else its upload time), so a photo folder sorts by when the pictures were taken."""
    if isinstance(item, File):
        return item.modified
    return item.taken_time or item.uploaded_time


@contextmanager
def writing(item_id: str, display: str) -> Iterator[None]:
    """Systemic write errors stop the job; anything else fails this item (retryable)."""
    try:
        with translate_write_errors(display):
            yield
    except (FerryError, KeyboardInterrupt):
        raise
    except OSError as exc:
        raise RetryableItemError(item_id, f"writing {display} failed: {type(exc).__name__}: {exc}") from exc
