"""One context per entry point: settings, the job-store engine and the stores, built once.

Every entry point (a CLI command, a flow run, a server) calls :func:`open_context` once and
passes the context down; nothing below it calls ``load_settings()`` or ``get_engine()`` again.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .settings import Settings, load_settings
from .store import JobStore, Ledger, RecurringStore, get_engine

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from .credentials import CredentialStore

__all__ = ["FerryContext", "open_context"]


@dataclass
class FerryContext:
    settings: Settings
    engine: "Engine"

    @cached_property
    def jobs(self) -> JobStore:
        return JobStore(self.engine)

    @cached_property
    def ledger(self) -> Ledger:
        return Ledger(self.engine)

    @cached_property
    def recurring(self) -> RecurringStore:
        return RecurringStore(self.engine)

    @cached_property
    def credentials(self) -> "CredentialStore":
        from .credentials import CredentialStore
        from .crypto import cipher_from_settings

        return CredentialStore(self.engine, cipher_from_settings(self.settings))


def open_context(settings: Settings | None = None, *, create: bool | None = None, **overrides: Any) -> FerryContext:
    """Load settings (unless given), open the job store and return the context.

    Args:
        create: allow creating a missing SQLite job store; by default only the default store
            under the data directory is created on first use (a mistyped FERRY_DATABASE_URL is
            an error, never a new empty store).
    """
    settings = settings or load_settings(**overrides)
    allowed = settings.database_url is None if create is None else create
    return FerryContext(settings=settings, engine=get_engine(settings.resolved_database_url, create=allowed))
