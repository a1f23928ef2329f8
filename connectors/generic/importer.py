"""The Generic Importer destination: ferry items -> one POST each, parents first.

Order within a page follows DTP (SPEC §6): albums, then videos, then photos; calendars, then
events; folders shallow-first, then files; posts in exporter order. Requests are strictly
sequential, like DTP's worker.

Idempotency: the destination deduplicates (SPEC §7); ferry's ledger skips items already
delivered, and a repeat after a lost answer is answered 2xx by a conforming destination. The
destination id of each item is derived from its stable id, so a redone page reports the same ids.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ..base import ImportContext, Importer, ItemOutcome
from ..errors import ItemError
from ..models import Calendar, CalendarEvent, File, Folder, Item, MediaAlbum, Photo, SocialPost, Video
from .client import GenericClient, JobHeaders
from .multipart import MultipartBody, prepare_source
from .wire import endpoint_of, envelope_bytes, file_mime_type, is_file_item

__all__ = ["GenericImporter", "order_items", "destination_id"]

_RANK = {"album": 0, "video": 1, "photo": 2, "calendar": 3, "event": 4, "folder": 5, "file": 6, "post": 7}


def _depth(item: Item) -> int:
    return len([part for part in item.path.split("/") if part]) if isinstance(item, Folder) else 0


def order_items(items: Sequence[Item]) -> list[Item]:
    """Parents before children (stable otherwise): the order DTP sends a page in."""
    return sorted(items, key=lambda item: (_RANK.get(getattr(item, "kind", ""), 99), _depth(item)))


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
        client: the HTTP client (holds the token source, retry policy and pacer).
        export_service: overrides ``ImportContext.export_service`` in ``X-DTP-Export-Service``.
        spool_dir: where bytes of unknown size are spooled (system temp dir by default).
    """

    def __init__(self, client: GenericClient, *, export_service: str | None = None, spool_dir: str | None = None):
        self.client = client
        self.export_service = export_service
        self.spool_dir = spool_dir

    def import_page(self, items: Sequence[Item], ctx: ImportContext) -> Iterator[ItemOutcome]:
        """Yield one outcome per item, parents first.

        Raises (after the outcomes of the items already sent were yielded, so they are not
        resent on resume): DestinationFull (413 destination_full) and ReauthRequired.
        """
        job = JobHeaders(self.export_service or ctx.export_service, ctx.job_id, ctx.recurring_id)
        for item in order_items(items):
            yield self._import_one(item, ctx, job)

    def _import_one(self, item: Item, ctx: ImportContext, job: JobHeaders) -> ItemOutcome:
        try:
            suffix = endpoint_of(item)
            envelope = envelope_bytes(item)
        except (TypeError, ValueError) as exc:
            return ItemOutcome.failed(item.id, f"cannot serialize {item.display_name!r}: {exc}")
        try:
            if not is_file_item(item):
                self.client.send(suffix, envelope, job=job, item_id=item.id)
                return ItemOutcome.imported(item.id, destination_id(item))
            with prepare_source(item, ctx.open_bytes, spool_dir=self.spool_dir) as source:
                body = MultipartBody(
                    envelope, file_mime_type(item), source, on_bytes=lambda n: ctx.progress.advance(bytes=n)
                )
                self.client.send(suffix, body, job=job, item_id=item.id)
                return ItemOutcome.imported(item.id, destination_id(item), source.size)
        except ItemError as exc:
            return ItemOutcome.failed(item.id, f"{item.display_name}: {exc.reason}", retryable=exc.retryable)
        except OSError as exc:
            return ItemOutcome.failed(item.id, f"{item.display_name}: cannot read the bytes: {exc}", retryable=True)

    def close(self) -> None:
        self.client.close()
