"""Read-only look-ups of credential rows, without the OAuth machinery.

Why separate from :mod:`flows.credentials`: validating a request must answer in well under a
second, and building a CredentialStore imports the OAuth client (Authlib, httpx) and the cipher.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from .tables import Credential, CredentialStatus

__all__ = ["CredentialRow", "credential_row"]


@dataclass(frozen=True)
class CredentialRow:
    id: str
    connector: str
    status: CredentialStatus
    status_reason: str | None


def credential_row(engine: Engine, credential_id: str) -> CredentialRow | None:
    """The credential with this id (or unique id prefix), or None."""
    with Session(engine) as session:
        row = session.get(Credential, credential_id)
        if row is None:
            matches = session.exec(select(Credential).where(Credential.id.startswith(credential_id))).all()
            row = matches[0] if len(matches) == 1 else None
        if row is None:
            return None
        return CredentialRow(row.id, row.connector, CredentialStatus(row.status), row.status_reason)
