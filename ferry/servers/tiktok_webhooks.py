"""The FastAPI app that receives TikTok webhooks.

Contract with TikTok: answer 200 fast (the hook runs after the response, in a worker thread),
401 for a delivery whose signature or timestamp does not verify, 400 for a body that is not an
event envelope. The signature is checked on the raw bytes before anything parses them: the body
is tried against each configured app secret (constant time, :mod:`connectors.inbound`), and the
envelope's ``client_key`` must then name the app whose secret signed it. Bodies are capped
(:data:`MAX_BODY_BYTES`, 413 by ``Content-Length`` before reading) and requests in flight are
bounded (503 beyond), by :class:`~connectors.inbound.InboundGuard`. Repeated deliveries
(at-least-once, retried for 72 h) are answered 200 and dropped by
:class:`~connectors.tiktok.webhooks.DeliveryDeduper`, checked only after the signature so a
forger cannot mark real events as seen.

Contract with ferry: ``on_ready(wake_key, payload)`` is called once per ``portability.download.ready``
with ``wake_key == str(request_id)``, the same string the TikTok exporter put in
``SourceNotReady.wake_key``, and ``payload = {"event", "request_id", "client_key", "user_openid",
"create_time"}``. The hook must be idempotent (a restart forgets the dedupe memory) and should only
schedule work. ``on_authorization_removed(user_openid, payload)`` is called for
``authorization.removed`` (payload adds TikTok's ``reason`` code).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from fastapi import BackgroundTasks, FastAPI, Request
from fastapi.responses import JSONResponse

from connectors.inbound import InboundLimits, install_guard
from connectors.tiktok.webhooks import (
    AUTHORIZATION_REMOVED,
    DEFAULT_TOLERANCE,
    DOWNLOAD_READY,
    SIGNATURE_HEADER,
    DeliveryDeduper,
    WebhookRejected,
    parse_event,
    verify_signature,
)

__all__ = ["MAX_BODY_BYTES", "WEBHOOK_PATH", "ClientSecrets", "ReadyHook", "create_webhook_app"]

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/tiktok"
#: TikTok's events are a few hundred bytes; anything near this is not TikTok.
MAX_BODY_BYTES = 64 * 1024

ReadyHook = Callable[[str, dict], None]
#: ``{client_key: client_secret}``, or a function returning it (read per request: rotation).
ClientSecrets = Mapping[str, str] | Callable[[], Mapping[str, str]]


def _signer(header: str | None, body: bytes, secrets: Mapping[str, str], *, tolerance: float, now: float | None) -> str:
    """The client_key whose secret signed ``body``; WebhookRejected for none (or a stale stamp)."""
    if not secrets:
        raise WebhookRejected("no TikTok app secret is configured")
    last: WebhookRejected | None = None
    for client_key, secret in secrets.items():
        try:
            verify_signature(header, body, secret, tolerance=tolerance, now=now)
            return client_key
        except WebhookRejected as exc:
            last = exc
    assert last is not None
    raise last


def _run_hook(hook: Callable[[str, dict], None], key: str, payload: dict) -> None:
    try:
        hook(key, payload)
    except Exception:  # the response is gone; polling remains the fallback
        log.exception("webhook hook failed for %s %s", payload.get("event"), key)


def create_webhook_app(
    on_ready: ReadyHook,
    client_secrets: ClientSecrets,
    *,
    on_authorization_removed: ReadyHook | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    deduper: DeliveryDeduper | None = None,
    clock: Callable[[], float] | None = None,
    limits: InboundLimits | None = None,
) -> FastAPI:
    """Build the receiver.

    Args:
        on_ready: called as ``on_ready(str(request_id), payload)`` once per ready event.
        client_secrets: the signing secret of each TikTok app (``client_key``) ferry serves.
        on_authorization_removed: called as ``hook(user_openid, payload)``; optional.
        tolerance: accepted clock difference of the signature timestamp, in seconds.
        deduper: shared memory of deliveries (a fresh one by default).
        clock: current time in epoch seconds (tests); ``time.time`` by default.
        limits: body cap and concurrency bound (default: :data:`MAX_BODY_BYTES`, 16 in flight).
    """
    app = FastAPI(title="ferry webhooks", docs_url=None, redoc_url=None, openapi_url=None)
    install_guard(app, limits or InboundLimits(max_body_bytes=MAX_BODY_BYTES))
    seen = deduper or DeliveryDeduper()
    secrets_now = client_secrets if callable(client_secrets) else (lambda: client_secrets)

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    @app.post(WEBHOOK_PATH)
    async def receive(request: Request, background: BackgroundTasks) -> JSONResponse:
        body = await request.body()  # capped by the guard
        try:
            signer = _signer(request.headers.get(SIGNATURE_HEADER), body, secrets_now(), tolerance=tolerance, now=clock() if clock else None)
        except WebhookRejected as exc:
            return JSONResponse({"error": str(exc)}, status_code=401)
        try:
            event = parse_event(body)
        except WebhookRejected as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        if event.envelope.client_key != signer:
            return JSONResponse({"error": "the delivery names another app than the one whose secret signed it"}, status_code=401)
        if not seen.first_time(event.dedupe_key):
            return JSONResponse({"status": "duplicate"})
        payload = {
            "event": event.event,
            "client_key": event.envelope.client_key,
            "user_openid": event.envelope.user_openid,
            "create_time": event.envelope.create_time,
        }
        if event.event == DOWNLOAD_READY:
            payload["request_id"] = event.request_id
            background.add_task(_run_hook, on_ready, str(event.request_id), payload)
        elif event.event == AUTHORIZATION_REMOVED and on_authorization_removed is not None:
            payload["reason"] = event.payload.get("reason")
            background.add_task(_run_hook, on_authorization_removed, event.envelope.user_openid or "", payload)
        else:
            return JSONResponse({"status": "ignored"})
        return JSONResponse({"status": "accepted"})

    return app
