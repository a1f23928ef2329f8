"""``TikTokExporter``: the request lifecycle plus the parsers, behind the SDK's Exporter API.

Framework contract (what ``flows/`` relies on):

* ``list_page(vertical, cursor)`` either returns a page or raises
  :class:`~connectors.errors.SourceNotReady` whose ``cursor`` must be saved for that vertical and
  given back on the next call; ``wake_key`` is ``str(request_id)``, the same string the webhook
  receiver passes to ``on_ready``. Every vertical of a job shares one data request (see
  :mod:`.staging`), so a job has at most one Add call unless the request expires.
* ``cancel_pending(cursor)`` cancels the job's data request at TikTok (call it when the ferry job
  is cancelled; idempotent; with ``None`` it finds the request in the job's state slot).
* A FatalError about a malformed download discards the staged zip: resuming with the same cursor
  downloads it again (TikTok keeps it for four days) and continues.
"""

from __future__ import annotations

import io
import threading
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from typing import IO

import httpx

from ..base import Exporter, Page, Problem
from ..errors import ConfigError, FatalError, ItemError
from ..models import File, Item, Vertical, Video
from ..progress import Progress
from ..state import StateSlot
from .api import TikTokApi
from .blobs import ZIP_PREFIX, blob_items
from .cursor import Phase, TikTokCursor
from .lifecycle import LifecycleOptions, RequestLifecycle, Staged
from .parse import TikTokExport, load_export, resolve
from .posts import post_items
from .sections import JSON_PREFIX, render
from .staging import Staging
from .videos import LINK_PREFIX, video_items

__all__ = ["TikTokExporter", "EXPORTS"]

EXPORTS = frozenset({Vertical.VIDEOS, Vertical.SOCIAL_POSTS, Vertical.BLOBS})


class TikTokExporter(Exporter):
    """Exports one TikTok account through one (shared) data request.

    Args:
        api: the HTTP client (owns the token source).
        staging: the job's private staging folder.
        options: the request's categories, format and polling knobs.
        slot: the job's state slot (the shared data request, see :mod:`.state`).
        page_size: items per page.
        progress: the source's progress sink: the zip download shows as a bar.
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
    ) -> None:
        self._api = api
        self._staging = staging
        self._lifecycle = RequestLifecycle(api, staging, options, slot, progress=progress)
        self._page_size = page_size
        self._stack = ExitStack()
        self._loaded: tuple[int, TikTokExport, zipfile.ZipFile] | None = None
        self._items: dict[Vertical, list[Item]] = {}
        self._problems: dict[tuple[str, str], None] = {}
        # open_bytes runs on importers' copy threads: one of them loads the staged zip, and
        # members are opened one at a time (reads then run in parallel; zipfile serialises them)
        self._lock = threading.RLock()

    # -- Exporter -------------------------------------------------------------------------

    def list_page(self, vertical: Vertical, cursor: TikTokCursor | None) -> Page:
        if vertical not in EXPORTS:
            raise ConfigError(f"the TikTok connector exports {', '.join(sorted(EXPORTS))}, not {vertical}")
        staged = self._lifecycle.ensure_staged(cursor)
        items = self._items_of(vertical, staged)
        same_request = cursor is not None and cursor.phase == Phase.STAGED and cursor.request_id == staged.request_id
        start = cursor.offset if same_request else 0
        end = min(start + self._page_size, len(items))
        nxt = None
        if end < len(items):
            nxt = TikTokCursor(request_id=staged.request_id, phase=Phase.STAGED, rerequests=staged.rerequests, offset=end)
        return Page(items=tuple(items[start:end]), next=nxt, total_hint=len(items))

    def open_bytes(self, item: Item) -> IO[bytes]:
        ref = getattr(item, "ref", "")
        if isinstance(item, File) and ref.startswith(JSON_PREFIX):
            with self._lock:
                export, _ = self._current()
            try:
                value = resolve(export.doc, ref[len(JSON_PREFIX) :])
            except (KeyError, IndexError, ValueError):
                raise ItemError(item.id, f"TikTok section {ref[len(JSON_PREFIX):]} is not in the download") from None
            return io.BytesIO(render(value))
        if isinstance(item, File) and ref.startswith(ZIP_PREFIX):
            try:
                with self._lock:
                    _, zf = self._current()
                    return zf.open(ref[len(ZIP_PREFIX) :])
            except KeyError:
                raise ItemError(item.id, f"zip member {ref[len(ZIP_PREFIX):]} is not in the TikTok download") from None
        if isinstance(item, Video) and ref.startswith(LINK_PREFIX):
            return _open_link(self._api, item.id, ref[len(LINK_PREFIX) :])
        raise ItemError(item.id, f"the TikTok exporter did not make this item (ref {ref!r})")

    def problems(self) -> list[Problem]:
        found = [Problem(where, message) for where, message in self._problems]
        self._problems.clear()
        return found

    def close(self) -> None:
        self._stack.close()
        self._api.close()

    # -- lifecycle hooks for the framework ------------------------------------------------

    def cancel_pending(self, cursor: TikTokCursor | None = None) -> int | None:
        """Cancel the job's TikTok data request (when the ferry job is cancelled).

        Finds the request from ``cursor`` or, when None, from the job's state slot. Returns the
        cancelled request id, or None when there was nothing to cancel. Idempotent.
        """
        self._drop_loaded()
        return self._lifecycle.cancel(cursor)

    # -- internals ------------------------------------------------------------------------

    def _drop_loaded(self) -> None:
        self._stack.close()
        self._stack = ExitStack()
        self._loaded = None
        self._items.clear()

    def _load(self, staged: Staged) -> tuple[TikTokExport, zipfile.ZipFile]:
        if self._loaded is not None and self._loaded[0] == staged.request_id:
            return self._loaded[1], self._loaded[2]
        self._drop_loaded()
        source = f"request {staged.request_id}"
        try:
            fh = self._stack.enter_context(self._staging.open_zip(staged.request_id))
            zf = self._stack.enter_context(zipfile.ZipFile(fh))
            export = load_export(zf, source=source)
        except (zipfile.BadZipFile, FatalError) as exc:
            self._malformed(staged, exc)
        self._loaded = (staged.request_id, export, zf)
        return export, zf

    def _malformed(self, staged: Staged, exc: Exception) -> None:
        self._drop_loaded()
        self._lifecycle.discard_download(staged.request_id)
        raise FatalError(f"{exc}; the staged download was discarded, resuming the transfer downloads it again") from None

    def _current(self) -> tuple[TikTokExport, zipfile.ZipFile]:
        if self._loaded is None:
            record = self._lifecycle.state()
            if record is None or not record.staged:
                raise FatalError("no TikTok download is staged for this job; list a page first")
            self._load(Staged(record.request_id, record.rerequests))
        assert self._loaded is not None
        return self._loaded[1], self._loaded[2]

    def _items_of(self, vertical: Vertical, staged: Staged) -> list[Item]:
        export, _ = self._load(staged)
        if vertical not in self._items:
            build = {Vertical.VIDEOS: video_items, Vertical.SOCIAL_POSTS: post_items, Vertical.BLOBS: blob_items}
            try:
                self._items[vertical] = list(build[vertical](export))
            except FatalError as exc:
                self._malformed(staged, exc)
            for problem in export.problems:
                self._problems.setdefault(problem, None)
            export.problems.clear()
        return self._items[vertical]


class _LinkStream(io.RawIOBase):
    """A readable binary stream over a streaming httpx response (closes the response)."""

    def __init__(self, stack: ExitStack, chunks: Iterator[bytes], item_id: str, url: str) -> None:
        self._stack, self._chunks, self._item_id, self._url = stack, chunks, item_id, url
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
            except httpx.HTTPError as exc:
                raise ItemError(self._item_id, f"video link {self._url} broke off: {type(exc).__name__}", retryable=True) from None
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        if not self.closed:
            self._stack.close()
        super().close()


def _open_link(api: TikTokApi, item_id: str, url: str) -> IO[bytes]:
    stack = ExitStack()
    try:
        resp = stack.enter_context(api.open_link(url))
    except httpx.HTTPStatusError as exc:
        stack.close()
        code = exc.response.status_code
        raise ItemError(item_id, f"video link {url} answered HTTP {code}", retryable=code >= 500 or code == 429) from None
    except httpx.HTTPError as exc:
        stack.close()
        raise ItemError(item_id, f"video link {url} is unreachable: {type(exc).__name__}", retryable=True) from None
    ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype.startswith("text/") or ctype == "application/json":
        stack.close()
        raise ItemError(item_id, f"video link {url} is a web page ({ctype}), not a video file; metadata only")
    return io.BufferedReader(_LinkStream(stack, resp.iter_bytes(1 << 16), item_id, url), buffer_size=1 << 16)
