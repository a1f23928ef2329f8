"""Schema versions of the job store (Alembic), checked on every start.

On start (:func:`ensure_schema`):

* the version table says :data:`HEAD`: nothing to do (one cheap query, Alembic is not imported);
* an empty database: upgraded from nothing to HEAD;
* ferry's tables without a version table (written before migrations existed): stamped with the
  baseline ``0001``, then upgraded;
* an older version: upgraded, under a lock (PostgreSQL advisory lock, a lock file beside a SQLite
  database), so two processes starting together never migrate twice;
* a version this ferry does not know (written by a newer ferry): refused with one line.

A new revision goes in ``versions/`` and moves :data:`HEAD` (tests/test_migrations.py checks
that HEAD is Alembic's head and that the migrated schema equals the models).
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from connectors.errors import ConfigError

__all__ = ["HEAD", "KNOWN", "VERSION_TABLE", "SchemaTooNew", "current_revision", "ensure_schema", "upgrade"]

VERSION_TABLE = "ferry_schema_version"
#: Revisions in order; the last is the head this code writes.
KNOWN = ("0001", "0002", "0003", "0004", "0005", "0006")
HEAD = KNOWN[-1]
_BASELINE = "0001"
_ADVISORY_KEY = 0x66657272  # "ferr"
_HERE = Path(__file__).resolve().parent


class SchemaTooNew(ConfigError):
    """The job store was written by a newer ferry."""


def current_revision(connection: Connection) -> str | None:
    """The revision recorded in the database, or None (no version table / no row)."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    return connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def ensure_schema(engine: Engine, *, where: str) -> tuple[str | None, str] | None:
    """Bring the database to HEAD (see the module docstring); ``where`` names it in errors.

    Returns ``(from, to)`` when this call upgraded it, None when there was nothing to do: it was
    at HEAD, or another process upgraded it while this one waited for the lock.
    """
    with engine.connect() as connection:
        revision = current_revision(connection)
    if revision == HEAD:
        return None
    _refuse_unknown(revision, where)
    with _migration_lock(engine):
        before, after = upgrade(engine, where=where)
    return None if before == after else (before, after)


def upgrade(engine: Engine, *, where: str) -> tuple[str | None, str]:
    """Upgrade to HEAD now (``ferry db upgrade``); returns (from, to)."""
    from alembic import command

    with engine.begin() as connection:
        before = current_revision(connection)
        _refuse_unknown(before, where)
        if before == HEAD:
            return before, HEAD
        config = _config(connection)
        if before is None and inspect(connection).has_table("ferry_job"):
            command.stamp(config, _BASELINE)
            before = _BASELINE
        command.upgrade(config, "head")
    return before, HEAD


def _refuse_unknown(revision: str | None, where: str) -> None:
    if revision is not None and revision not in KNOWN:
        raise SchemaTooNew(
            f"the job store {where} has schema {revision}, newer than this ferry knows (up to {HEAD}): upgrade ferry"
        )


def _config(connection: Connection):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.attributes["connection"] = connection
    return config


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _ADVISORY_KEY})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _ADVISORY_KEY})
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
