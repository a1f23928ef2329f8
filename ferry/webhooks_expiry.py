"""Expiry notices: "this user's access will expire at T", received over HTTP.

Providers announce the end of a grant ahead of time; Meta's data-transfer partners receive a
``migration_expire_time`` per user, next to the ``user_access_expire_time`` of the token itself.
This endpoint records such notices in ``Credential.grant_expires_at``, where the daily
``credential-maintenance`` flow and ``ferry reconnect --expiring-within 30d`` find them.

``POST /notices/expiry`` with header ``Authorization: Bearer <notice secret>`` and a JSON body::

    {"credential_id": "3f2a...", "expires_at": "2026-12-31T00:00:00Z"}
    {"connector": "generic", "account": "user-42", "migration_expire_time": 1798675200}

``expires_at`` takes ISO 8601 or Unix seconds; ``migration_expire_time`` and
``user_access_expire_time`` (Unix seconds) are accepted as Meta names them. Answers: 200 with the
credential ids updated, 401 for a bad secret, 404 when no credential matches, 422 for a bad body.
The notice secret is compared in constant time and never logged, and checked before the body is
parsed; bodies over :data:`MAX_BODY_BYTES` are refused (413) and requests in flight bounded (503)
by :class:`connectors.inbound.InboundGuard`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel, ValidationError, model_validator
from starlette.concurrency import run_in_threadpool
from sqlalchemy import update
from sqlmodel import Session, col, select

from connectors.inbound import InboundLimits, install_guard, bearer_matches

__all__ = ["MAX_BODY_BYTES", "NOTICE_PATH", "ExpiryNotice", "record_expiry", "create_expiry_app"]

NOTICE_PATH = "/notices/expiry"
MAX_BODY_BYTES = 1024 * 1024


def _as_time(value) -> datetime:
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.strip().isdigit()):
        return datetime.fromtimestamp(float(value), tz=timezone.utc)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


class ExpiryNotice(BaseModel):
    """One notice: which credential (by id, or connector + account) and when access ends."""

    credential_id: str | None = None
    connector: str | None = None
    account: str | None = None
    expires_at: datetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _meta_names(cls, data):
        if isinstance(data, dict):
            data = dict(data)
            for name in ("migration_expire_time", "user_access_expire_time"):
                if data.get(name) is not None and data.get("expires_at") is None:
                    data["expires_at"] = data.pop(name)
            if data.get("expires_at") is not None:
                data["expires_at"] = _as_time(data["expires_at"])
        return data

    @model_validator(mode="after")
    def _complete(self):
        if self.expires_at is None:
            raise ValueError("give expires_at (ISO 8601 or Unix seconds) or migration_expire_time")
        if not self.credential_id and not self.account:
            raise ValueError("give credential_id, or account (and optionally connector)")
        return self


def record_expiry(engine, notice: ExpiryNotice) -> list[str]:
    """Store the notice's time as ``grant_expires_at`` on the matching credentials; returns their ids."""
    from flows import events
    from flows.store import Credential, CredentialStatus, utcnow

    with Session(engine) as session:
        query = select(Credential.id).where(Credential.status != CredentialStatus.REVOKED)
        if notice.credential_id:
            query = query.where(col(Credential.id).startswith(notice.credential_id))
        if notice.account:
            query = query.where(Credential.account == notice.account)
        if notice.connector:
            query = query.where(Credential.connector == notice.connector)
        ids = list(session.exec(query).all())
        if ids:
            session.exec(update(Credential).where(col(Credential.id).in_(ids)).values(grant_expires_at=notice.expires_at, updated_at=utcnow()))
            session.commit()
    for credential_id in ids:
        events.emit(events.CREDENTIAL_EXPIRING, events.credential_resource(credential_id), {"expires_at": notice.expires_at.isoformat(), "source": "notice"})
    return ids


def create_expiry_app(engine, secret: str | Callable[[], str], *, limits: InboundLimits | None = None) -> FastAPI:
    """The notice receiver; ``secret`` is the shared bearer secret (or a function returning it)."""
    app = FastAPI(title="ferry expiry notices", docs_url=None, redoc_url=None, openapi_url=None)
    install_guard(app, limits or InboundLimits(max_body_bytes=MAX_BODY_BYTES))
    get_secret = secret if callable(secret) else (lambda: secret)

    @app.post(NOTICE_PATH)
    async def receive(request: Request) -> dict:
        if not bearer_matches(request.headers.get("authorization"), get_secret()):
            raise HTTPException(status_code=401, detail="bad or missing notice secret")
        body = await request.body()  # capped by the guard; parsed only once the secret matched
        try:
            notice = ExpiryNotice.model_validate_json(body)
        except (ValidationError, ValueError) as exc:
            raise HTTPException(status_code=422, detail=str(exc).splitlines()[0][:300]) from None
        ids = await run_in_threadpool(record_expiry, engine, notice)
        if not ids:
            raise HTTPException(status_code=404, detail="no active credential matches the notice")
        return {"updated": ids, "expires_at": notice.expires_at.isoformat()}

    @app.get("/health")
    def health() -> dict:
        return {"ok": True}

    return app
