"""The example connector's two roles: albums and photos in ``<root>/<album>/<photo>``.

Exporter: lists albums first, then photos, sorted, ``page_size`` at a time; the cursor is the sort
key of the last entry listed, so a resumed export continues after it even if files were added.
Incremental: the last page's bookmark holds the newest change time seen (``max(mtime, ctime)``,
so a file copied in with an old modification time still counts as new); the next round of a
recurring transfer lists only photos changed at or after it (the ledger skips the few listed
again). Importer: writes each photo under its album's folder through a ``.partial`` file renamed
into place; a photo already there with the same size is SKIPPED. Names carry a tag from the item
id (``Summer (3f2a1b9c)/IMG_0001 (8e1d0c2a).jpg``), so two albums or photos with one name never
share a file and every run picks the same names.
"""

from __future__ import annotations

import filecmp
from pathlib import Path

from ..atomicfile import AtomicFile
from ..base import Cursor, Exporter, ImportContext, Importer, ItemOutcome, Page
from ..errors import FatalError, ItemError
from ..mediatypes import known_mime_type
from ..models import MediaAlbum, Photo, Vertical, stable_id
from ..names import safe_segment, tagged_name

__all__ = ["ShoeboxCursor", "ShoeboxExporter", "ShoeboxImporter"]

PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".heic"})


class ShoeboxCursor(Cursor):
    after: str | None = None  # sort key of the last entry listed ("0/<album>", "1/<album>/<file>")
    since_ns: int | None = None  # incremental rounds: only photos changed at or after this


def _changed_ns(path: Path) -> int:
    info = path.stat()
    return max(info.st_mtime_ns, info.st_ctime_ns)


class ShoeboxExporter(Exporter):
    cursor_model = ShoeboxCursor
    service_name = "Shoebox"

    def __init__(self, root: str, *, page_size: int = 100):
        self.root, self.page_size = Path(root).expanduser(), page_size

    def _entries(self, since_ns: int | None) -> tuple[list[tuple[str, MediaAlbum | Photo]], int]:
        """Every entry as (sort key, item), and the newest change time seen."""
        if not self.root.is_dir():
            raise FatalError(f"no such folder: {self.root}")
        entries: list[tuple[str, MediaAlbum | Photo]] = []
        newest = since_ns or 0
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir()):
            album = MediaAlbum(id=stable_id("example", folder.name), name=folder.name)
            entries.append((f"0/{folder.name}", album))
            for file in sorted(p for p in folder.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES and p.is_file()):
                changed = _changed_ns(file)
                newest = max(newest, changed)
                if since_ns is None or changed >= since_ns:
                    photo = Photo(id=stable_id("example", folder.name, file.name), album_id=album.id, title=file.name,
                                  mime_type=known_mime_type(file.name) or "image/jpeg", size=file.stat().st_size,
                                  ref=f"{folder.name}/{file.name}", file_name=file.name)  # fmt: skip
                    entries.append((f"1/{folder.name}/{file.name}", photo))
        return sorted(entries, key=lambda entry: entry[0]), newest  # albums first, then photos

    def list_page(self, vertical: Vertical, cursor: Cursor | None) -> Page:
        assert cursor is None or isinstance(cursor, ShoeboxCursor)
        since = cursor.since_ns if cursor else None
        entries, newest = self._entries(since)
        rest = [(key, item) for key, item in entries if cursor is None or cursor.after is None or key > cursor.after]
        page, more = rest[: self.page_size], len(rest) > self.page_size
        if more:
            return Page(items=tuple(item for _, item in page), next=ShoeboxCursor(after=page[-1][0], since_ns=since))
        return Page(items=tuple(item for _, item in page), bookmark=ShoeboxCursor(since_ns=newest))

    def open_bytes(self, item):
        path = self.root / item.ref
        try:
            return open(path, "rb")
        except OSError as exc:
            raise ItemError(item.id, f"cannot read {path}: {exc.strerror}") from None


class ShoeboxImporter(Importer):
    def __init__(self, root: str):
        self.root = Path(root).expanduser()
        self.albums: dict[str, str] = {}  # album id -> its folder, for albums of this importer's pages

    def import_page(self, items, ctx: ImportContext):
        for item in items:
            if ctx.should_stop():
                return
            if isinstance(item, MediaAlbum):
                folder = safe_segment(tagged_name(item.name or "album", item.id[:8]))
                (self.root / folder).mkdir(parents=True, exist_ok=True)
                self.albums[item.id] = folder
                yield ItemOutcome.imported(item.id, folder)
                continue
            yield self._photo(item, ctx)

    def _photo(self, item: Photo, ctx: ImportContext) -> ItemOutcome:
        album = self.albums.get(item.album_id or "") or ctx.parents.get(item.album_id or "", "_no_album")
        relative = f"{album}/{safe_segment(tagged_name(item.file_name, item.id[:8]))}"
        target = self.root / relative
        if item.size is not None and target.is_file() and target.stat().st_size == item.size:
            return ItemOutcome.skipped(item.id, relative)  # already there (rclone's size check)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with ctx.open_bytes(item) as source, AtomicFile(target) as sink:  # renamed into place on success
                while block := source.read(1 << 20):
                    sink.write(block)
                    ctx.progress.advance(bytes=len(block))
                sink.close()
                if target.is_file() and filecmp.cmp(sink.path, target, shallow=False):  # size unknown: compare
                    sink.abort()
                    return ItemOutcome.skipped(item.id, relative)
        except (ItemError, OSError) as exc:
            return ItemOutcome.failed(item.id, f"{item.display_name}: {exc}", retryable=isinstance(exc, OSError))
        return ItemOutcome.imported(item.id, relative, target.stat().st_size)
