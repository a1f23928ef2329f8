"""The idempotency ledger: one row per item and scope, written as each item's outcome is known.

Exactly once, per item, at the destination (the design, see docs/engine.md):

* Before the importer sends a batch, the engine writes each item's **intent** (outcome
  ``sending``) in one transaction. After the destination answers, each outcome replaces its
  intent as soon as it is known: one short transaction per outcome for destinations that cannot
  be asked what they hold, one per group of finished outcomes (never on a timer) for those that
  can.
* A row still ``sending`` after a crash is *in doubt*: the destination may or may not have the
  item. On resume the engine asks the importer (``Importer.find``) before sending it again; an
  item found is recorded as imported by this job, not re-sent.
* A later delivery supersedes an earlier failure in place, so counts and error lists derived from
  the ledger never show an error that a retry fixed, and a redone page counts nothing twice.
* The ledger is the only source of counts: summaries, exit codes and ``jobs show --errors`` read
  it (see :meth:`Ledger.figures`).

Page checkpoints (``commit_page``) write the next export cursor and the page's problems in ONE
transaction after every outcome of the page is in the ledger (meltano's rule: a checkpoint never
runs ahead of the data it covers). A connector's job-scoped state slot (``state``/``save_state``,
keyed by the job id, see :mod:`flows.state_slot`) is written on its own, when the connector says.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, literal, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, delete, select

from connectors.checksums import Checksum
from connectors.models import CONTAINER_KINDS as MODEL_CONTAINER_KINDS

from .upsert import PreparedUpsert
from .tables import Bookmark, ConnectorState, ExportCursor, LedgerEntry, Outcome, ProblemRow, utcnow

__all__ = [
    "DELIVERED",
    "CONTAINER_KINDS",
    "Figures",
    "JobFigures",
    "Ledger",
    "LedgerRecord",
    "Known",
    "ProblemRecord",
    "content_hash",
]

DELIVERED = (Outcome.IMPORTED, Outcome.SKIPPED)
CONTAINER_KINDS = tuple(sorted(MODEL_CONTAINER_KINDS))  # the one definition is connectors.models
_CHUNK = 500


def content_hash(item) -> str:
    """Hash of what an item says, not where its bytes are: ``ref`` (archive paths, signed URLs)
    may change between exports of the same unchanged item."""
    payload = item.model_dump_json(exclude={"ref"})
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class LedgerRecord:
    """One item's intent or outcome, as the engine writes it."""

    kind: str
    item_id: str
    content_hash: str
    outcome: Outcome
    item_name: str | None = None
    destination_id: str | None = None
    bytes: int = 0
    checksum: Checksum | None = None
    error: str | None = None
    retryable: bool = False


@dataclass(frozen=True)
class Known:
    """What the ledger holds about one item of a scope."""

    outcome: Outcome
    content_hash: str
    destination_id: str | None
    job_id: str

    def delivered(self, content_hash: str) -> bool:
        return self.outcome in DELIVERED and self.content_hash == content_hash


@dataclass(frozen=True)
class ProblemRecord:
    subject: str
    message: str
    kind: str
    item_id: str | None = None


@dataclass
class Figures:
    imported: int = 0
    skipped: int = 0
    failed: int = 0
    in_doubt: int = 0
    bytes: int = 0

    def add(self, outcome: Outcome, count: int, nbytes: int) -> None:
        if outcome == Outcome.IMPORTED:
            self.imported += count
        elif outcome == Outcome.SKIPPED:
            self.skipped += count
        elif outcome == Outcome.FAILED:
            self.failed += count
        else:
            self.in_doubt += count
        self.bytes += nbytes


@dataclass
class JobFigures:
    """A job's figures, counted from the ledger (per vertical and in total)."""

    total: Figures = field(default_factory=Figures)
    per_vertical: dict[str, Figures] = field(default_factory=dict)


class Ledger:
    """Ledger rows, problems, cursors, bookmarks and connector state; short transactions each."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._prepared: dict[str, PreparedUpsert] = {}  # per dialect (see .upsert)

    # -- what is known --------------------------------------------------------------------------

    def known(self, scope: str, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Known]:
        """``(kind, item_id) -> Known`` for the given items of ``scope`` that have a row."""
        found: dict[tuple[str, str], Known] = {}
        by_kind: dict[str, list[str]] = {}
        for kind, item_id in keys:
            by_kind.setdefault(kind, []).append(item_id)
        with Session(self.engine) as session:
            for kind, ids in by_kind.items():
                for start in range(0, len(ids), _CHUNK):
                    rows = session.exec(
                        select(LedgerEntry.item_id, LedgerEntry.outcome, LedgerEntry.content_hash, LedgerEntry.destination_id, LedgerEntry.job_id).where(
                            LedgerEntry.scope == scope, LedgerEntry.kind == kind, col(LedgerEntry.item_id).in_(ids[start : start + _CHUNK])
                        )
                    ).all()
                    for item_id, outcome, digest, destination, job_id in rows:
                        found[(kind, item_id)] = Known(Outcome(outcome), digest, destination, job_id)
        return found

    def destination_of(self, scope: str, item_id: str) -> str | None:
        """Where an item delivered in ``scope`` landed (any kind), or None."""
        with Session(self.engine) as session:
            return session.exec(
                select(LedgerEntry.destination_id).where(
                    LedgerEntry.scope == scope, LedgerEntry.item_id == item_id, col(LedgerEntry.outcome).in_(DELIVERED)
                )
            ).first()

    def parents(self, scope: str, kinds: Iterable[str] = CONTAINER_KINDS) -> dict[str, str]:
        """Destination ids of containers delivered in ``scope`` (to rebuild ImportContext.parents)."""
        with Session(self.engine) as session:
            rows = session.exec(
                select(LedgerEntry.item_id, LedgerEntry.destination_id).where(
                    LedgerEntry.scope == scope, col(LedgerEntry.kind).in_(list(kinds)), col(LedgerEntry.outcome).in_(DELIVERED)
                )
            ).all()
        return {item_id: dest for item_id, dest in rows if dest}

    # -- writing outcomes -----------------------------------------------------------------------

    def record(self, *, job_id: str, scope: str, vertical: str, records: Sequence[LedgerRecord]) -> None:
        """Write intents or outcomes in one transaction (one upsert statement per 500 rows).

        Rules, enforced in the statement itself: an intent never replaces a delivery of the same
        content; a failure never replaces a delivery of the same content (a redundant re-send
        that failed changes nothing at the destination).
        """
        if not records:
            return
        with self.engine.begin() as connection:  # no ORM session: this runs per group of outcomes
            self._upsert(connection, job_id=job_id, scope=scope, vertical=vertical, records=records)

    def _upsert(self, connection: Connection, *, job_id: str, scope: str, vertical: str, records: Sequence[LedgerRecord]) -> None:
        now = utcnow()
        latest = {(r.kind, r.item_id): r for r in records}  # an item twice in a batch: last wins
        rows = [
            {
                "scope": scope,
                "kind": r.kind,
                "item_id": r.item_id,
                "job_id": job_id,
                "vertical": vertical,
                "item_name": r.item_name,
                "content_hash": r.content_hash,
                "destination_id": r.destination_id,
                "outcome": r.outcome.value,
                "bytes": r.bytes,
                "checksum": r.checksum.digest if r.checksum else None,
                "checksum_algorithm": r.checksum.algorithm.value if r.checksum else None,
                "error": r.error,
                "retryable": r.retryable,
                "attempts": 1 if r.outcome == Outcome.SENDING else 0,
                "updated_at": now,
            }
            for r in latest.values()
        ]
        prepared = self._prepared.get(connection.dialect.name)
        if prepared is None:
            prepared = self._prepared[connection.dialect.name] = PreparedUpsert(connection.dialect)
        for start in range(0, len(rows), _CHUNK):
            prepared.run(connection, rows[start : start + _CHUNK])

    def withdraw(self, *, scope: str, keys: Sequence[tuple[str, str]], previous: Mapping[tuple[str, str], Known]) -> None:
        """Take back intents of items that were never sent (a clean stop before the importer
        started them): a row that did not exist before goes, an older row gets its outcome,
        content hash and job back. Only rows still ``sending`` are touched."""
        if not keys:
            return
        table = LedgerEntry.__table__
        fresh: dict[str, list[str]] = {}
        with Session(self.engine) as session:
            for kind, item_id in keys:
                before = previous.get((kind, item_id))
                if before is None:
                    fresh.setdefault(kind, []).append(item_id)
                    continue
                session.execute(
                    update(table)
                    .where(table.c.scope == scope, table.c.kind == kind, table.c.item_id == item_id, table.c.outcome == Outcome.SENDING.value)
                    .values(outcome=before.outcome.value, content_hash=before.content_hash, job_id=before.job_id, attempts=table.c.attempts - 1)
                )
            for kind, ids in fresh.items():
                for start in range(0, len(ids), _CHUNK):
                    session.execute(
                        table.delete().where(
                            table.c.scope == scope, table.c.kind == kind, table.c.item_id.in_(ids[start : start + _CHUNK]), table.c.outcome == Outcome.SENDING.value
                        )
                    )
            session.commit()

    def in_doubt(self, scope: str, kinds: Iterable[str] | None = None) -> set[tuple[str, str]]:
        """``(kind, item_id)`` of rows still ``sending``: the destination may or may not have them."""
        with Session(self.engine) as session:
            query = select(LedgerEntry.kind, LedgerEntry.item_id).where(LedgerEntry.scope == scope, LedgerEntry.outcome == Outcome.SENDING)
            if kinds is not None:
                query = query.where(col(LedgerEntry.kind).in_(list(kinds)))
            return {(kind, item_id) for kind, item_id in session.exec(query).all()}

    # -- page checkpoints -----------------------------------------------------------------------

    def commit_page(
        self,
        *,
        job_id: str,
        scope: str,
        vertical: str,
        cursor_json: str | None,
        cursor_version: int = 1,
        done: bool,
        converter_state: dict | None = None,
        problems: Sequence[ProblemRecord] = (),
        records: Sequence[LedgerRecord] = (),
    ) -> None:
        """Move the vertical's cursor, with the page's problems and last outcomes."""
        with Session(self.engine) as session:
            if records:
                self._upsert(session.connection(), job_id=job_id, scope=scope, vertical=vertical, records=records)
            self._add_problems(session, job_id, vertical, problems)
            self._put_cursor(session, job_id, vertical, cursor_json, cursor_version, done, converter_state)
            session.commit()

    @staticmethod
    def _add_problems(session: Session, job_id: str, vertical: str | None, problems: Sequence[ProblemRecord]) -> None:
        if not problems:
            return
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        rows = [
            {"job_id": job_id, "vertical": vertical, "subject": p.subject, "message": p.message, "kind": p.kind, "item_id": p.item_id, "created_at": utcnow()}
            for p in {(p.subject, p.message): p for p in problems}.values()
        ]
        session.execute(insert(ProblemRow.__table__).on_conflict_do_nothing(index_elements=["job_id", "subject", "message"]), rows)

    def add_problems(self, job_id: str, vertical: str | None, problems: Sequence[ProblemRecord]) -> None:
        with Session(self.engine) as session:
            self._add_problems(session, job_id, vertical, problems)
            session.commit()

    # -- cursors ----------------------------------------------------------------------------------

    def cursor(self, job_id: str, vertical: str) -> ExportCursor | None:
        with Session(self.engine, expire_on_commit=False) as session:
            return session.get(ExportCursor, (job_id, vertical))

    def cursors(self, job_id: str) -> list[ExportCursor]:
        with Session(self.engine, expire_on_commit=False) as session:
            return list(session.exec(select(ExportCursor).where(ExportCursor.job_id == job_id)).all())

    def save_cursor(self, job_id: str, vertical: str, cursor_json: str | None, *, cursor_version: int = 1, done: bool = False, converter_state: dict | None = None) -> None:
        with Session(self.engine) as session:
            self._put_cursor(session, job_id, vertical, cursor_json, cursor_version, done, converter_state)
            session.commit()

    def reset_cursors(self, job_id: str) -> None:
        with Session(self.engine) as session:
            session.exec(delete(ExportCursor).where(ExportCursor.job_id == job_id))
            session.commit()

    @staticmethod
    def _put_cursor(session: Session, job_id: str, vertical: str, cursor_json: str | None, version: int, done: bool, converter_state: dict | None) -> None:
        row = session.get(ExportCursor, (job_id, vertical))
        if row is None:
            row = ExportCursor(job_id=job_id, vertical=vertical)
        row.cursor_json = cursor_json
        row.cursor_version = version
        row.done = done
        row.pages += 1
        if converter_state is not None:
            row.converter_state = dict(converter_state)
        row.updated_at = utcnow()
        session.add(row)

    # -- bookmarks and connector state --------------------------------------------------------------

    def bookmark(self, scope: str, vertical: str) -> Bookmark | None:
        with Session(self.engine, expire_on_commit=False) as session:
            return session.get(Bookmark, (scope, vertical))

    def save_bookmark(self, scope: str, vertical: str, cursor_json: str, version: int = 1) -> None:
        with Session(self.engine) as session:
            row = session.get(Bookmark, (scope, vertical)) or Bookmark(scope=scope, vertical=vertical, cursor_json=cursor_json)
            row.cursor_json, row.cursor_version, row.updated_at = cursor_json, version, utcnow()
            session.add(row)
            session.commit()

    def state(self, scope: str, role: str) -> ConnectorState | None:
        with Session(self.engine, expire_on_commit=False) as session:
            return session.get(ConnectorState, (scope, role))

    def save_state(self, scope: str, role: str, state_json: str, version: int = 1) -> None:
        with Session(self.engine) as session:
            self._put_state(session, scope, role, state_json, version)
            session.commit()

    def clear_state(self, scope: str, role: str) -> None:
        with Session(self.engine) as session:
            session.exec(delete(ConnectorState).where(ConnectorState.scope == scope, ConnectorState.role == role))
            session.commit()

    @staticmethod
    def _put_state(session: Session, scope: str, role: str, state_json: str, version: int) -> None:
        row = session.get(ConnectorState, (scope, role)) or ConnectorState(scope=scope, role=role, state_json=state_json)
        row.state_json, row.state_version, row.updated_at = state_json, version, utcnow()
        session.add(row)

    def reset_scope(self, scope: str) -> int:
        """Forget everything a scope delivered (``ferry recurring reset``): ledger, bookmarks, state.

        Returns how many ledger rows went, in the same transaction.
        """
        with Session(self.engine) as session:
            forgotten = session.exec(delete(LedgerEntry).where(LedgerEntry.scope == scope)).rowcount
            for table in (Bookmark, ConnectorState):
                session.exec(delete(table).where(table.scope == scope))
            session.commit()
        return forgotten

    # -- reading figures --------------------------------------------------------------------------

    def figures(self, job_id: str) -> JobFigures:
        """A job's figures per vertical, counted in the database (GROUP BY)."""
        return self.figures_of([job_id]).get(job_id, JobFigures())

    def figures_of(self, job_ids: Sequence[str]) -> dict[str, JobFigures]:
        out: dict[str, JobFigures] = {}
        if not job_ids:
            return out
        with Session(self.engine) as session:
            for start in range(0, len(job_ids), _CHUNK):
                rows = session.exec(
                    select(LedgerEntry.job_id, LedgerEntry.vertical, LedgerEntry.outcome, func.count(), func.coalesce(func.sum(LedgerEntry.bytes), 0))
                    .where(col(LedgerEntry.job_id).in_(list(job_ids[start : start + _CHUNK])))
                    .group_by(LedgerEntry.job_id, LedgerEntry.vertical, LedgerEntry.outcome)
                ).all()
                for job_id, vertical, outcome, count, nbytes in rows:
                    figures = out.setdefault(job_id, JobFigures())
                    figures.per_vertical.setdefault(vertical, Figures()).add(Outcome(outcome), count, int(nbytes))
                    figures.total.add(Outcome(outcome), count, int(nbytes))
        return out

    def renamed(self, job_id: str, limit: int = 50) -> tuple[int, list[LedgerEntry]]:
        """Items this job delivered under a name with their id added (``Holiday (1a2b3c4d)``),
        because the name they wanted was taken at the destination; ``(count, first rows)``.

        Destinations disambiguate names with the item id (connectors/names.py), so the mark is
        ``(<first 8 characters of the id>)`` in where the item landed.
        """
        mark = literal("%(").concat(func.substr(LedgerEntry.item_id, 1, 8)).concat(")%")
        where = (
            LedgerEntry.job_id == job_id,
            col(LedgerEntry.outcome).in_(DELIVERED),
            col(LedgerEntry.destination_id).like(mark),
        )
        with Session(self.engine, expire_on_commit=False) as session:
            count = session.exec(select(func.count()).select_from(LedgerEntry).where(*where)).one()
            rows = session.exec(select(LedgerEntry).where(*where).order_by(LedgerEntry.vertical, LedgerEntry.item_name).limit(limit)).all()
        return int(count), [row for row in rows if f"({row.item_id[:8]})" in (row.destination_id or "")]

    def failures(self, job_id: str, limit: int = 1000) -> list[LedgerEntry]:
        """The job's items whose latest outcome is a failure (superseded ones are gone)."""
        with Session(self.engine, expire_on_commit=False) as session:
            return list(
                session.exec(
                    select(LedgerEntry)
                    .where(LedgerEntry.job_id == job_id, LedgerEntry.outcome == Outcome.FAILED)
                    .order_by(LedgerEntry.vertical, LedgerEntry.item_name, LedgerEntry.item_id)
                    .limit(limit)
                ).all()
            )

    def problems(self, job_id: str, limit: int = 1000) -> list[ProblemRow]:
        with Session(self.engine, expire_on_commit=False) as session:
            return list(session.exec(select(ProblemRow).where(ProblemRow.job_id == job_id).order_by(ProblemRow.id).limit(limit)).all())

    def count_problems(self, job_id: str) -> dict[str, int]:
        with Session(self.engine) as session:
            rows = session.exec(select(ProblemRow.kind, func.count()).where(ProblemRow.job_id == job_id).group_by(ProblemRow.kind)).all()
        return {kind: count for kind, count in rows}

    def delivered_entries(self, job_id: str) -> list[LedgerEntry]:
        """Every item this job delivered (for ``ferry verify``)."""
        with Session(self.engine, expire_on_commit=False) as session:
            return list(
                session.exec(select(LedgerEntry).where(LedgerEntry.job_id == job_id, col(LedgerEntry.outcome).in_(DELIVERED))).all()
            )

    def entries(self, scope: str) -> list[LedgerEntry]:
        with Session(self.engine, expire_on_commit=False) as session:
            return list(session.exec(select(LedgerEntry).where(LedgerEntry.scope == scope)).all())
