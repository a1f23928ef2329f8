"""Engines for the job store: SQLite by default, any SQLAlchemy URL (PostgreSQL) otherwise.

Every way a database can be unusable becomes one :class:`StoreUnavailable` line naming the
setting to fix (the URL is shown with its password masked): an unknown URL scheme, a driver that
is not installed (PostgreSQL needs ``pip install 'ferry[postgres]'``), a server that does not
answer, a file that is not a database, a SQLite path that does not exist (a typo must never
silently start an empty job store; ``create=True`` is for the default store and ``ferry db
upgrade``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlmodel import create_engine

from connectors.errors import ConfigError

from . import tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from .migrations import ensure_schema

__all__ = ["StoreUnavailable", "get_engine", "describe_url"]

#: what to install (or write) when a URL's driver is missing: ``ferry[postgres]`` brings psycopg 3
_DRIVER_ADVICE = {
    "psycopg": "pip install 'ferry[postgres]'",
    "psycopg2": "write the URL as postgresql+psycopg://... and pip install 'ferry[postgres]'",
}


class StoreUnavailable(ConfigError):
    """The job store cannot be opened; the message says which setting to fix."""


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cursor = dbapi_conn.cursor()
    # WAL lets the CLI read job state while a transfer writes; busy_timeout rides out short locks.
    # synchronous=NORMAL in WAL mode: a commit survives a crash of ferry (kill -9), and only a
    # power loss may lose the last commits; the ledger's intents make such a loss a re-check
    # of the destination, never a duplicate.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def describe_url(url: str) -> str:
    """The URL with any password masked, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


@lru_cache(maxsize=16)
def get_engine(url: str, *, create: bool = False) -> Engine:
    """Return a cached engine for ``url`` with the schema at the current version.

    Args:
        url: a SQLAlchemy URL.
        create: allow creating a new SQLite file (the default store under the data dir, or
            ``ferry db upgrade``); otherwise a missing file is an error.

    Raises:
        StoreUnavailable: one line naming FERRY_DATABASE_URL and what to do.
        SchemaTooNew: the database was written by a newer ferry.
    """
    shown = describe_url(url)
    try:
        parsed = make_url(url)
        backend = parsed.get_backend_name()
    except ArgumentError:
        raise StoreUnavailable(f"database_url (FERRY_DATABASE_URL) {shown!r} is not a database URL; e.g. sqlite:///path/ferry.db or postgresql+psycopg://user@host/db") from None
    if backend == "sqlite":
        engine = _sqlite_engine(url, parsed.database, shown, create=create)
    else:
        try:
            engine = create_engine(url, pool_pre_ping=True)
        except NoSuchModuleError:
            raise StoreUnavailable(f"database_url (FERRY_DATABASE_URL) {shown}: ferry does not know the database {parsed.drivername!r}; use sqlite:/// or postgresql+psycopg://") from None
        except ModuleNotFoundError as exc:
            advice = _DRIVER_ADVICE.get(exc.name or "", f"pip install '{exc.name}'")
            raise StoreUnavailable(f"database_url (FERRY_DATABASE_URL) {shown} needs the {exc.name} driver, which is not installed: {advice}") from None
    try:
        ensure_schema(engine, where=shown)
    except DBAPIError as exc:
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
        if "not a database" in reason or "malformed" in reason:
            raise StoreUnavailable(f"database_url (FERRY_DATABASE_URL) {shown} is not a ferry job store (a file that is not a database: {reason})") from None
        raise StoreUnavailable(f"cannot open the job store {shown} (FERRY_DATABASE_URL): {reason}") from None
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StoreUnavailable(f"cannot open the job store {shown} (FERRY_DATABASE_URL): {type(exc).__name__}: {exc}") from None
    return engine


def _sqlite_engine(url: str, database: str | None, shown: str, *, create: bool) -> Engine:
    if database and database != ":memory:":
        path = Path(database)
        if not path.exists():
            if not create:
                raise StoreUnavailable(
                    f"no job store at {path} (FERRY_DATABASE_URL {shown}); check the path, or create it with `ferry db upgrade`"
                )
            path.parent.mkdir(parents=True, exist_ok=True)
        elif path.is_dir():
            raise StoreUnavailable(f"database_url (FERRY_DATABASE_URL) {shown} names a folder, not a database file")
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine
