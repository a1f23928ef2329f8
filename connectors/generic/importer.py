"""The Generic Importer destination: ferry items -> one POST each, parents first.

Order within a page follows DTP (SPEC §6): albums, then videos, then photos; calendars, then
events; folders shallow-first, then files; posts in exporter order. Requests are strictly
sequential, like DTP's worker.

Exactly once (flows.store.ledger): ferry records an intent before each item and its outcome
after the answer; an item still in doubt after a crash is looked up with the ferry lookup
extension (``GET <base>/ferry/items/<key>``) when the destination offers it
(:meth:`GenericImporter.repeat_safety` asks once), and sent again only when it is not there.
A destination without the extension cannot tell, so the engine commits each outcome before the
next item. A ``{"status": "duplicate"}`` answer is SKIPPED ("already there"), never "imported".
The destination id of each item is derived from its stable id, so a redone page reports the
same ids.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import hashlib

from ..base import Found, ImportContext, Importer, ItemOutcome, RepeatSafety
from ..errors import ItemError
from ..models import Calendar, CalendarEvent, File, Folder, Item, MediaAlbum, Photo, SocialPost, Video, parents_first
from .client import GenericClient, JobHeaders
from .multipart import MultipartBody, prepare_source
from .wire import endpoint_of, envelope_bytes, file_mime_type, is_file_item

__all__ = ["GenericImporter", "order_items", "destination_id"]

#: Parents before children (stable otherwise): the order DTP sends a page in.
order_items = parents_first


def destination_id(item: Item) -> str:
    """A stable name for ``item`` at the destination, derived from its ids and paths."""
    if isinstance(item, MediaAlbum):
        return f"media/album/{item.id}"
    if isinstance(item, (Photo, Video)):
        return f"media/{item.kind}/{item.id}"
    if isinstance(item, Folder):
        return f"blobs:{item.path}"
    if isinstance(item, File):
        return f"blobs:{item.folder.rstrip('/')}/{item.name}"
    if isinstance(item, Calendar):
        return f"calendar/{item.id}"
    if isinstance(item, CalendarEvent):
        return f"calendar/event/{item.id}"
    if isinstance(item, SocialPost):
        return f"social-posts/{item.id}"
    return f"item/{item.id}"


class GenericImporter(Importer):
    """Imports pages into a DTP Generic Importer destination.

    Args:
        client: the HTTP client (its session holds the token source, the keep-alive pool and the pacer).
        export_service: overrides ``ImportContext.export_service`` in ``X-DTP-Export-Service``.
        spool_dir: where bytes of unknown size are spooled (system temp dir by default).
        lookup: whether the destination offers the lookup extension (None: ask it once).
    """

    def __init__(self, client: GenericClient, *, export_service: str | None = None, spool_dir: str | None = None, lookup: bool | None = None):
        self.client = client
        self.export_service = export_service
        self.spool_dir = spool_dir
        self._lookup: bool | None = lookup  # None: ask the destination once

    def repeat_safety(self) -> RepeatSafety:
        if self._lookup is None:
            self._lookup = self.client.lookup(item_key("probe", "probe", "probe")).supported
        return RepeatSafety.FINDS if self._lookup else RepeatSafety.NONE

    def find(self, item: Item, ctx: ImportContext) -> Found | None:
        answer = self.client.lookup(_key(item, ctx))
        return Found(answer.destination_id or destination_id(item)) if answer.found else None

    def import_page(self, items: Sequence[Item], ctx: ImportContext) -> Iterator[ItemOutcome]:
        """Yield one outcome per item, parents first.

        Raises (after the outcomes of the items already sent were yielded, so they are not
        resent on resume): DestinationFull (413 destination_full) and ReauthRequired.
        """
        job = JobHeaders(self.export_service or ctx.export_service, ctx.job_id, ctx.recurring_id)
        for item in order_items(items):
            if ctx.should_stop():
                return
            yield self._import_one(item, ctx, job)

    def _import_one(self, item: Item, ctx: ImportContext, job: JobHeaders) -> ItemOutcome:
        try:
            suffix = endpoint_of(item)
            envelope = envelope_bytes(item)
        except (TypeError, ValueError) as exc:
            return ItemOutcome.failed(item.id, f"cannot serialize {item.display_name!r}: {exc}")
        try:
            key = _key(item, ctx)
            if not is_file_item(item):
                sent = self.client.send(suffix, envelope, job=job, item_id=item.id, item_key=key)
                return _outcome(item, sent.duplicate, 0)
            with prepare_source(item, ctx.open_bytes, spool_dir=self.spool_dir) as source:
                body = MultipartBody(
                    envelope, file_mime_type(item), source, on_bytes=lambda n: ctx.progress.advance(bytes=n)
                )
                sent = self.client.send(suffix, body, job=job, item_id=item.id, item_key=key)
                return _outcome(item, sent.duplicate, source.size)
        except ItemError as exc:
            return ItemOutcome.failed(item.id, f"{item.display_name}: {exc.reason}", retryable=exc.retryable)
        except OSError as exc:
            return ItemOutcome.failed(item.id, f"{item.display_name}: cannot read the bytes: {exc}", retryable=True)

    def close(self) -> None:
        self.client.close()


def item_key(scope: str, kind: str, item_id: str) -> str:
    """The key ferry sends with an item (``X-Ferry-Item-Key``): stable per transfer scope and item."""
    return hashlib.sha256(f"{scope}\x1f{kind}\x1f{item_id}".encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _key(item: Item, ctx: ImportContext) -> str:
    return item_key(ctx.recurring_id or ctx.job_id, getattr(item, "kind", ""), item.id)


def _outcome(item: Item, duplicate: bool, nbytes: int) -> ItemOutcome:
    if duplicate:
        return ItemOutcome.skipped(item.id, destination_id(item))
    return ItemOutcome.imported(item.id, destination_id(item), nbytes)
