"""Guards for everything ferry receives over HTTP: bounded bodies, bounded concurrency, constant-time secrets.

Why one module: ferry runs four receivers (the TikTok webhook, the expiry-notice / Meta webhook,
the ``ferry auth login`` loopback and the reference destination) and each must refuse the same
hostile inputs the same way. Before this module a receiver read a 50 MB body into memory and
parsed it before looking at its signature (four such requests at once: 514 MB RSS).

The rules, applied by :class:`InboundGuard` (ASGI middleware) and :class:`ConcurrencyGate`
(for stdlib ``http.server`` receivers):

* **Size, before reading.** A ``Content-Length`` over the cap is answered ``413`` at once, with
  ``Connection: close``, so the body is never read (uvicorn closes instead of draining it).
* **Size, while reading.** A chunked body (or one that outgrows its header) is counted as it
  arrives; the chunk that crosses the cap raises :class:`BodyTooLarge` inside the app, and the
  guard answers ``413`` (the rest of the body is left unread).
* **Concurrency.** At most ``max_concurrent`` requests are in flight; one more is answered ``503``
  with ``Retry-After`` without reading its body.
* **Signatures on raw bytes, secrets in constant time.** :func:`hmac_sha256_hex`,
  :func:`signature_matches`, :func:`secrets_equal` and :func:`bearer_matches` are the only
  comparisons of secret material receivers use (all ``hmac.compare_digest``); a signature is
  checked on the exact bytes received, before anything parses them.

Pure Python (no web framework import): the ASGI middleware speaks the raw ASGI protocol, so
``connectors/`` stays a framework-free SDK and the loopback receiver (stdlib) shares the rules.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import FerryError

__all__ = [
    "BodyTooLarge",
    "ConcurrencyGate",
    "InboundGuard",
    "InboundLimits",
    "bearer_matches",
    "content_length",
    "hmac_sha256_hex",
    "install_guard",
    "secrets_equal",
    "signature_matches",
]

#: A receiver of small JSON messages (webhooks, notices) accepts at most this many bytes.
DEFAULT_MAX_BODY = 1024 * 1024
#: Requests in flight per receiver before the next one is answered 503.
DEFAULT_MAX_CONCURRENT = 16


class BodyTooLarge(FerryError):
    """A request body is (or announces to be) larger than the receiver accepts."""

    def __init__(self, limit: int, announced: int | None = None):
        what = f"announces {announced} bytes" if announced is not None else "is larger"
        super().__init__(f"request body {what}; this receiver accepts at most {limit} bytes")
        self.limit = limit


# -- secrets ------------------------------------------------------------------------------------


def _bytes(value: str | bytes | None) -> bytes:
    if value is None:
        return b""
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def secrets_equal(given: str | bytes | None, expected: str | bytes | None) -> bool:
    """Constant-time equality; an empty or missing ``expected`` never matches."""
    expected_b = _bytes(expected)
    return bool(expected_b) and hmac.compare_digest(_bytes(given), expected_b)


def hmac_sha256_hex(key: str | bytes, *parts: bytes) -> str:
    """Hex HMAC-SHA256 of the concatenated ``parts`` (the raw bytes as received)."""
    mac = hmac.new(_bytes(key), digestmod=hashlib.sha256)
    for part in parts:
        mac.update(part)
    return mac.hexdigest()


def signature_matches(given_hex: str | None, key: str | bytes, *parts: bytes) -> bool:
    """True when ``given_hex`` is the HMAC-SHA256 of ``parts`` under ``key`` (constant time)."""
    if not given_hex or not key:
        return False
    return hmac.compare_digest(hmac_sha256_hex(key, *parts).encode(), given_hex.strip().lower().encode("utf-8", "replace"))


def bearer_matches(authorization: str | None, secret: str | None) -> bool:
    """True when an ``Authorization: Bearer <secret>`` header carries ``secret`` (constant time)."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    return scheme.lower() == "bearer" and secrets_equal(token.strip(), secret)


def content_length(value: str | bytes | None) -> int | None:
    """The announced body size, or None when absent or not a plain non-negative integer."""
    text = _bytes(value).strip()
    return int(text) if text.isdigit() else None


# -- concurrency --------------------------------------------------------------------------------


class ConcurrencyGate:
    """At most ``limit`` holders at once; :meth:`try_enter` never blocks (thread- and task-safe).

    Use ``if gate.try_enter(): try: ... finally: gate.leave()`` or ``with gate.slot() as ok:``.
    """

    def __init__(self, limit: int = DEFAULT_MAX_CONCURRENT):
        if limit < 1:
            raise ValueError("a concurrency limit must be at least 1")
        self.limit = limit
        self._in_flight = 0
        self._peak = 0
        self._refused = 0
        self._lock = threading.Lock()

    def try_enter(self) -> bool:
        with self._lock:
            if self._in_flight >= self.limit:
                self._refused += 1
                return False
            self._in_flight += 1
            self._peak = max(self._peak, self._in_flight)
            return True

    def leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def peak(self) -> int:
        """The most requests ever in flight at once (tests assert the bound held)."""
        return self._peak

    @property
    def refused(self) -> int:
        return self._refused


# -- the ASGI middleware ------------------------------------------------------------------------

Scope = Mapping[str, Any]
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]
#: ``(path, content_type) -> cap in bytes``: per-route caps (an upload route takes more than JSON).
CapFor = Callable[[str, str], int]


@dataclass(frozen=True)
class InboundLimits:
    """How much a receiver takes.

    Attributes:
        max_body_bytes: the body cap, or a function ``(path, content_type) -> cap``.
        max_concurrent: requests in flight before the next one gets 503.
        retry_after: seconds announced in the 503's ``Retry-After``.
    """

    max_body_bytes: int | CapFor = DEFAULT_MAX_BODY
    max_concurrent: int = DEFAULT_MAX_CONCURRENT
    retry_after: int = 1

    def cap_for(self, path: str, content_type: str) -> int:
        cap = self.max_body_bytes
        return cap(path, content_type) if callable(cap) else cap


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return value
    return None


async def _refuse(send: Send, status: int, error: str, description: str, headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps({"error": error, "error_description": description}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),  # the unread body is never drained: the connection ends
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class InboundGuard:
    """ASGI middleware applying :class:`InboundLimits` to every HTTP request (see the module docstring).

    ``app.add_middleware(InboundGuard, limits=...)`` in Starlette/FastAPI, or wrap any ASGI app.
    ``guard.gate`` exposes the concurrency counters.
    """

    def __init__(self, app, limits: InboundLimits | None = None, gate: ConcurrencyGate | None = None):
        self.app = app
        self.limits = limits or InboundLimits()
        self.gate = gate or ConcurrencyGate(self.limits.max_concurrent)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        content_type = (_header(scope, b"content-type") or b"").decode("latin-1")
        cap = self.limits.cap_for(scope.get("path", "/"), content_type)
        announced = content_length(_header(scope, b"content-length"))
        if announced is not None and announced > cap:
            await _refuse(send, 413, "payload_too_large", str(BodyTooLarge(cap, announced)))
            return
        if not self.gate.try_enter():
            retry = str(self.limits.retry_after).encode()
            await _refuse(send, 503, "busy", "too many requests in flight; retry shortly", [(b"retry-after", retry)])
            return
        started = False
        received = 0

        async def counted_receive() -> dict:
            nonlocal received
            message = await receive()
            if message.get("type") == "http.request":
                received += len(message.get("body") or b"")
                if received > cap:
                    raise BodyTooLarge(cap)
            return message

        async def tracked_send(message: dict) -> None:
            nonlocal started
            if message.get("type") == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge as exc:
            if not started:
                await _refuse(send, 413, "payload_too_large", str(exc))
        finally:
            self.gate.leave()


def install_guard(app, limits: InboundLimits | None = None) -> ConcurrencyGate:
    """Add :class:`InboundGuard` to a Starlette/FastAPI ``app``; its gate is also ``app.state.inbound_gate``."""
    limits = limits or InboundLimits()
    gate = ConcurrencyGate(limits.max_concurrent)
    app.add_middleware(InboundGuard, limits=limits, gate=gate)
    app.state.inbound_gate = gate
    return gate
