"""``TikTokExporter``: the request lifecycle plus the parsers, behind the SDK's Exporter API.

Framework contract (what ``flows/`` relies on):

* ``list_page(vertical, cursor)`` either returns a page or raises
  :class:`~connectors.errors.SourceNotReady` whose ``cursor`` must be saved for that vertical and
  given back on the next call; ``wake_key`` is ``str(request_id)``, the same string the webhook
  receiver passes to ``on_ready``. Every vertical of a job shares one data request, recorded in
  the job's state slot (:mod:`.state`), so a job has at most one Add call unless the request
  expires.
* ``cancel_pending(cursor)`` cancels the job's data request at TikTok (call it when the ferry job
  is cancelled; idempotent; with ``None`` it finds the request in the job's state slot).
* A download that cannot be read (:class:`~.parse.MalformedExport`) is discarded and downloaded
  again by the engine's retry (RetryableError); the same failure :data:`~.lifecycle.MAX_MALFORMED`
  times in a row is a FatalError that says what is wrong, and resuming does not download again.

Bytes: section files are rendered from the document, zip members are read from the staged zip
(through the ratio check), and a post's media comes from the zip when the export carries it, else
from its link (:mod:`.links`). A link that answers "gone" (its signature expired) is followed by a
fresh download of the same request, whose links are signed anew, before the item fails; each dead
link is fetched once, and fresh links are fetched only while the last ones served something.
"""

from __future__ import annotations

import io
import threading
import zipfile
from contextlib import ExitStack
from typing import IO

from ..base import Cursor, Exporter, Page, Problem
from ..errors import ConfigError, FatalError, ItemError, RetryableError, RetryableItemError
from ..models import File, Item, Photo, Vertical, Video
from ..progress import Progress
from ..readlimits import BoundedReader, ReadLimits
from ..state import StateSlot
from ..zipsafety import item_stream
from .api import TikTokApi
from .blobs import blob_items
from .cursor import Phase, TikTokCursor
from .entries import PostEntry, is_http, permanent_link, post_entries
from .lifecycle import LifecycleOptions, RequestLifecycle, Staged
from .links import LinkGone, MediaLinks
from .media import SNIFF_BYTES, MediaKind, MediaType, pair_members, sniff
from .parse import MalformedExport, TikTokExport, ZipMember, load_export, open_zip
from .posts import POST_PREFIX, ZIP_PREFIX, PostMedia, media_items, post_items
from .sections import JSON_PREFIX, render, unpointer
from .staging import Staging

__all__ = ["TikTokExporter", "EXPORTS"]

EXPORTS = frozenset({Vertical.PHOTOS, Vertical.VIDEOS, Vertical.SOCIAL_POSTS, Vertical.BLOBS})


class _Download:
    """One staged download, opened: its zip, its document and its posts' current links."""

    def __init__(self, staged: Staged, stack: ExitStack, export: TikTokExport, zf) -> None:
        self.staged = staged
        self.stack = stack
        self.export = export
        self.zf = zf
        self.entries: list[PostEntry] = post_entries(export)
        self.links = {entry.media_id: entry.link for entry in self.entries if is_http(entry.link)}
        export.volatile = frozenset(link for link in self.links.values() if permanent_link(link) is None)


class TikTokExporter(Exporter):
    """Exports one TikTok account through one (shared) data request.

    Args:
        api: the HTTP client (owns the token source).
        staging: the job's private staging folder.
        options: the request's categories, format and polling knobs.
        slot: the job's state slot (the shared data request, see :mod:`.state`).
        page_size: items per page.
        progress: the source's progress sink: the zip download shows as a bar.
        limits: the read caps for the download (:mod:`connectors.readlimits`).
        links: the media-link fetcher (tests may pass one with a transport).
    """

    cursor_model = TikTokCursor
    service_name = "TikTok"

    def __init__(
        self,
        api: TikTokApi,
        staging: Staging,
        options: LifecycleOptions,
        slot: StateSlot,
        *,
        page_size: int = 200,
        progress: Progress | None = None,
        limits: ReadLimits | None = None,
        links: MediaLinks | None = None,
    ) -> None:
        self._api = api
        self._staging = staging
        self._lifecycle = RequestLifecycle(api, staging, options, slot, progress=progress)
        self._page_size = page_size
        self._limits = limits or ReadLimits()
        self._links = links or MediaLinks()
        self._current: _Download | None = None
        self._retired: list[ExitStack] = []  # earlier downloads: streams may still read them
        self._medias: dict[str, PostMedia] | None = None
        self._items: dict[Vertical, list[Item]] = {}
        self._problems: dict[tuple[str, str], None] = {}
        self._served = 0  # media fetched through the current links
        self._refreshes = 0  # fresh downloads for links; another only after the last one served
        # open_bytes runs on importers' copy threads: one of them loads the staged zip, and
        # members are opened one at a time (reads then run in parallel; zipfile serialises them)
        self._lock = threading.RLock()

    # -- Exporter -------------------------------------------------------------------------

    def list_page(self, vertical: Vertical, cursor: Cursor | None) -> Page:
        if vertical not in EXPORTS:
            raise ConfigError(f"the TikTok connector exports {', '.join(sorted(EXPORTS))}, not {vertical}")
        assert cursor is None or isinstance(cursor, TikTokCursor), cursor  # the framework loads cursor_model
        staged = self._lifecycle.ensure_staged(cursor)
        items = self._items_of(vertical, staged)
        start = 0
        if cursor is not None and cursor.phase == Phase.STAGED and cursor.request_id == staged.request_id:
            start = cursor.offset
        end = min(start + self._page_size, len(items))
        nxt = None
        if end < len(items):
            nxt = TikTokCursor(request_id=staged.request_id, phase=Phase.STAGED, rerequests=staged.rerequests, offset=end)
        return Page(items=tuple(items[start:end]), next=nxt, total_hint=len(items))

    def open_bytes(self, item: Item) -> IO[bytes]:
        ref = getattr(item, "ref", "")
        if isinstance(item, File) and ref.startswith(JSON_PREFIX):
            element = self._download().export.value(*unpointer(ref[len(JSON_PREFIX) :]))
            if element.error is not None:
                raise ItemError(item.id, f"TikTok section {ref[len(JSON_PREFIX):]} cannot be read: {element.error}")
            return io.BytesIO(render(element.value, self._download().export.volatile))
        if ref.startswith(ZIP_PREFIX):
            return self._open_member(item.id, ref[len(ZIP_PREFIX) :])
        if isinstance(item, Photo | Video) and ref.startswith(POST_PREFIX):
            return self._open_post_media(item.id)
        raise ItemError(item.id, f"the TikTok exporter did not make this item (ref {ref!r})")

    def problems(self) -> list[Problem]:
        found = [Problem(where, message) for where, message in self._problems]
        self._problems.clear()
        return found

    def close(self) -> None:
        self._drop_current()
        for stack in self._retired:
            stack.close()
        self._retired.clear()
        self._links.close()
        self._api.close()

    def cancel_pending(self, cursor: Cursor | None = None) -> None:
        """Cancel the job's TikTok data request (when the ferry job is cancelled).

        Finds the request from ``cursor`` or, when None, from the job's state slot; the staged
        zip and the job's record of the request go too. Idempotent.
        """
        assert cursor is None or isinstance(cursor, TikTokCursor), cursor
        with self._lock:
            self._drop_current()
        self._lifecycle.cancel(cursor)

    # -- the staged download ----------------------------------------------------------------

    def _drop_current(self) -> None:
        if self._current is not None:
            self._current.stack.close()
        self._current = None
        self._medias = None
        self._items.clear()

    def _load(self, staged: Staged) -> _Download:
        """Open the staged zip (once per download); a malformed one is discarded and raised."""
        with self._lock:
            current = self._current
            if current is not None and (current.staged.request_id, current.staged.download) == (staged.request_id, staged.download):
                return current
            stack = ExitStack()
            try:
                fh = stack.enter_context(self._staging.open_zip(staged.request_id, staged.download))
                zf = stack.enter_context(open_zip(fh, source=f"request {staged.request_id}", limits=self._limits))
                export = load_export(zf, source=f"request {staged.request_id}", limits=self._limits)
            except MalformedExport as exc:
                stack.close()
                self._drop_current()
                raise self._lifecycle.malformed(staged, str(exc)) from None
            except BaseException:
                stack.close()
                raise
            if current is not None and current.staged.request_id == staged.request_id:
                self._retired.append(current.stack)  # a fresh download of the same request
                self._current = _Download(staged, stack, export, zf)
            else:
                self._drop_current()
                self._current = _Download(staged, stack, export, zf)
            return self._current

    def _download(self) -> _Download:
        """The current download, opened from the job's state when this exporter has none yet."""
        with self._lock:
            if self._current is None:
                record = self._lifecycle.state()
                if record is None or not record.staged:
                    raise FatalError("no TikTok download is staged for this job; list a page first")
                self._load(Staged(record.request_id, record.rerequests, record.downloads))
            assert self._current is not None
            return self._current

    def _fresh_links(self, dead: Staged) -> bool:
        """Download the request again for links signed afresh; False when that cannot help.

        Done once per download, and again only when the fresh links served something (links
        that are dead from the start would be asked for in a loop).
        """
        with self._lock:
            current = self._download()
            if current.staged.download != dead.download:
                return True  # another thread already did
            if self._refreshes and not self._served:
                return False
            staged = self._lifecycle.redownload(current.staged.request_id)
            if staged is None:
                return False
            self._load(staged)
            self._refreshes += 1
            self._served = 0
            return True

    # -- items ------------------------------------------------------------------------------

    def _items_of(self, vertical: Vertical, staged: Staged) -> list[Item]:
        download = self._load(staged)
        with self._lock:
            if vertical not in self._items:
                if vertical == Vertical.BLOBS:
                    paired = {m.member.name for m in self._medias_of(download).values() if m.member is not None}
                    built: list = blob_items(download.export, paired=paired, head_of=lambda m: self._head(download, m))
                elif vertical == Vertical.SOCIAL_POSTS:
                    built = post_items(download.entries, self._medias_of(download))
                else:
                    kind = MediaKind.PHOTO if vertical == Vertical.PHOTOS else MediaKind.VIDEO
                    built = media_items(list(self._medias_of(download).values()), kind)
                self._items[vertical] = built
            for problem in download.export.problems:
                self._problems.setdefault(problem, None)
            download.export.problems.clear()
            return self._items[vertical]

    def _medias_of(self, download: _Download) -> dict[str, PostMedia]:
        """Every post's media, by media id: from the zip when paired, else what its link serves.

        Links are probed once per job (the answers are saved in the job's state, so pages stay
        the same in every process); a link whose bytes are not media is named as a problem.
        """
        if self._medias is not None:
            return self._medias
        record = self._lifecycle.state()
        known: dict[str, MediaType | None] = dict(record.media) if record is not None else {}
        learned: dict[str, MediaType | None] = {}
        pairs = pair_members(download.entries, download.export.members)
        medias: dict[str, PostMedia] = {}
        try:
            for entry in download.entries:
                member = pairs.get(entry.media_id)
                member_type = sniff(self._head(download, member)) if member is not None else None
                if member is not None and member_type is not None:
                    medias[entry.media_id] = PostMedia(entry, member_type, member)
                    continue
                if entry.media_id not in download.links:
                    continue
                if entry.media_id not in known:
                    try:
                        learned[entry.media_id] = known[entry.media_id] = self._probe(entry)
                    except LinkGone:
                        medias[entry.media_id] = PostMedia(entry, None)  # fails at transfer, retryable
                        continue
                media_type = known[entry.media_id]
                if media_type is None:
                    download.export.problems.append((entry.where, "the post's link serves no photo or video (a web page?); the post is transferred without its media"))
                    continue
                medias[entry.media_id] = PostMedia(entry, media_type)
        finally:
            if learned and record is not None:
                latest = self._lifecycle.state() or record
                self._lifecycle.save(latest.model_copy(update={"media": {**latest.media, **learned}}))
        self._medias = medias
        return medias

    def _probe(self, entry: PostEntry) -> MediaType | None:
        """What the post's link serves; a dead link gets one fresh download of the request first."""
        try:
            return self._with_fresh_links(entry.media_id, lambda url: self._links.probe(entry.media_id, url))
        except RetryableItemError as exc:
            raise RetryableError(f"probing {entry.where}: {exc.reason}") from None
        except ItemError:
            return None  # refused for good: not media

    # -- bytes --------------------------------------------------------------------------------

    def _with_fresh_links(self, media_id: str, fetch):
        download = self._download()
        url = download.links.get(media_id)
        if url is None:
            raise ItemError(media_id, "the post has no media link in the TikTok download")
        try:
            result = fetch(url)
        except LinkGone:
            if not self._fresh_links(download.staged):
                raise
            fresh = self._download().links.get(media_id)
            if fresh is None or fresh == url:
                raise
            result = fetch(fresh)
        with self._lock:
            self._served += 1
        return result

    def _open_post_media(self, item_id: str) -> IO[bytes]:
        try:
            return self._with_fresh_links(item_id, lambda url: self._links.open(item_id, url))
        except LinkGone as exc:
            raise RetryableItemError(
                item_id, f"{exc} (the link expired) and TikTok gave no working fresh link; `ferry resume --retry-failed` asks again"
            ) from None

    def _member(self, download: _Download, name: str, item_id: str) -> ZipMember:
        for member in download.export.members:
            if member.name == name:
                return member
        raise ItemError(item_id, f"zip member {name} is not in the TikTok download")

    def _open_member(self, item_id: str, name: str) -> IO[bytes]:
        download = self._download()
        member = self._member(download, name, item_id)
        try:
            with self._lock:
                raw = download.zf.open(member.name)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
            raise ItemError(item_id, f"cannot open zip member {member.path}: {exc}") from None
        bounded = BoundedReader(raw, limit=None, compressed=member.compressed, limits=self._limits, what="this member")
        return item_stream(bounded, item_id, f"zip member {member.path}")

    def _head(self, download: _Download, member: ZipMember) -> bytes:
        """The first bytes of a member (for its media type); b'' when it cannot be read."""
        try:
            with self._lock, download.zf.open(member.name) as raw:
                return raw.read(SNIFF_BYTES)
        except Exception:  # a broken member is named when its bytes are asked for
            return b""
