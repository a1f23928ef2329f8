"""The idempotency ledger and page checkpoints.

``commit_page`` writes a page's outcomes, its errors, the job counters and the next export
cursor in ONE transaction, after the importer has confirmed the items (meltano's rule: a
checkpoint never runs ahead of the data it covers). A crash before that commit redoes the page;
the ledger and the destination's own check make the redo deliver nothing twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, delete, select

from .jobs import JobStore
from .tables import ExportCursor, ItemErrorRow, LedgerEntry, utcnow

__all__ = ["Ledger", "LedgerRecord", "ErrorRecord", "content_hash", "DELIVERED"]

DELIVERED = ("imported", "skipped")


def content_hash(item) -> str:
    """Hash of what an item says, not where its bytes are: ``ref`` (archive paths, signed URLs)
    may change between exports of the same unchanged item."""
    payload = item.model_dump_json(exclude={"ref"})
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True)
class LedgerRecord:
    item_id: str
    vertical: str
    kind: str
    content_hash: str
    outcome: str
    destination_id: str | None = None
    bytes: int = 0


@dataclass(frozen=True)
class ErrorRecord:
    item_id: str
    item_name: str | None
    vertical: str | None
    message: str
    retryable: bool = False


class Ledger:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.jobs = JobStore(engine)

    def delivered(self, scope: str, item_ids: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        """``item_id -> (content_hash, destination_id)`` for items already delivered in ``scope``."""
        if not item_ids:
            return {}
        found: dict[str, tuple[str, str | None]] = {}
        with Session(self.engine) as session:
            for start in range(0, len(item_ids), 500):
                chunk = list(item_ids[start : start + 500])
                rows = session.exec(
                    select(LedgerEntry.item_id, LedgerEntry.content_hash, LedgerEntry.destination_id).where(
                        LedgerEntry.scope == scope,
                        col(LedgerEntry.item_id).in_(chunk),
                        col(LedgerEntry.outcome).in_(DELIVERED),
                    )
                ).all()
                found.update({item_id: (h, dest) for item_id, h, dest in rows})
        return found

    def parents(self, scope: str, kinds: Iterable[str] = ("album", "folder", "calendar")) -> dict[str, str]:
        """Destination ids of containers delivered in ``scope`` (to rebuild ImportContext.parents)."""
        with Session(self.engine) as session:
            rows = session.exec(
                select(LedgerEntry.item_id, LedgerEntry.destination_id).where(
                    LedgerEntry.scope == scope,
                    col(LedgerEntry.kind).in_(list(kinds)),
                    col(LedgerEntry.outcome).in_(DELIVERED),
                )
            ).all()
        return {item_id: dest for item_id, dest in rows if dest}

    def cursor(self, job_id: str, vertical: str) -> ExportCursor | None:
        with Session(self.engine, expire_on_commit=False) as session:
            return session.get(ExportCursor, (job_id, vertical))

    def cursors(self, job_id: str) -> list[ExportCursor]:
        with Session(self.engine, expire_on_commit=False) as session:
            return list(session.exec(select(ExportCursor).where(ExportCursor.job_id == job_id)).all())

    def save_cursor(self, job_id: str, vertical: str, cursor_json: str | None, *, done: bool = False, converter_state: dict | None = None) -> None:
        with Session(self.engine) as session:
            self._put_cursor(session, job_id, vertical, cursor_json, done, converter_state)
            session.commit()

    def reset_cursors(self, job_id: str) -> None:
        with Session(self.engine) as session:
            session.exec(delete(ExportCursor).where(ExportCursor.job_id == job_id))
            session.commit()

    @staticmethod
    def _put_cursor(session: Session, job_id: str, vertical: str, cursor_json: str | None, done: bool, converter_state: dict | None) -> None:
        row = session.get(ExportCursor, (job_id, vertical))
        if row is None:
            row = ExportCursor(job_id=job_id, vertical=vertical)
        row.cursor_json = cursor_json
        row.done = done
        row.pages += 1
        if converter_state is not None:
            row.converter_state = dict(converter_state)
        row.updated_at = utcnow()
        session.add(row)

    def commit_page(
        self,
        *,
        job_id: str,
        scope: str,
        vertical: str,
        records: Sequence[LedgerRecord],
        errors: Sequence[ErrorRecord] = (),
        cursor_json: str | None = None,
        done: bool = False,
        converter_state: dict | None = None,
        advance_cursor: bool = True,
    ) -> None:
        """Record outcomes (+ errors, counters, and optionally the next cursor) atomically."""
        imported = sum(r.outcome == "imported" for r in records)
        skipped = sum(r.outcome == "skipped" for r in records)
        failed = sum(r.outcome == "failed" for r in records)
        nbytes = sum(r.bytes for r in records)
        with Session(self.engine) as session:
            self._upsert(session, job_id=job_id, scope=scope, vertical=vertical, records=records)
            for error in errors:
                session.add(
                    ItemErrorRow(
                        job_id=job_id,
                        item_id=error.item_id,
                        item_name=error.item_name,
                        vertical=error.vertical,
                        message=error.message,
                        retryable=error.retryable,
                    )
                )
            self.jobs.add_counts(session, job_id, imported=imported, skipped=skipped, failed=failed, nbytes=nbytes)
            if advance_cursor:
                self._put_cursor(session, job_id, vertical, cursor_json, done, converter_state)
            session.commit()

    def _upsert(self, session: Session, *, job_id: str, scope: str, vertical: str, records: Sequence[LedgerRecord]) -> None:
        """Write ledger rows in one statement (INSERT ... ON CONFLICT DO UPDATE).

        Why one statement: a page of hundreds of items would otherwise cost one SELECT and one
        write per item. The conflict clause keeps the rule that a later failure never hides an
        earlier delivery.
        """
        if not records:
            return
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        elif dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:  # pragma: no cover - other databases: row by row
            return self._upsert_rows(session, job_id=job_id, scope=scope, vertical=vertical, records=records)
        now = utcnow()
        latest = {record.item_id: record for record in records}  # an item twice in a page: last wins
        rows = [
            {
                "scope": scope,
                "item_id": r.item_id,
                "job_id": job_id,
                "vertical": vertical,
                "kind": r.kind,
                "content_hash": r.content_hash,
                "destination_id": r.destination_id,
                "outcome": r.outcome,
                "bytes": r.bytes,
                "updated_at": now,
            }
            for r in latest.values()
        ]
        table = LedgerEntry.__table__
        statement = insert(table)
        excluded = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.scope, table.c.item_id],
            set_={name: excluded[name] for name in ("job_id", "vertical", "kind", "content_hash", "destination_id", "outcome", "bytes", "updated_at")},
            where=(excluded.outcome != "failed") | and_(*(table.c.outcome != kept for kept in DELIVERED)),
        )
        for start in range(0, len(rows), 500):
            session.execute(statement, rows[start : start + 500])

    def _upsert_rows(self, session: Session, *, job_id: str, scope: str, vertical: str, records: Sequence[LedgerRecord]) -> None:
        for record in records:
            existing = session.get(LedgerEntry, (scope, record.item_id))
            if existing is not None and existing.outcome in DELIVERED and record.outcome == "failed":
                continue
            row = existing or LedgerEntry(scope=scope, item_id=record.item_id, job_id=job_id, vertical=vertical, kind=record.kind, content_hash=record.content_hash, outcome=record.outcome)
            row.job_id, row.vertical, row.kind = job_id, vertical, record.kind
            row.content_hash, row.outcome = record.content_hash, record.outcome
            row.destination_id, row.bytes, row.updated_at = record.destination_id, record.bytes, utcnow()
            session.add(row)

    def figures(self, scope: str, job_id: str) -> dict[str, dict[str, int]]:
        """Per vertical: items imported, skipped (already there) and failed by ``job_id``, and bytes.

        Counted in the database (GROUP BY): a recurring scope may hold far more rows than one run.
        """
        per_vertical: dict[str, dict[str, int]] = {}
        with Session(self.engine) as session:
            rows = session.exec(
                select(LedgerEntry.vertical, LedgerEntry.outcome, func.count(), func.coalesce(func.sum(LedgerEntry.bytes), 0))
                .where(LedgerEntry.scope == scope, LedgerEntry.job_id == job_id)
                .group_by(LedgerEntry.vertical, LedgerEntry.outcome)
            ).all()
        for vertical, outcome, count, nbytes in rows:
            figures = per_vertical.setdefault(vertical, {"imported": 0, "skipped": 0, "failed": 0, "bytes": 0})
            figures[outcome] = figures.get(outcome, 0) + count
            figures["bytes"] += int(nbytes)
        return per_vertical

    def errors(self, job_id: str, limit: int = 1000) -> list[ItemErrorRow]:
        with Session(self.engine, expire_on_commit=False) as session:
            return list(
                session.exec(select(ItemErrorRow).where(ItemErrorRow.job_id == job_id).order_by(ItemErrorRow.id).limit(limit)).all()
            )

    def entries(self, scope: str) -> list[LedgerEntry]:
        with Session(self.engine, expire_on_commit=False) as session:
            return list(session.exec(select(LedgerEntry).where(LedgerEntry.scope == scope)).all())
