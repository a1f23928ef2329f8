"""TikTok webhooks, pure: verify the signature, parse the envelope, remember deliveries.

TikTok signs each delivery with ``TikTok-Signature: t=<unix ts>,s=<hex>``, where ``s`` is
HMAC-SHA256 keyed with the app's ``client_secret`` over ``"<t>.<raw body>"``. A delivery older
(or newer) than ``tolerance`` seconds is refused, so a captured request cannot be replayed later.
Delivery is at-least-once for up to 72 h: :class:`DeliveryDeduper` recognises repeats by
``(event, request_id)`` (``(event, user_openid, create_time)`` for events without a request).

No web framework here: ``ferry.servers.tiktok_webhooks`` wraps these functions in a FastAPI app.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from pydantic import ValidationError

from ..errors import FerryError
from ..inbound import hmac_sha256_hex, signature_matches
from .wire import AUTHORIZATION_REMOVED, DOWNLOAD_READY, WebhookEnvelope

__all__ = [
    "SIGNATURE_HEADER",
    "WebhookRejected",
    "WebhookEvent",
    "sign",
    "signature_header",
    "verify_signature",
    "parse_event",
    "DeliveryDeduper",
    "DOWNLOAD_READY",
    "AUTHORIZATION_REMOVED",
]

SIGNATURE_HEADER = "TikTok-Signature"
DEFAULT_TOLERANCE = 300.0


class WebhookRejected(FerryError):
    """A delivery that must not be acted on (bad or stale signature, unreadable body)."""


def sign(body: bytes, client_secret: str, timestamp: int) -> str:
    """The hex HMAC-SHA256 TikTok puts in ``s=`` for ``body`` sent at ``timestamp``."""
    return hmac_sha256_hex(client_secret, str(timestamp).encode(), b".", body)


def signature_header(body: bytes, client_secret: str, timestamp: int) -> str:
    """The full ``TikTok-Signature`` header value (the fake service and tests use it)."""
    return f"t={timestamp},s={sign(body, client_secret, timestamp)}"


def verify_signature(
    header: str | None,
    body: bytes,
    client_secret: str,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> int:
    """Check a delivery's signature and age; return its timestamp.

    Args:
        header: the ``TikTok-Signature`` header value.
        body: the raw request body, exactly as received.
        client_secret: the app's secret (never put in the error).
        tolerance: allowed clock difference in seconds, either way.
        now: the current time (tests pass a fixed clock).

    Raises:
        WebhookRejected: header missing or malformed, signature wrong, or timestamp too far off.
    """
    if not header:
        raise WebhookRejected(f"missing {SIGNATURE_HEADER} header")
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if sep:
            fields.setdefault(key.strip(), []).append(value.strip())
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        raise WebhookRejected(f"{SIGNATURE_HEADER} header has no valid t=<timestamp>") from None
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise WebhookRejected(f"{SIGNATURE_HEADER} timestamp is {current - timestamp:.0f} s off (tolerance {tolerance:.0f} s)")
    message = (str(timestamp).encode(), b".", body)
    if not any(signature_matches(s, client_secret, *message) for s in fields.get("s", [])):
        raise WebhookRejected(f"{SIGNATURE_HEADER} signature does not match the body")
    return timestamp


@dataclass(frozen=True)
class WebhookEvent:
    """A parsed delivery.

    Attributes:
        envelope: the outer envelope.
        payload: ``content`` parsed as JSON (``{}`` when absent or not an object).
        request_id: ``payload["request_id"]`` for ``portability.download.ready``, else None.
    """

    envelope: WebhookEnvelope
    payload: dict
    request_id: int | None

    @property
    def event(self) -> str:
        return self.envelope.event

    @property
    def dedupe_key(self) -> tuple:
        if self.request_id is not None:
            return (self.event, self.request_id)
        return (self.event, self.envelope.user_openid, self.envelope.create_time, self.envelope.content)


def parse_event(body: bytes) -> WebhookEvent:
    """Parse a delivery body (the signature is checked separately, on the raw bytes).

    Raises:
        WebhookRejected: the body is not the envelope, or a ready event lacks a request id.
    """
    try:
        envelope = WebhookEnvelope.model_validate(json.loads(body))
    except (json.JSONDecodeError, UnicodeDecodeError, ValidationError):
        raise WebhookRejected("webhook body is not a TikTok event envelope") from None
    payload = envelope.payload
    request_id = None
    if envelope.event == DOWNLOAD_READY:
        try:
            request_id = int(payload["request_id"])
        except (KeyError, TypeError, ValueError):
            raise WebhookRejected(f"{DOWNLOAD_READY} event content has no request_id") from None
    return WebhookEvent(envelope=envelope, payload=payload, request_id=request_id)


class DeliveryDeduper:
    """Remembers the last ``capacity`` deliveries; thread-safe.

    In memory only: after a restart a repeat delivery gets through once more, which is harmless
    because waking a transfer that is not waiting does nothing (the hook must be idempotent).
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self._seen: OrderedDict[tuple, None] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def first_time(self, key: tuple) -> bool:
        """Record ``key``; True when it was not seen before."""
        with self._lock:
            if key in self._seen:
                self._seen.move_to_end(key)
                return False
            self._seen[key] = None
            if len(self._seen) > self._capacity:
                self._seen.popitem(last=False)
            return True
