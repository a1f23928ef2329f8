"""Writing each item's intent and outcome to the ledger as it happens (never on a timer).

Two ways, chosen by what the destination can tell after a crash (``Importer.repeat_safety``):

* **one by one** (RepeatSafety.NONE): each outcome is committed before the importer is asked
  for the next item, so after a ``kill -9`` at most the item in flight is in doubt.
* **group commit** (RECOGNISES, FINDS): outcomes are gathered in groups on the importing
  thread; a group closes at :data:`GROUP_ITEMS` outcomes or :data:`GROUP_BYTES` bytes
  delivered, whichever comes first, and at every :meth:`flush` (before the next page's intents,
  a withdrawal, the page checkpoint, the end), and goes to a writer thread that commits it
  (with any group that closed meanwhile) in one transaction. Never on a timer. A crash leaves
  the outcomes of the groups not yet committed as intents, and the destination tells the
  engine on resume that it has them (bounded re-checking); the copies do not wait for the
  database. Why groups, handed over whole: small local files finish at thousands a second, and
  a commit per file (a WAL write and its locks) or even a thread wake-up per file (a GIL
  hand-off) cost more than the copy itself.

Intents are always committed before the importer starts on the items they cover. A clean stop
withdraws the intents of items the importer never started (:meth:`OutcomeRecorder.withdraw`), so
only a crash leaves items in doubt.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Mapping, Sequence

from .store import Known, Ledger, LedgerRecord, Outcome

__all__ = ["OutcomeRecorder"]

_STOP = object()

#: a group commit closes at this many outcomes...
GROUP_ITEMS = 8
#: ... or once its outcomes delivered this many bytes (a large file's outcome is not held back)
GROUP_BYTES = 32 << 20


class OutcomeRecorder:
    def __init__(self, ledger: Ledger, *, job_id: str, scope: str, vertical: str, group: bool):
        self.ledger, self.job_id, self.scope, self.vertical = ledger, job_id, scope, vertical
        self.group = group
        self._queue: queue.Queue = queue.Queue()
        self._error: BaseException | None = None
        self._idle = threading.Condition()
        self._pending = 0
        self._writer: threading.Thread | None = None
        self._group: list[LedgerRecord] = []  # the open group (touched by the importing thread only)
        self._group_bytes = 0

    def intents(self, records: Sequence[LedgerRecord]) -> None:
        """Commit ``sending`` rows for items about to be sent (after earlier outcomes are in)."""
        self.flush()
        self._write(records)

    def withdraw(self, items: Sequence, previous: Mapping[tuple[str, str], Known]) -> None:
        """Take back the intents of ``items``, which were never sent (see Ledger.withdraw)."""
        if not items:
            return
        self.flush()
        self.ledger.withdraw(scope=self.scope, keys=[(item.kind, item.id) for item in items], previous=previous)

    def record(self, record: LedgerRecord) -> None:
        if not self.group:
            self._write([record])
            return
        self._raise_if_failed()
        if self._writer is None:
            self._writer = threading.Thread(target=self._run, name=f"ledger-{self.job_id[:8]}", daemon=True)
            self._writer.start()
        self._group.append(record)
        self._group_bytes += record.bytes
        if len(self._group) >= GROUP_ITEMS or self._group_bytes >= GROUP_BYTES:
            self._close_group()

    def _close_group(self) -> None:
        if not self._group:
            return
        with self._idle:
            self._pending += len(self._group)
        self._queue.put(self._group)
        self._group, self._group_bytes = [], 0

    def flush(self) -> None:
        """Return once every recorded outcome is committed (re-raising a write error)."""
        if self._writer is not None:
            self._close_group()
            with self._idle:
                while self._pending and self._error is None:
                    self._idle.wait(0.5)
        self._raise_if_failed()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            if self._writer is not None:
                self._queue.put(_STOP)
                self._writer.join(timeout=30)
                self._writer = None

    def _write(self, records: Sequence[LedgerRecord]) -> None:
        self.ledger.record(job_id=self.job_id, scope=self.scope, vertical=self.vertical, records=records)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = list(first)
            while True:  # and every group that closed while the last commit ran
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    self._queue.put(_STOP)
                    break
                batch.extend(more)
            try:
                self._write(batch)
            except BaseException as exc:  # surfaced to the importing thread by flush/record
                self._error = exc
            with self._idle:
                self._pending -= len(batch)
                self._idle.notify_all()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error


def intent(item, content_hash: str) -> LedgerRecord:
    return LedgerRecord(kind=item.kind, item_id=item.id, content_hash=content_hash, outcome=Outcome.SENDING, item_name=item.display_name)
