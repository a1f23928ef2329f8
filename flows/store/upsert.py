"""The ledger's upsert, compiled once per database: what each outcome commit costs.

Why a module of its own: outcomes are committed as they complete (docs/engine.md), hundreds of
transactions a second when small files are copied. SQLAlchemy never caches the compiled form of
an ``INSERT ... ON CONFLICT DO UPDATE`` (the dialects' ``Insert`` opts out of its statement
cache), so every commit compiled the whole statement again: about 2 ms of CPU, held under the
GIL by the ledger's writer thread while the copy threads waited for it (a 2,000-file copy spent
more time waiting than copying). Here the statement is compiled once; each commit only turns
rows into the driver's parameters (with each column type's own bind processor, as SQLAlchemy
would) and runs one ``executemany`` on the session's connection, in the caller's transaction.
About a quarter of a millisecond for a batch of outcomes.

The statement and its rules (an intent never replaces a delivery of the same content, a failure
never replaces a delivery of the same content, digest and algorithm go together) are written
once, in :func:`upsert_statement`, for SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import and_, case, func, literal, or_
from sqlalchemy.engine import Connection, Dialect

from sqlmodel import SQLModel

from .tables import LedgerEntry, Outcome

__all__ = ["PreparedUpsert", "upsert_statement"]

DELIVERED = (Outcome.IMPORTED, Outcome.SKIPPED)


def upsert_statement(dialect: str) -> Any:
    """``INSERT ... ON CONFLICT (scope, kind, item_id) DO UPDATE`` with the ledger's rules."""
    from sqlalchemy.dialects import postgresql, sqlite

    inserts: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
    if dialect not in inserts:  # pragma: no cover - the job store runs on SQLite or PostgreSQL
        raise NotImplementedError(f"ledger upsert on {dialect}")
    table: Any = SQLModel.metadata.tables[LedgerEntry.__tablename__]
    statement = inserts[dialect](table)
    new = statement.excluded
    # (no IN lists: executemany cannot expand them)
    was_delivered = or_(*(table.c.outcome == literal(o.value) for o in DELIVERED))
    is_delivery = or_(*(new.outcome == literal(o.value) for o in DELIVERED))
    delivered_same = and_(was_delivered, table.c.content_hash == new.content_hash)
    is_intent = new.outcome == literal(Outcome.SENDING.value)
    return statement.on_conflict_do_update(
        index_elements=[table.c.scope, table.c.kind, table.c.item_id],
        set_={
            "job_id": new.job_id,
            "vertical": new.vertical,
            "item_name": func.coalesce(new.item_name, table.c.item_name),
            "content_hash": new.content_hash,
            "destination_id": func.coalesce(new.destination_id, table.c.destination_id),
            "outcome": new.outcome,
            "bytes": new.bytes,
            # digest and algorithm go together: a row without a new checksum keeps both
            "checksum": func.coalesce(new.checksum, table.c.checksum),
            "checksum_algorithm": case((new.checksum.is_(None), table.c.checksum_algorithm), else_=new.checksum_algorithm),
            # an intent keeps what the row said (a withdrawn intent restores it, Ledger.withdraw)
            "error": case((is_intent, table.c.error), else_=new.error),
            "retryable": case((is_intent, table.c.retryable), else_=new.retryable),
            "attempts": table.c.attempts + new.attempts,
            "updated_at": new.updated_at,
        },
        where=or_(is_delivery, ~delivered_same),
    )


class PreparedUpsert:
    """:func:`upsert_statement` compiled for one dialect; :meth:`run` writes rows with it."""

    def __init__(self, dialect: Dialect):
        statement = upsert_statement(dialect.name)
        compiled = statement.compile(dialect=dialect)
        self._compiled = compiled
        self._sql = compiled.string
        self._order = compiled.positiontup if compiled.positional else None
        processors = ((column.name, column.type.bind_processor(dialect)) for column in statement.table.c)
        self._processors = {name: process for name, process in processors if process is not None}

    def run(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Upsert ``rows`` (one dict per ledger row, every column given) in one executemany."""
        if rows:
            connection.exec_driver_sql(self._sql, [self._parameters(row) for row in rows])

    def _parameters(self, row: Mapping[str, Any]) -> Any:
        values = self._compiled.construct_params(dict(row))  # the row plus the statement's literals
        for name, process in self._processors.items():
            if name in values:
                values[name] = process(values[name])
        if self._order is None:
            return values
        return tuple(values[name] for name in self._order)
