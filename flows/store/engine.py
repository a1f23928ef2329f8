"""Engines for the job store: SQLite by default, any SQLAlchemy URL (PostgreSQL) otherwise."""

from __future__ import annotations

import time
from functools import lru_cache

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel, create_engine

from . import tables  # noqa: F401  (registers the tables on SQLModel.metadata)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cursor = dbapi_conn.cursor()
    # WAL lets the CLI read job state while a transfer writes; busy_timeout rides out short locks.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@lru_cache(maxsize=16)
def get_engine(url: str) -> Engine:
    """Return a cached engine for ``url`` with the schema created.

    Schema creation is idempotent (``create_all``); ferry has no migrations yet, and says so in
    the README.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    _create_schema(engine)
    return engine


def _create_schema(engine: Engine, attempts: int = 5) -> None:
    """``create_all``, tolerating another process creating the same tables at the same moment.

    Why: two ferry processes (a CLI and a worker, or two workers) starting together both see a
    missing table and both issue CREATE TABLE; the loser gets "already exists". Trying again
    sees the tables and does nothing.
    """
    for attempt in range(attempts):
        try:
            SQLModel.metadata.create_all(engine)
            return
        except DBAPIError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
