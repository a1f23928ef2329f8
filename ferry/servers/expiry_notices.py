"""Expiry notices over HTTP: Meta's webhook as Meta sends it, and ferry's own simple body.

Providers announce the end of a user's access ahead of time; Meta's data partners receive
``migration_expire_time`` per user (../shared/reference/meta-access-expiry.md). This receiver
records each notice through :func:`flows.expiry.record_notice` (``Credential.grant_expires_at``),
where reminders, the end of access and ``ferry reconnect --expiring-within`` take over. One path,
:data:`NOTICE_PATH`:

* ``GET ?hub.mode=subscribe&hub.verify_token=...&hub.challenge=...`` - Meta's verification
  handshake: 200 with the challenge as the body when the token is the configured one, else 403.
* ``POST`` with ``X-Hub-Signature-256: sha256=<hex>`` - Meta Webhooks: the signature (HMAC-SHA256
  of the raw body with the app secret) is checked on the bytes as received, in constant time,
  before anything parses them (401 otherwise); then the ``entry[].changes[]`` envelope, one or
  many changes, ISO times or Unix seconds (:func:`connectors.meta.webhooks.parse_expiry_changes`).
  Each change names the user by its app-scoped ``user_id``, the ``account`` ferry recorded at login.
* ``POST`` with ``Authorization: Bearer <notice secret>`` - ferry's own body::

      {"credential_id": "3f2a...", "expires_at": "2026-12-31T00:00:00Z"}
      {"connector": "generic", "account": "user-42", "migration_expire_time": 1798675200}

Answers: 200 for every authentic notice, at once (reminders due because of it go out after the
answer), also one naming a user or credential ferry does not know (logged: the provider must not
retry it for ever) and a repeated delivery (idempotent: recording the same time again changes
nothing and emits nothing); 401 for a bad signature or secret; 400 /
422 for a signed body that is not an envelope / notice. Bodies over :data:`MAX_BODY_BYTES` are
refused (413) before they are read, and requests in flight are bounded (503), by
:class:`connectors.inbound.InboundGuard`. Secrets are never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ValidationError, model_validator
from starlette.concurrency import run_in_threadpool

from connectors.inbound import InboundLimits, bearer_matches, install_guard
from connectors.meta.webhooks import SIGNATURE_HEADER, MetaWebhookRejected, handshake_challenge, parse_expiry_changes, verify_signature
from connectors.oauth import parse_time

__all__ = ["MAX_BODY_BYTES", "NOTICE_PATH", "ExpiryNotice", "ExpirySecrets", "create_expiry_app"]

log = logging.getLogger(__name__)

NOTICE_PATH = "/notices/expiry"
MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ExpirySecrets:
    """What authenticates notices: ferry's bearer secret, Meta's app secret and verify token."""

    notice_secret: str | None = None
    app_secret: str | None = None
    verify_token: str | None = None

    def __repr__(self) -> str:
        return "ExpirySecrets(<hidden>)"


class ExpiryNotice(BaseModel):
    """ferry's own notice: which credential (by id, or connector + account) and when access ends."""

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
                data["expires_at"] = parse_time(data["expires_at"], "expires_at")
        return data

    @property
    def ends_at(self) -> datetime:
        """When access ends (always set once validated)."""
        if self.expires_at is None:
            raise ValueError("give expires_at (ISO 8601 or Unix seconds) or migration_expire_time")
        return self.expires_at

    @model_validator(mode="after")
    def _complete(self):
        if self.expires_at is None:
            raise ValueError("give expires_at (ISO 8601 or Unix seconds) or migration_expire_time")
        if not self.credential_id and not self.account:
            raise ValueError("give credential_id, or account (and optionally connector)")
        return self


class _Reminders:
    """One daemon thread sending the reminders notices made due, in arrival order.

    Bounded: past :attr:`LIMIT` waiting batches a batch is dropped with a warning; nothing is
    lost for good, because a reminder is recorded only once sent and the daily maintenance flow
    sends what is due.
    """

    LIMIT = 10_000

    def __init__(self, send: Callable[[list[str]], object]):
        import contextvars
        import queue
        import threading

        self._send = send
        self._queue: queue.Queue[list[str]] = queue.Queue(self.LIMIT)
        # the thread sees the context the app was built in (Prefect keeps its settings in one)
        context = contextvars.copy_context()
        self._thread = threading.Thread(target=context.run, args=(self._run,), name="ferry-expiry-reminders", daemon=True)
        self._started = False
        self._lock = threading.Lock()

    def put(self, credential_ids: list[str]) -> None:
        import queue

        with self._lock:
            if not self._started:
                self._thread.start()
                self._started = True
        try:
            self._queue.put_nowait(credential_ids)
        except queue.Full:
            log.warning("too many reminders waiting; %d left to the maintenance flow", len(credential_ids))

    def join(self) -> None:
        """Wait until every queued reminder was handled (tests)."""
        self._queue.join()

    def _run(self) -> None:
        while True:
            ids = self._queue.get()
            try:
                self._send(ids)
            except Exception:  # the answer is gone; maintenance sends what is still due
                log.exception("sending expiry reminders failed")
            finally:
                self._queue.task_done()


def _first_error(exc: ValidationError) -> str:
    """One line naming the field: ``expires_at: 'soon' is neither ISO 8601 nor Unix seconds``."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    return (f"{where}: {message}" if where else message)[:300]


def _secrets(value: ExpirySecrets | str | Callable[[], ExpirySecrets | str]) -> Callable[[], ExpirySecrets]:
    """Read per request (rotation); a plain string is ferry's notice secret."""
    def current() -> ExpirySecrets:
        found = value() if callable(value) else value
        return ExpirySecrets(notice_secret=found) if isinstance(found, str) else found

    return current


def create_expiry_app(
    engine,
    secrets: ExpirySecrets | str | Callable[[], ExpirySecrets | str],
    *,
    connector: str | None = None,
    limits: InboundLimits | None = None,
    clock: Callable[[], object] | None = None,
) -> FastAPI:
    """The notice receiver over the job store at ``engine``.

    Args:
        secrets: :class:`ExpirySecrets` (or ferry's notice secret alone), or a function returning
            them, read per request.
        connector: match Meta's ``user_id`` only against credentials of this connector.
        limits: body cap and concurrency bound (default: :data:`MAX_BODY_BYTES`, 16 in flight).
        clock: the current time (aware UTC) for reminders; tests inject one.
    """
    from flows.expiry import record_notice, remind_all
    from flows.store.credential_rows import CredentialRows

    rows = CredentialRows(engine)
    app = FastAPI(title="ferry expiry notices", docs_url=None, redoc_url=None, openapi_url=None)
    install_guard(app, limits or InboundLimits(max_body_bytes=MAX_BODY_BYTES))
    current = _secrets(secrets)

    def now():
        return clock() if clock else None

    reminders = _Reminders(lambda ids: remind_all(rows, ids, now=now()))
    app.state.reminders = reminders

    def remind_later(answer: dict) -> dict:
        """Reminders (a Prefect event each) go out after the answer, on one worker thread: the
        sender waits for nothing, and no request slot of the guard is held while they are sent."""
        if answer["updated"]:
            reminders.put(list(answer["updated"]))
        return answer

    def record_changes(changes) -> dict:
        updated: list[str] = []
        unchanged: list[str] = []
        unknown: list[str] = []
        for change in changes:
            result = record_notice(rows, change.expires_at, account=change.user_id, connector=connector, now=now(), remind_days=None)
            updated += result.updated
            unchanged += result.unchanged
            if not result.matched:
                unknown.append(change.user_id)
                log.warning("expiry notice %s names user %r, whom no live credential belongs to; ignored", change.where, change.user_id)
        return {"updated": updated, "unchanged": unchanged, "unknown_users": unknown}

    def record_own(notice: ExpiryNotice) -> dict:
        result = record_notice(
            rows, notice.ends_at, account=notice.account, credential_id=notice.credential_id, connector=notice.connector, now=now(), remind_days=None
        )
        if not result.matched:
            log.warning("expiry notice for %r matches no live credential; ignored", notice.credential_id or f"account {notice.account}")
        return {"updated": list(result.updated), "unchanged": list(result.unchanged), "expires_at": notice.ends_at.isoformat()}

    @app.get(NOTICE_PATH)
    def handshake(request: Request):
        challenge = handshake_challenge(dict(request.query_params), current().verify_token)
        if challenge is None:
            return JSONResponse({"error": "not a subscription handshake with the configured verify token"}, status_code=403)
        return PlainTextResponse(challenge)

    @app.post(NOTICE_PATH)
    async def receive(request: Request):
        keys = current()
        signature = request.headers.get(SIGNATURE_HEADER)
        body = await request.body()  # capped by the guard; parsed only once authenticated
        if signature is not None:
            if not keys.app_secret:
                return JSONResponse({"error": "Meta webhooks are not configured here (no app secret)"}, status_code=401)
            try:
                verify_signature(signature, body, keys.app_secret)
            except MetaWebhookRejected as exc:
                return JSONResponse({"error": str(exc)}, status_code=401)
            try:
                changes, skipped = parse_expiry_changes(body)
            except MetaWebhookRejected as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            for line in skipped:
                log.info("expiry notice: skipped %r", line)
            answer = await run_in_threadpool(record_changes, changes)
            return remind_later({**answer, "skipped": skipped})
        if not bearer_matches(request.headers.get("authorization"), keys.notice_secret):
            return JSONResponse({"error": "bad or missing notice secret or signature"}, status_code=401)
        try:
            notice = ExpiryNotice.model_validate_json(body)
        except ValidationError as exc:
            return JSONResponse({"error": _first_error(exc)}, status_code=422)
        return remind_later(await run_in_threadpool(record_own, notice))

    @app.get("/health")
    def health() -> dict:
        return {"ok": True}

    return app
