"""HTTP client for one Generic Importer destination: headers, one retry predicate, one pacer.

Every request is ``POST <base>/<suffix>`` with ``Authorization: Bearer``, ``X-DTP-Export-Service``,
``X-DTP-Job-Id`` and, for recurring jobs, ``X-DTP-Recurring-Job-Id`` (SPEC §3.1). Answers are
classified once, in :func:`classify`, and acted on in :meth:`GenericClient.send`:

    ===========================  ===============================================================
    2xx                          success; ``{"status": "duplicate"}`` means "already had it"
    401 ``invalid_token``        ``tokens.refresh(rejected)``, resend once; again -> ReauthRequired
    413 ``destination_full``     DestinationFull (the job pauses; resume after freeing space)
    429                          RetryableError with ``retry_after`` (seconds or HTTP date); the
                                 pacer holds every request of the client until then
    5xx, network errors          RetryableItemError (the engine retries the item, with back-off)
    other >= 400, 1xx, 3xx       ItemError showing ``error``/``error_description``, or the status
                                 and a snippet when the body is not DTP's JSON error shape
    ===========================  ===============================================================

The client never waits to retry: the engine does (flows.retry), in one place, within a budget.
Additions to the wire, both ignored by DTP destinations: ``X-Ferry-Item-Key`` on every item (so a
destination offering the lookup extension can say after a crash whether it has an item) and the
optional ``Idempotency-Key`` (off by default). Tokens never appear in messages or logs.
"""

from __future__ import annotations

import enum
import json
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from ..retry_after import retry_after_seconds
from ..errors import DestinationFull, ItemError, ReauthRequired, RetryableError, RetryableItemError
from .multipart import MultipartBody

__all__ = ["RetryPolicy", "JobHeaders", "Pacer", "Verdict", "Answer", "Sent", "Lookup", "ITEM_KEY_HEADER", "classify", "retry_after_seconds", "nodelay_transport", "GenericClient"]

_SNIPPET = 200
_MAX_ERROR_BODY = 64 * 1024


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one item before reporting it failed.

    Attributes:
        server_retries: resends after 5xx answers or network errors.
        rate_limit_retries: resends after 429 answers.
        backoff_base: first back-off delay in seconds (doubles each time, jittered).
        backoff_max: cap of one back-off delay.
        max_retry_after: longest ``Retry-After`` honoured; longer -> retryable failure.
        timeout: seconds per network operation (connect, each read, each write).
    """

    server_retries: int = 4
    rate_limit_retries: int = 5
    backoff_base: float = 1.0
    backoff_max: float = 30.0
    max_retry_after: float = 300.0
    timeout: float = 60.0


@dataclass(frozen=True)
class JobHeaders:
    """The per-job ``X-DTP-*`` header values (SPEC §3.1)."""

    export_service: str
    job_id: str
    recurring_id: str | None = None

    def as_dict(self) -> dict[str, str]:
        headers = {"X-DTP-Export-Service": self.export_service, "X-DTP-Job-Id": self.job_id}
        if self.recurring_id:
            headers["X-DTP-Recurring-Job-Id"] = self.recurring_id
        return headers


class Pacer:
    """Shared timing for one destination: back-off delays and a "not before" gate.

    A 429's ``Retry-After`` holds the gate for every later request of the client, not just
    the item that got it (rclone's pacer idea).
    """

    def __init__(self, policy: RetryPolicy, *, sleep: Callable[[float], None] = time.sleep):
        self.policy = policy
        self._sleep = sleep
        self._not_before = 0.0
        self._lock = threading.Lock()

    def backoff(self, attempt: int) -> float:
        """Delay before resend number ``attempt`` (1-based): equal-jitter exponential, capped."""
        delay = min(self.policy.backoff_max, self.policy.backoff_base * (2 ** (attempt - 1)))
        return delay / 2 + random.uniform(0, delay / 2)

    def hold(self, seconds: float) -> None:
        """Let no request start for ``seconds``."""
        with self._lock:
            self._not_before = max(self._not_before, time.monotonic() + max(0.0, seconds))

    def wait_turn(self) -> None:
        """Sleep until the gate opens."""
        with self._lock:
            delay = self._not_before - time.monotonic()
        if delay > 0:
            self._sleep(delay)


class Verdict(enum.StrEnum):
    OK = "ok"
    INVALID_TOKEN = "invalid_token"
    DESTINATION_FULL = "destination_full"
    RATE_LIMITED = "rate_limited"
    SERVER = "server"
    CLIENT = "client"


@dataclass(frozen=True)
class Answer:
    """A classified destination answer; ``message`` is what the user sees for a failure."""

    verdict: Verdict
    status: int
    message: str = ""


def _snippet(body: bytes) -> str:
    text = " ".join(body.decode("utf-8", "replace").split())
    return text[:_SNIPPET] + ("..." if len(text) > _SNIPPET else "")


def classify(status: int, body: bytes) -> Answer:
    """The one retry predicate: what a status and body mean (SPEC §8, plus 429/5xx retries)."""
    if 200 <= status < 300:
        return Answer(Verdict.OK, status)
    error = description = None
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), str):
        error = parsed["error"]
        described = parsed.get("error_description")
        description = described if isinstance(described, str) else None
    if error is not None:
        message = f"Error ({status}) {error}" + (f" - {description}" if description else "")
    elif status >= 400:
        message = f"Unexpected response ({status}) '{_snippet(body)}'"
    else:
        message = f"Unexpected response code ({status})"
    if status == 401 and error == "invalid_token":
        return Answer(Verdict.INVALID_TOKEN, status, message)
    if status == 413 and error == "destination_full":
        return Answer(Verdict.DESTINATION_FULL, status, message)
    if status == 429:
        return Answer(Verdict.RATE_LIMITED, status, message)
    if status >= 500:
        return Answer(Verdict.SERVER, status, message)
    return Answer(Verdict.CLIENT, status, message)


def nodelay_transport() -> httpx.HTTPTransport:
    """An httpx transport with TCP_NODELAY.

    Why: httpx writes the request head and body separately; on a kept-alive connection Nagle's
    algorithm plus the server's delayed ACK would add ~40 ms to every item.
    """
    return httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])


class GenericClient:
    """Sends one item per request to a Generic Importer destination, sequentially.

    Args:
        base_url: the destination's base URL (``https://dest.example/dtp``); a ``/`` is ensured.
        tokens: a :class:`~connectors.auth.TokenSource`; never logged.
        policy: retry limits and timeouts.
        transport: optional httpx transport (tests, proxies).
        idempotency_keys: send ``Idempotency-Key: <item id>`` (ferry extension, off by default).
        sleep: the sleeping function (a test may pass one that records delays).
    """

    def __init__(
        self,
        base_url: str,
        tokens,
        *,
        policy: RetryPolicy = RetryPolicy(),
        transport: httpx.BaseTransport | None = None,
        idempotency_keys: bool = False,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.base_url = base_url.rstrip("/") + "/"
        self.tokens = tokens
        self.policy = policy
        self.idempotency_keys = idempotency_keys
        self.pacer = Pacer(policy, sleep=sleep)
        self._sleep = sleep
        self._http = httpx.Client(
            transport=transport or nodelay_transport(),
            timeout=httpx.Timeout(policy.timeout),
            follow_redirects=False,
            headers={"User-Agent": "ferry-generic-importer/0.1"},
        )

    def url(self, suffix: str) -> str:
        return self.base_url + suffix

    def close(self) -> None:
        self._http.close()

    def _post_once(self, url: str, token: str, headers: dict[str, str], body: bytes | MultipartBody) -> tuple[int, bytes, httpx.Headers]:
        headers = {**headers, "Authorization": f"Bearer {token}"}
        if isinstance(body, MultipartBody):
            headers["Content-Type"] = body.content_type
            headers["Content-Length"] = str(body.content_length)
            content = body
        else:
            headers["Content-Type"] = "application/json"
            content = body
        with self._http.stream("POST", url, content=content, headers=headers) as response:
            # Read the (small) answer, so the connection can carry the next item; a body
            # larger than the bound is cut off and the connection closed.
            received = bytearray()
            for block in response.iter_bytes():
                received += block
                if len(received) >= _MAX_ERROR_BODY:
                    break
            return response.status_code, bytes(received), response.headers

    def send(self, suffix: str, body: bytes | MultipartBody, *, job: JobHeaders, item_id: str, item_key: str | None = None) -> "Sent":
        """POST one item once (after one token refresh on 401); return what the destination said.

        No retries here: the engine retries (flows.retry), honouring Retry-After.

        Raises:
            RetryableError: 429 (``retry_after`` from Retry-After): the whole destination is
                busy, so the engine waits before the next request; the pacer holds every
                request of this client until then.
            RetryableItemError: 5xx or a network error on this item.
            ItemError: refused for good (4xx other than the special cases); shows the answer.
            DestinationFull: 413 ``destination_full``.
            ReauthRequired: the token is rejected even after a refresh, or cannot be refreshed.
        """
        url = self.url(suffix)
        headers = job.as_dict()
        if item_key:
            headers[ITEM_KEY_HEADER] = item_key
        if self.idempotency_keys:
            headers["Idempotency-Key"] = item_key or item_id
        refreshed = False
        while True:
            self.pacer.wait_turn()
            token = self.tokens.access_token()
            try:
                status, received, answer_headers = self._post_once(url, token, headers, body)
            except httpx.TransportError as exc:
                raise RetryableItemError(item_id, f"POST {url} failed: {type(exc).__name__}: {exc}") from None
            answer = classify(status, received)
            if answer.verdict is Verdict.OK:
                return Sent(status, _duplicate(received))
            if answer.verdict is Verdict.INVALID_TOKEN:
                if refreshed:
                    raise ReauthRequired(f"POST {url}: the destination still rejects the token after a refresh")
                refreshed = True
                self.tokens.refresh(token)
                continue
            if answer.verdict is Verdict.DESTINATION_FULL:
                raise DestinationFull(f"POST {url}: {answer.message}")
            if answer.verdict is Verdict.RATE_LIMITED:
                delay = retry_after_seconds(answer_headers.get("retry-after"))
                if delay is not None:
                    self.pacer.hold(delay)
                raise RetryableError(f"POST {url}: {answer.message}", retry_after=delay)
            if answer.verdict is Verdict.SERVER:
                raise RetryableItemError(item_id, f"POST {url}: {answer.message}")
            raise ItemError(item_id, f"POST {url}: {answer.message}")

    def lookup(self, item_key: str) -> "Lookup":
        """Ask the destination whether it holds the item sent with ``item_key`` (ferry extension).

        ``GET <base>/ferry/items/<key>`` answers ``200 {"found": bool, "id": ...}``; any other
        answer means the destination does not offer the extension.
        """
        url = self.url(f"ferry/items/{item_key}")
        refreshed = False
        while True:
            token = self.tokens.access_token()
            try:
                response = self._http.get(url, headers={"Authorization": f"Bearer {token}"})
            except httpx.TransportError as exc:
                raise RetryableError(f"GET {url} failed: {type(exc).__name__}: {exc}") from None
            if response.status_code == 401 and not refreshed:
                refreshed = True
                self.tokens.refresh(token)
                continue
            if response.status_code == 429 or response.status_code >= 500:
                raise RetryableError(f"GET {url}: HTTP {response.status_code}", retry_after=retry_after_seconds(response.headers.get("retry-after")))
            try:
                answer = response.json() if response.status_code == 200 else None
            except ValueError:
                answer = None
            if not isinstance(answer, dict) or not isinstance(answer.get("found"), bool):
                return Lookup(supported=False)
            return Lookup(supported=True, found=answer["found"], destination_id=answer.get("id"))


#: ferry's item key header: lets a destination that offers the lookup extension answer
#: "do you have it?" after a crash. Ignored by DTP destinations.
ITEM_KEY_HEADER = "X-Ferry-Item-Key"


@dataclass(frozen=True)
class Sent:
    status: int
    duplicate: bool = False  # the destination said it already had the item


@dataclass(frozen=True)
class Lookup:
    supported: bool
    found: bool = False
    destination_id: str | None = None


def _duplicate(body: bytes) -> bool:
    """The reference destination (and others) answer ``{"status": "duplicate"}`` to a repeat."""
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        return False
    return isinstance(parsed, dict) and parsed.get("status") == "duplicate"
