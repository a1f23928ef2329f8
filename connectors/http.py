"""The one HTTP layer of ferry's connectors: client set-up, refresh-once auth, a shared pacer, error tables.

An HTTP connector builds one :class:`HttpSession` per remote service (per destination, per
exporter) and fills in one :class:`ErrorTable`; everything else is here, once:

* **Client set-up** (:class:`HttpSettings`, :func:`nodelay_transport`): one keep-alive connection
  pool per session, TCP_NODELAY (httpx writes a request's head and body separately; with Nagle's
  algorithm and the server's delayed ACK every kept-alive request would cost ~40 ms), explicit
  timeouts, no redirects unless asked.
* **Refresh once on 401** (:class:`RefreshOnce`, an ``httpx.Auth``): every request carries
  ``Authorization: Bearer <tokens.access_token()>``; an answer the table calls a token rejection
  (:attr:`ErrorTable.rejects_token`, e.g. ``401 invalid_token``) makes the flow call
  ``tokens.refresh(rejected)`` once and resend the same request. A second rejection is returned
  to the connector, whose table classifies it as REAUTH. Request bodies must therefore be
  re-iterable (bytes, or an iterable object that restarts, like the Generic Importer's multipart
  body); a 401 answer's body is read (it is small) to find the error code.
* **One pacer per session** (:class:`Pacer`, applied by :class:`PacedTransport` to every request
  the session sends, on every thread): an answer 429, or 503 with ``Retry-After`` (seconds or an
  HTTP date), holds the gate until then, so requests in flight on other threads and the next
  ones all wait instead of hammering a throttling server. The clock is injected.
* **Classification** (:class:`ErrorTable`): status and service error code -> :class:`Action`,
  first matching :class:`Rule` wins; :meth:`ErrorTable.error` turns the action into the
  exception the engine acts on::

      Action.OK          success
      Action.RETRY_CALL  RetryableError(retry_after=Retry-After, else the table's default):
                         the whole call; the engine waits (never less than retry_after), retries
      Action.RETRY_ITEM  RetryableItemError(item): this item, later (5xx, network errors)
      Action.ITEM        ItemError(item): refused for good; recorded, the page goes on
                         (FatalError for a call that is not about one item)
      Action.FULL        DestinationFull: the job pauses, resumable
      Action.REAUTH      ReauthRequired: the credential is dead (also: still rejected after
                         the one refresh)
      Action.FATAL       FatalError: the job stops, resumable

**This layer never waits to retry and never loops**, except the one resend after a refresh: the
engine retries (``flows/retry.py``, one policy, one budget). Tokens never appear in messages,
reprs or logs. See docs/writing-a-connector.md ("HTTP connectors").
"""

from __future__ import annotations

import enum
import json
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import httpx

from .auth import TokenSource
from .errors import (
    DestinationFull,
    FatalError,
    FerryError,
    ItemError,
    ReauthRequired,
    RetryableError,
    RetryableItemError,
)
from .retry_after import retry_after_seconds

__all__ = [
    "Action",
    "Rule",
    "ErrorTable",
    "HttpSettings",
    "Clock",
    "Pacer",
    "PacedTransport",
    "RefreshOnce",
    "HttpSession",
    "nodelay_transport",
    "json_error_code",
    "read_bounded",
]

#: The most of an answer's body a connector reads to classify it (error bodies are small).
MAX_ANSWER_BYTES = 64 * 1024


class Action(enum.StrEnum):
    """What an answer means for the caller (see the module docstring)."""

    OK = "ok"
    RETRY_CALL = "retry-call"
    RETRY_ITEM = "retry-item"
    ITEM = "item"
    FULL = "full"
    REAUTH = "reauth"
    FATAL = "fatal"


@dataclass(frozen=True)
class Rule:
    """One row of a classification table.

    Attributes:
        action: what a matching answer means.
        status: an exact status, an inclusive ``(low, high)`` range, or None for any status.
        code: the service's error code (from the body, :attr:`ErrorTable.code_of`), or None for any.
        note: said to the user after the answer (``"authorize again"``).
    """

    action: Action
    status: int | tuple[int, int] | None = None
    code: str | None = None
    note: str = ""

    def matches(self, status: int, code: str | None) -> bool:
        if isinstance(self.status, int) and status != self.status:
            return False
        if isinstance(self.status, tuple) and not self.status[0] <= status <= self.status[1]:
            return False
        return self.code is None or self.code == code


def json_error_code(body: bytes) -> str | None:
    """The ``error`` string of an OAuth/DTP-style JSON error body, or None."""
    try:
        document = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        return None
    error = document.get("error") if isinstance(document, dict) else None
    return error if isinstance(error, str) else None


@dataclass(frozen=True)
class ErrorTable:
    """A connector's declared classification of answers: first matching rule wins.

    Attributes:
        service: named in messages (``"TikTok"``, ``"Generic Importer"``).
        rules: the table, in order.
        otherwise: the action for an answer no rule matches.
        network: the action for a transport error (connection refused or reset, timeout).
        rejects_token: ``(status, code)`` of an answer meaning "this access token is not valid"
            (code None: any); :class:`RefreshOnce` refreshes once on it, and such an answer
            after the refresh is REAUTH unless a rule says otherwise.
        code_of: reads the service's error code from a (bounded) answer body.
        default_retry_after: seconds to wait on RETRY_CALL when the answer has no Retry-After.
    """

    service: str
    rules: tuple[Rule, ...]
    otherwise: Action = Action.ITEM
    network: Action = Action.RETRY_ITEM
    rejects_token: tuple[int, str | None] = (401, None)
    code_of: Callable[[bytes], str | None] = json_error_code
    default_retry_after: float | None = None

    def is_token_rejection(self, status: int, code: str | None) -> bool:
        want_status, want_code = self.rejects_token
        return status == want_status and (want_code is None or want_code == code)

    def rule_for(self, status: int, code: str | None) -> Rule:
        for rule in self.rules:
            if rule.matches(status, code):
                return rule
        if self.is_token_rejection(status, code):
            return Rule(Action.REAUTH, note="the token is still rejected after a refresh; authorize again")
        return Rule(self.otherwise)

    def classify(self, status: int, code: str | None) -> Action:
        return self.rule_for(status, code).action

    def error(self, action: Action, message: str, *, item_id: str | None = None, retry_after: float | None = None) -> FerryError:
        """The exception for ``action`` (never OK); ``message`` names the call, never a token."""
        if action is Action.RETRY_CALL:
            return RetryableError(message, retry_after=retry_after if retry_after is not None else self.default_retry_after)
        if action is Action.RETRY_ITEM:
            return RetryableItemError(item_id, message) if item_id else RetryableError(message)
        if action is Action.ITEM:
            return ItemError(item_id, message) if item_id else FatalError(message)
        if action is Action.FULL:
            return DestinationFull(message)
        if action is Action.REAUTH:
            return ReauthRequired(message)
        if action is Action.FATAL:
            return FatalError(message)
        raise ValueError("Action.OK is not an error")

    def answer_error(self, status: int, body: bytes, headers: Mapping[str, str], what: str, *, item_id: str | None = None, detail: str = "") -> FerryError | None:
        """Classify one answer; None when it is a success, else the exception to raise.

        ``what`` names the call (``"POST https://dest/dtp/media"``); ``detail`` is the service's
        own description of the error (shown after the status).
        """
        code = self.code_of(body)
        rule = self.rule_for(status, code)
        if rule.action is Action.OK:
            return None
        message = f"{what}: {detail or f'HTTP {status}' + (f' {code}' if code else '')}"
        if rule.note:
            message += f"; {rule.note}"
        return self.error(rule.action, message, item_id=item_id, retry_after=retry_after_seconds(headers.get("retry-after")))

    def network_error(self, exc: httpx.TransportError, what: str, *, item_id: str | None = None) -> FerryError:
        """The exception for a transport failure (names the call and the error type, no URL secrets)."""
        return self.error(self.network, f"{what} failed: {type(exc).__name__}: {exc}", item_id=item_id)


@dataclass(frozen=True)
class HttpSettings:
    """How one session talks to its service (keyword values with named defaults).

    Attributes:
        timeout: seconds per network operation (connect, each read, each write); a large
            upload may take longer in total.
        connections: connections the pool keeps alive (and at most opens): at least the
            number of requests a connector sends at once.
        keepalive_expiry: seconds an idle connection is kept.
        user_agent: the ``User-Agent`` header.
        follow_redirects: follow 3xx (off for APIs: a redirect is an answer to classify).
    """

    timeout: float = 60.0
    connections: int = 8
    keepalive_expiry: float = 30.0
    user_agent: str = "ferry/0.1"
    follow_redirects: bool = False


def nodelay_transport(settings: HttpSettings = HttpSettings()) -> httpx.HTTPTransport:
    """An httpx transport with TCP_NODELAY and a keep-alive pool sized by ``settings``."""
    limits = httpx.Limits(
        max_connections=settings.connections,
        max_keepalive_connections=settings.connections,
        keepalive_expiry=settings.keepalive_expiry,
    )
    return httpx.HTTPTransport(limits=limits, socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])


class Clock(Protocol):
    """``flows.retry.SystemClock`` has this shape; tests pass a fake one."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> object: ...


class _RealClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))


class Pacer:
    """A "not before" gate shared by every request of one session (rclone's pacer idea).

    :meth:`hold` moves the gate forward (never back); :meth:`wait_turn` sleeps until it opens.
    Thread-safe: a 429 seen on one thread holds the requests of all the others.
    """

    def __init__(self, clock: Clock | None = None):
        self.clock = clock or _RealClock()
        self._not_before = 0.0
        self._lock = threading.Lock()
        self.holds: list[float] = []  # seconds of each hold, in order (logs, tests)

    def hold(self, seconds: float) -> None:
        """Let no request of this session start for ``seconds`` from now."""
        with self._lock:
            self.holds.append(seconds)
            self._not_before = max(self._not_before, self.clock.monotonic() + max(0.0, seconds))

    def delay(self) -> float:
        """Seconds until the gate opens (0 when open)."""
        with self._lock:
            return max(0.0, self._not_before - self.clock.monotonic())

    def wait_turn(self) -> None:
        """Sleep until the gate opens (again, if a hold came in while sleeping).

        A clock whose ``sleep`` returns False was woken by a stop request (``SystemClock``):
        the request goes ahead and the caller notices the stop.
        """
        while (delay := self.delay()) > 0:
            if self.clock.sleep(delay) is False:
                return


#: Answers whose Retry-After holds the pacer (RFC 9110: 429 Too Many Requests, 503 Unavailable).
PACED_STATUSES = frozenset({429, 503})


class PacedTransport(httpx.BaseTransport):
    """Waits for the pacer before each request; a 429/503 with Retry-After holds it."""

    def __init__(self, inner: httpx.BaseTransport, pacer: Pacer):
        self.inner = inner
        self.pacer = pacer

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.pacer.wait_turn()
        response = self.inner.handle_request(request)
        if response.status_code in PACED_STATUSES:
            seconds = retry_after_seconds(response.headers.get("retry-after"))
            if seconds is not None:
                self.pacer.hold(seconds)
        return response

    def close(self) -> None:
        self.inner.close()


class RefreshOnce(httpx.Auth):
    """Bearer auth that refreshes once when the answer rejects the token, then resends.

    Args:
        tokens: the credential's :class:`~connectors.auth.TokenSource`; its exceptions
            (ReauthRequired, RetryableError) come out of the request unchanged.
        table: says which answers reject the token (:attr:`ErrorTable.rejects_token`).

    Concurrent requests that are rejected together refresh once: a request whose rejected
    token is no longer the current one just resends with the current one.
    """

    def __init__(self, tokens: TokenSource, table: ErrorTable):
        self.tokens = tokens
        self.table = table
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "RefreshOnce(<tokens hidden>)"

    def auth_flow(self, request: httpx.Request):
        token = self.tokens.access_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        status = response.status_code
        if status != self.table.rejects_token[0]:
            return
        response.read()
        if not self.table.is_token_rejection(status, self.table.code_of(response.content[:MAX_ANSWER_BYTES])):
            return
        with self._lock:
            current = self.tokens.access_token()
            fresh = current if current != token else self.tokens.refresh(token)
        request.headers["Authorization"] = f"Bearer {fresh}"
        yield request


def read_bounded(response: httpx.Response, limit: int = MAX_ANSWER_BYTES) -> bytes:
    """Up to ``limit`` bytes of a streamed answer (an answer cut off leaves its connection closed)."""
    received = bytearray()
    for block in response.iter_bytes():
        received += block
        if len(received) >= limit:
            break
    return bytes(received[:limit])


class HttpSession:
    """One service's client: keep-alive pool, TCP_NODELAY, pacer, refresh-once bearer auth.

    Args:
        table: the connector's :class:`ErrorTable`.
        tokens: a TokenSource (None: no ``Authorization`` header, e.g. pre-signed links).
        settings: timeouts and pool size.
        base_url: prefix of relative request URLs.
        headers: sent with every request (job headers, ``Accept``).
        transport: replaces the TCP_NODELAY transport (tests, proxies); still paced.
        clock: the pacer's clock (tests inject a fake one).

    ``session.http`` is the ``httpx.Client``; send with it, then classify with
    :meth:`ErrorTable.answer_error`. Thread-safe, like httpx's client.
    """

    def __init__(
        self,
        table: ErrorTable,
        *,
        tokens: TokenSource | None = None,
        settings: HttpSettings = HttpSettings(),
        base_url: str = "",
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Clock | None = None,
    ):
        self.table = table
        self.settings = settings
        self.base_url = base_url
        self.pacer = Pacer(clock)
        self.http = httpx.Client(
            base_url=base_url,
            auth=RefreshOnce(tokens, table) if tokens is not None else None,
            transport=PacedTransport(transport or nodelay_transport(settings), self.pacer),
            timeout=httpx.Timeout(settings.timeout),
            follow_redirects=settings.follow_redirects,
            headers={"User-Agent": settings.user_agent, **dict(headers or {})},
        )

    def __repr__(self) -> str:
        return f"HttpSession({self.table.service}, {self.base_url or 'no base URL'})"

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> HttpSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
