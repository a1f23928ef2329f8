"""The connector SDK's two roles: :class:`Exporter` and :class:`Importer`.

Both are deliberately small (rclone's rule: a handful of required methods, optional abilities as
flags in :class:`~connectors.registry.Capabilities`). Connectors never write state: the framework
(``flows/``) owns cursors, the idempotency ledger, retries, progress and when things get saved.

Contract in one paragraph: the framework asks an exporter for one page of one vertical at a time,
passing the cursor it saved after the previous page (``None`` for the first). The exporter returns
the page's items and the cursor of the next page (``None`` when the vertical is exhausted). The
framework hands the items, parents first, to an importer, which yields one :class:`ItemOutcome` per
item; bytes are pulled through ``ctx.open_bytes(item)`` as streams. Only after the outcomes are in
the ledger does the framework save the next cursor, so a killed transfer redoes at most one page,
and the ledger plus the destination's own check make the redo idempotent.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from .models import Item, Vertical
from .progress import NullProgress, Progress

__all__ = [
    "Cursor",
    "Page",
    "Exporter",
    "Importer",
    "ImportContext",
    "Outcome",
    "ItemOutcome",
    "Problem",
    "ProblemKind",
]


class Cursor(BaseModel):
    """Base of typed continuation cursors; each exporter subclasses it with its own fields.

    Cursors are frozen and JSON-serialisable; the framework stores ``model_dump_json()`` per
    vertical and gives it back through ``Exporter.cursor_model.model_validate_json``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")


class Page(BaseModel):
    """One page of exported items plus the cursor of the next page (``None``: vertical done)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    items: tuple[Any, ...] = ()
    next: Cursor | None = None
    total_hint: int | None = None  # items in the whole vertical, when cheap to know (progress bars)


class ProblemKind(enum.StrEnum):
    """What a problem found while listing means for the user."""

    FAILED = "failed"  # the source holds data ferry could not read: it did not arrive
    NOT_TRANSFERRED = "not-transferred"  # read fine, but no vertical of this transfer takes it


@dataclass(frozen=True)
class Problem:
    """Something of the source that did not become an item, named so a person can find it.

    Attributes:
        subject: the file or entry, e.g. ``posts/your_posts_1.json`` or ``posts/your_posts_1.json[12]``.
        message: what is wrong or why it was left out.
        kind: FAILED (counted as a failure) or NOT_TRANSFERRED (listed, not an error).
        item_id: the item's id when the problem belongs to one.
    """

    subject: str
    message: str
    kind: ProblemKind = ProblemKind.FAILED
    item_id: str | None = None


class Exporter(ABC):
    """Reads one account or archive, a page at a time.

    Subclasses set ``cursor_model`` to their :class:`Cursor` subclass and implement
    :meth:`list_page` and :meth:`open_bytes`. Pages must be deterministic for a given cursor, so a
    page redone after a crash yields the same ids.
    """

    cursor_model: ClassVar[type[Cursor]] = Cursor
    #: Name sent to destinations as the exporting service (X-DTP-Export-Service).
    service_name: ClassVar[str] = "ferry"

    @abstractmethod
    def list_page(self, vertical: Vertical, cursor: Cursor | None) -> Page:
        """Return the page of ``vertical`` that starts at ``cursor``.

        Raises:
            FatalError: the source cannot be read at all (corrupt archive, missing folder).
            RetryableError: a transient failure; the framework retries the page.
            ReauthRequired: the credential is dead.
        Per-item problems (a JSON entry that does not parse) are not raised: skip the item and
        report it through :meth:`problems`.
        """

    @abstractmethod
    def open_bytes(self, item: Item) -> IO[bytes]:
        """Open the bytes of a Photo, Video or File as a binary stream (closed by the caller).

        Thread safety: importers may copy several items at once (the folder destination runs
        ``transfers`` copies in parallel), so this method may be called from several threads at
        the same time, while streams it returned earlier are being read on other threads. It
        must be thread-safe, and each returned stream must be readable independently of the
        others (a stream itself is only used by one thread). Lazy set-up (opening an archive)
        needs a lock. Members of one shared ``ZipFile`` may be read concurrently (zipfile
        serialises the reads), but open and close them under a lock when the ZipFile was opened
        from a path: its count of open members, which decides when the file is closed, is not.

        Raises:
            ItemError: the bytes are missing or unreadable (names the file).
        """

    def problems(self) -> list[Problem]:
        """Return and clear the problems found while listing since the last call."""
        return []

    def close(self) -> None:
        """Release handles (zip files, HTTP clients)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Outcome(enum.StrEnum):
    IMPORTED = "imported"
    SKIPPED = "skipped"  # the destination already had it (same size/hash): counts as delivered
    FAILED = "failed"


@dataclass(frozen=True)
class ItemOutcome:
    """What happened to one item at the destination."""

    item_id: str
    status: Outcome
    destination_id: str | None = None
    bytes: int = 0
    error: str | None = None
    retryable: bool = False

    @classmethod
    def imported(cls, item_id: str, destination_id: str, nbytes: int = 0) -> "ItemOutcome":
        return cls(item_id, Outcome.IMPORTED, destination_id, nbytes)

    @classmethod
    def skipped(cls, item_id: str, destination_id: str | None = None) -> "ItemOutcome":
        return cls(item_id, Outcome.SKIPPED, destination_id)

    @classmethod
    def failed(cls, item_id: str, error: str, *, retryable: bool = False) -> "ItemOutcome":
        return cls(item_id, Outcome.FAILED, error=error, retryable=retryable)


@dataclass
class ImportContext:
    """What an importer gets besides the items.

    Attributes:
        open_bytes: opens the bytes of a byte-carrying item (from the exporter or staging).
        job_id: the ferry job id (sent as X-DTP-Job-Id by HTTP destinations).
        recurring_id: the recurring transfer id, when the job belongs to one.
        export_service: name of the exporting service.
        progress: byte progress sink: report bytes as they stream (``advance(bytes=n)``); the
            framework counts items from the outcomes, so importers do not.
        parents: destination ids of containers (albums, folders, calendars) imported in earlier
            pages, keyed by item id; the framework restores it from the ledger on resume, so a
            child in a later page can still find its parent.
        destination_of: where an item delivered earlier in this transfer (any page, any run of a
            recurring transfer) landed, or None. Lets a post name its media's path even when the
            media were imported by a previous, interrupted process.
    """

    open_bytes: Callable[[Item], IO[bytes]]
    job_id: str
    recurring_id: str | None = None
    export_service: str = "ferry"
    progress: Progress = field(default_factory=NullProgress)
    parents: dict[str, str] = field(default_factory=dict)
    destination_of: Callable[[str], str | None] = field(default=lambda item_id: None)


class Importer(ABC):
    """Writes items into one destination account or location."""

    @abstractmethod
    def import_page(self, items: Sequence[Item], ctx: ImportContext) -> Iterator[ItemOutcome]:
        """Import ``items`` in order (parents come first) and yield one outcome per item.

        Must be idempotent: importing an item the destination already holds yields SKIPPED or
        IMPORTED with the same destination id, never a second copy.

        Per-item failures are yielded as FAILED outcomes. Raise (after yielding the outcomes
        of items already done) only for what stops the job:
            DestinationFull, ReauthRequired, FatalError.
        """

    def close(self) -> None:
        """Release handles."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
