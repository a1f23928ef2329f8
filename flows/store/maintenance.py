"""Schema status and upgrades of a job store, for ``ferry db current|upgrade``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from .engine import describe_url, get_engine
from .migrations import HEAD, current_revision

__all__ = ["SchemaStatus", "schema_status", "upgrade_store"]


@dataclass(frozen=True)
class SchemaStatus:
    where: str
    current: str | None
    head: str


def _peek(url: str) -> str | None:
    """The recorded revision without migrating anything (None: no store, or no version yet)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).exists():
        return None
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return current_revision(connection)
    finally:
        engine.dispose()


def schema_status(url: str) -> SchemaStatus:
    """Where the store stands, without upgrading it."""
    try:
        current = _peek(url)
    except Exception:
        get_engine(url)  # says in one line why the store cannot be opened
        raise
    return SchemaStatus(describe_url(url), current, HEAD)


def upgrade_store(url: str) -> tuple[str | None, str]:
    """Create or upgrade the store at ``url`` (opening it migrates); returns (before, now)."""
    before = _peek(url)
    get_engine(url, create=True)
    return before, HEAD
