"""The Generic Importer destination: ferry items -> one POST each, parents first.

Order within a page follows DTP (SPEC §6): albums, then videos, then photos; calendars, then
events; folders shallow-first, then files; posts in exporter order
(:func:`connectors.models.parents_first`). Up to ``concurrency`` requests are in flight at once
over the session's one keep-alive pool, in *waves*: items of one rank (all albums; then all
videos; the folders of one depth; ...) go out together, and a wave starts only when the one
before it is answered, so a child is never sent before its parent. Outcomes come back in page
order (:class:`connectors.pool.OrderedPool`). A 429 holds every request of the pool (the
session's pacer) and stops the call after the requests in flight are answered; the engine
retries the rest.

Concurrency is safe for exactly-once because the engine only hands a page to the importer when
every in-doubt item can be settled afterwards (``RepeatSafety`` FINDS or RECOGNISES); against a
destination that can tell nothing, the engine sends one item per call, so at most one is in
flight.

Exactly once (flows.store.ledger): ferry records an intent before each item and its outcome
after the answer; an item still in doubt after a crash is looked up with the ferry lookup
extension (``GET <base>/ferry/items/<key>``) when the destination offers it
(:meth:`GenericImporter.offered_repeat_safety` asks once), and sent again only when it is not there.
A destination without the extension cannot tell, so the engine commits each outcome before the
next item. A ``{"status": "duplicate"}`` answer is SKIPPED ("already there"), never "imported".
The destination id of each item is derived from its stable id, so a redone page reports the
same ids.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from functools import partial
from itertools import groupby

from ..base import Checked, Delivered, Found, ImportContext, Importer, ItemOutcome, RepeatSafety, Verdict
from ..checksums import Checksum, HashAlgorithm
from ..errors import ItemError
from ..models import Calendar, CalendarEvent, File, Folder, Item, MediaAlbum, Photo, SocialPost, Video, import_rank, parents_first
from ..pool import OrderedPool
from .client import GenericClient, JobHeaders, Lookup
from .multipart import MultipartBody, prepare_source
from .wire import endpoint_of, envelope_bytes, file_mime_type, is_file_item

__all__ = ["GenericImporter", "destination_id", "item_key", "DEFAULT_CONCURRENCY"]

#: Requests in flight at once (per importer); 1 sends strictly one after another, like DTP.
DEFAULT_CONCURRENCY = 4


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
        concurrency: requests in flight at once (the client's pool needs as many connections).
    """

    def __init__(
        self,
        client: GenericClient,
        *,
        export_service: str | None = None,
        spool_dir: str | None = None,
        lookup: bool | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
    ):
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.client = client
        self.export_service = export_service
        self.spool_dir = spool_dir
        self.concurrency = concurrency
        self._lookup: bool | None = lookup  # None: ask the destination once

    def check(self) -> None:
        """The destination answers and takes the token: one lookup of a probe key (ferry's
        extension). A destination without the extension still shows it is reachable and, by
        refusing a token (ReauthRequired after one refresh), that the credential is dead."""
        self._lookup = self.client.lookup(item_key("probe", "probe", "probe")).supported

    def offered_repeat_safety(self, declared: RepeatSafety) -> RepeatSafety:
        """FINDS when the destination answers the lookup extension (asked once), else NONE."""
        if self._lookup is None:
            self._lookup = self.client.lookup(item_key("probe", "probe", "probe")).supported
        return declared if self._lookup else RepeatSafety.NONE

    def find(self, item: Item, ctx: ImportContext) -> Found | None:
        answer = self.client.lookup(_key(item, ctx))
        return Found(destination_id(item)) if answer.found else None  # the id an import reports

    def verify(self, delivered: Sequence[Delivered]) -> Iterator[Checked]:
        """Re-check delivered items through the lookup extension (``?check=true``).

        MISSING when the destination no longer has the item, CHANGED when its stored bytes have
        another size or sha256 than ferry sent; UNKNOWN for every item when the destination does
        not offer the extension (a plain DTP destination cannot be asked).

        Raises:
            RetryableError: 429, 5xx or a network error on a lookup (the engine retries the
                items not yet checked); ReauthRequired.
        """
        for entry in delivered:
            if self._lookup is False:
                yield Checked(entry.item_id, Verdict.UNKNOWN, "the destination does not offer ferry's lookup extension")
                continue
            answer = self.client.lookup(item_key(entry.scope, entry.kind, entry.item_id), check=True)
            self._lookup = answer.supported
            yield _verdict(entry, answer)

    def import_page(self, items: Sequence[Item], ctx: ImportContext) -> Iterator[ItemOutcome]:
        """Yield one outcome per item, parents first.

        Raises (after the outcomes of the items already answered were yielded, so they are not
        resent on resume): RetryableError (429: the engine waits and sends the rest again),
        DestinationFull (413 destination_full) and ReauthRequired.
        """
        job = JobHeaders(self.export_service or ctx.export_service, ctx.job_id, ctx.recurring_id)
        with OrderedPool[ItemOutcome](self.concurrency) as pool:
            for _, wave in groupby(parents_first(items), key=import_rank):
                for item in wave:
                    if ctx.should_stop() or not pool.submit(partial(self._import_one, item, ctx, job)):
                        break
                    yield from pool.ready()
                yield from pool.drain()  # the next wave may hold their children
                if ctx.should_stop() or pool.stopped is not None:
                    break
        if pool.stopped is not None:
            raise pool.stopped

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
                return _outcome(item, sent.duplicate, source.size, source.sha256)
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


def _outcome(item: Item, duplicate: bool, nbytes: int, sha256: str | None = None) -> ItemOutcome:
    if duplicate:
        return ItemOutcome.skipped(item.id, destination_id(item))
    return ItemOutcome.imported(item.id, destination_id(item), nbytes, checksum=Checksum.sha256(sha256) if sha256 else None)


def _verdict(entry: Delivered, answer: Lookup) -> Checked:
    shown = entry.destination_id or entry.item_id
    if not answer.supported:
        return Checked(entry.item_id, Verdict.UNKNOWN, "the destination does not offer ferry's lookup extension")
    if not answer.found:
        return Checked(entry.item_id, Verdict.MISSING, f"{shown}: the destination does not have it")
    if entry.bytes and answer.size is not None and answer.size != entry.bytes:
        return Checked(entry.item_id, Verdict.CHANGED, f"{shown}: {answer.size} bytes at the destination, {entry.bytes} delivered")
    sent = entry.checksum.digest if entry.checksum and entry.checksum.algorithm == HashAlgorithm.SHA256 else None
    if sent and answer.sha256 and answer.sha256 != sent:
        return Checked(entry.item_id, Verdict.CHANGED, f"{shown}: its sha256 differs from what was delivered")
    return Checked(entry.item_id, Verdict.PRESENT)
