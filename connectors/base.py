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

from .checksums import Checksum
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
    "RepeatSafety",
    "Found",
    "Delivered",
    "Verdict",
    "Checked",
]


class Cursor(BaseModel):
    """Base of typed continuation cursors; each exporter subclasses it with its own fields.

    Cursors are frozen and JSON-serialisable; the framework stores ``model_dump_json()`` per
    vertical with ``version``, and gives it back through :meth:`load`. A cursor whose fields
    change bumps ``version`` and overrides :meth:`upgrade`, so a job paused under an older ferry
    still resumes where it stopped.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: schema version of this cursor's JSON; stored beside it
    version: ClassVar[int] = 1

    @classmethod
    def upgrade(cls, data: dict[str, Any], version: int) -> dict[str, Any]:
        """Turn the JSON of an older ``version`` into this version's fields (default: as is)."""
        return data

    @classmethod
    def load(cls, text: str, version: int = 1) -> "Cursor":
        """Read a stored cursor, upgrading it from ``version`` first when it is older."""
        if version == cls.version:
            return cls.model_validate_json(text)
        import json

        return cls.model_validate(cls.upgrade(json.loads(text), version))


class Page(BaseModel):
    """One page of exported items plus the cursor of the next page (``None``: vertical done)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    items: tuple[Any, ...] = ()
    next: Cursor | None = None
    total_hint: int | None = None  # items in the whole vertical, when cheap to know (progress bars)
    #: on the last page of an incremental source: where the next round of a recurring transfer
    #: starts (the framework keeps it per ledger scope and vertical; meltano's bookmark)
    bookmark: Cursor | None = None


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

    def check(self) -> None:
        """Make sure the source can be read now, before anything moves (``ferry check``, and the
        first step of every transfer): the location is there and readable, the service answers.

        Cheap and side-effect free: never start a data request or list a whole source. The
        framework has already built the exporter (its location and options resolved) and made
        sure the credential works, so the default checks nothing more.

        Raises:
            FatalError: the source cannot be read (names the location and why).
            ReauthRequired: the credential is refused.
            RetryableError: unreachable for now.
        """

    def problems(self) -> list[Problem]:
        """Return and clear the problems found while listing since the last call.

        Called after each page when the connector declares ``Capabilities.reports_problems``.
        """
        return []

    def cancel_pending(self, cursor: Cursor | None) -> None:
        """Take back a data request made to the source (``Capabilities.cancels_requests``).

        Idempotent; called when the job is canceled, with the vertical's saved cursor.
        """

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
    #: what the destination holds, when known (the hash and its algorithm): kept in the ledger
    #: so ``ferry verify`` can tell a changed item from an intact one
    checksum: Checksum | None = None

    @classmethod
    def imported(cls, item_id: str, destination_id: str, nbytes: int = 0, *, checksum: Checksum | None = None) -> "ItemOutcome":
        return cls(item_id, Outcome.IMPORTED, destination_id, nbytes, checksum=checksum)

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
    should_stop: Callable[[], bool] = field(default=lambda: False)


class RepeatSafety(enum.StrEnum):
    """How an importer lets the engine avoid sending an item twice after a crash.

    Declared in ``Capabilities.repeat_safety`` (connectors.registry).

    The engine writes an intent before sending; an item whose intent has no outcome after a
    crash is *in doubt* (the destination may have it). Then:

    * RECOGNISES: importing it again is safe: the importer sees it is there and yields SKIPPED
      (or rewrites it in place, same destination id, never a second copy) (folder, S3); the
      engine records it as imported by the interrupted attempt.
    * FINDS: :meth:`Importer.find` can ask the destination; only items not found are sent.
    * NONE: the destination cannot tell; in-doubt items are sent again (and reported), and each
      outcome is committed before the next item is sent, so at most the item in flight is in doubt.
    """

    RECOGNISES = "recognises"
    FINDS = "finds"
    NONE = "none"


@dataclass(frozen=True)
class Delivered:
    """An item the ledger says this destination accepted (what ``ferry verify`` re-checks).

    ``scope`` is the transfer it was delivered for (``ImportContext.recurring_id or job_id``),
    so an importer that keys items per transfer (the Generic Importer's item key) finds them.
    """

    item_id: str
    kind: str
    destination_id: str | None
    bytes: int = 0
    checksum: Checksum | None = None
    scope: str = ""


class Verdict(enum.StrEnum):
    PRESENT = "present"  # there, and as big (and hashing the same) as when delivered
    MISSING = "missing"
    CHANGED = "changed"  # there, but another size or hash
    UNKNOWN = "unknown"  # this destination cannot tell


@dataclass(frozen=True)
class Checked:
    item_id: str
    verdict: Verdict
    detail: str = ""


@dataclass(frozen=True)
class Found:
    """The destination holds an item, here."""

    destination_id: str | None = None


class Importer(ABC):
    """Writes items into one destination account or location."""

    @abstractmethod
    def import_page(self, items: Sequence[Item], ctx: ImportContext) -> Iterator[ItemOutcome]:
        """Import ``items`` in order (parents come first) and yield one outcome per item.

        Must be idempotent: importing an item the destination already holds yields SKIPPED or
        IMPORTED with the same destination id, never a second copy.

        Per-item failures are yielded as FAILED outcomes (``retryable=True`` when a later try
        may pass: the engine retries them with backoff). Raise (after yielding the outcomes of
        items already done) only for what stops the whole call:
            RetryableError: rate limited or unavailable (``retry_after`` if known); the engine
                waits and calls again with the items that have no outcome yet.
            DestinationFull, ReauthRequired, FatalError: the job stops, resumable.

        Stop early, without starting new items, when ``ctx.should_stop()`` turns true (Ctrl-C);
        items without an outcome are simply redone later.
        """

    def check(self) -> None:
        """Make sure the destination can be written now, before anything moves (``ferry check``,
        and the first step of every transfer): it answers, accepts the credential, takes writes.

        May leave nothing behind: a probe it writes, it removes. The framework has already built
        the importer and made sure the credential works, so the default checks nothing more.

        Raises:
            FatalError: the destination cannot be written (names it and why).
            DestinationFull: no room left.
            ReauthRequired: the credential is refused.
            RetryableError: unreachable for now.
        """

    def offered_repeat_safety(self, declared: RepeatSafety) -> RepeatSafety:
        """What this destination offers now, given the connector's declared
        ``Capabilities.repeat_safety``; asked once per job. Default: as declared.

        Override only when it depends on the destination at run time: the Generic Importer
        declares FINDS and answers NONE when the destination lacks the lookup extension.
        """
        return declared

    def find(self, item: Item, ctx: ImportContext) -> Found | None:
        """Whether the destination already holds ``item``: where, or None.

        Only called when the repeat safety is FINDS, for items in doubt after a crash.

        Raises:
            RetryableError: the destination is busy (the engine asks again); ReauthRequired.
        """
        raise NotImplementedError

    def verify(self, delivered: Sequence[Delivered]) -> Iterator[Checked]:
        """Re-check delivered items at the destination (``ferry verify``, like ``rclone check``).

        Yield one :class:`Checked` per item: existence, size, and hash where the destination can
        tell. The default cannot tell anything.
        """
        for entry in delivered:
            yield Checked(entry.item_id, Verdict.UNKNOWN, "this destination cannot be re-checked")

    def close(self) -> None:
        """Release handles."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
