"""Recurring transfers: their rows and run history (jobs carrying ``recurring_id``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import update
from sqlmodel import Session, col, select

from connectors.errors import ConfigError

from .jobs import JobStore
from .tables import Credential, CredentialStatus, Job, RecurringState, RecurringTransfer, utcnow

__all__ = ["RecurringNotFound", "RecurringStore"]


class RecurringNotFound(LookupError):
    def __init__(self, key: str):
        super().__init__(f"no recurring transfer {key!r}; `ferry recurring list` shows them")
        self.key = key


class RecurringStore:
    """RecurringTransfer rows and their run history (jobs with ``recurring_id``)."""

    def __init__(self, engine):
        self.engine = engine
        self.jobs = JobStore(engine)

    def add(self, rec: RecurringTransfer) -> RecurringTransfer:
        with Session(self.engine, expire_on_commit=False) as session:
            if session.exec(select(RecurringTransfer).where(RecurringTransfer.name == rec.name)).first():
                raise ConfigError(f"a recurring transfer named {rec.name!r} already exists")
            session.add(rec)
            session.commit()
        return rec

    def get(self, key: str) -> RecurringTransfer:
        """By id, unique id prefix, or name."""
        with Session(self.engine, expire_on_commit=False) as session:
            found = session.get(RecurringTransfer, key)
            if found is not None:
                return found
            found = session.exec(select(RecurringTransfer).where(RecurringTransfer.name == key)).first()
            if found is not None:
                return found
            matches = session.exec(select(RecurringTransfer).where(col(RecurringTransfer.id).startswith(key))).all()
            if len(matches) == 1:
                return matches[0]
        raise RecurringNotFound(key)

    def by_schedule(self, schedule_id: str) -> RecurringTransfer | None:
        """The recurring transfer whose Prefect schedule has this id (flows.schedules)."""
        with Session(self.engine, expire_on_commit=False) as session:
            return session.exec(select(RecurringTransfer).where(RecurringTransfer.schedule_id == schedule_id)).first()

    def list(self, states: Sequence[RecurringState] | None = None) -> list[RecurringTransfer]:
        with Session(self.engine, expire_on_commit=False) as session:
            query = select(RecurringTransfer).order_by(col(RecurringTransfer.created_at))
            if states:
                query = query.where(col(RecurringTransfer.state).in_(list(states)))
            return list(session.exec(query).all())

    def update(self, rec_id: str, **values) -> None:
        values["updated_at"] = utcnow()
        with Session(self.engine) as session:
            session.exec(update(RecurringTransfer).where(RecurringTransfer.id == rec_id).values(**values))
            session.commit()

    def runs(self, rec_id: str, limit: int = 50) -> list[Job]:
        """The recurring transfer's jobs, newest first."""
        return self.jobs.list(limit=limit, recurring_id=rec_id)

    def dead_credentials(self, rec: RecurringTransfer) -> list[str]:
        """Ids of the recurring transfer's credentials waiting for re-authorization."""
        ids = [c for c in (rec.source_credential_id, rec.destination_credential_id) if c]
        if not ids:
            return []
        with Session(self.engine) as session:
            rows = session.exec(select(Credential.id, Credential.status).where(col(Credential.id).in_(ids))).all()
        return [cid for cid, status in rows if status == CredentialStatus.NEEDS_REAUTH]
