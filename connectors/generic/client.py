"""HTTP client for one Generic Importer destination: headers, one retry predicate, one pacer.

Every request is ``POST <base>/<suffix>`` with ``Authorization: Bearer``, ``X-DTP-Export-Service``,
``X-DTP-Job-Id`` and, for recurring jobs, ``X-DTP-Recurring-Job-Id`` (SPEC §3.1). Answers are
classified once, in :func:`classify`, and acted on in :meth:`GenericClient.send`:

    ===========================  ===============================================================
    2xx                          success (body ignored)
    401 ``invalid_token``        ``tokens.refresh(rejected)``, resend once; again -> ReauthRequired
    413 ``destination_full``     DestinationFull (the job pauses; resume after freeing space)
    429                          wait ``Retry-After`` (seconds or HTTP date; else back-off) and
                                 resend, at most ``rate_limit_retries`` times -> RetryableItemError
    5xx, network errors          jittered exponential back-off (capped), at most
                                 ``server_retries`` resends -> RetryableItemError
    other >= 400, 1xx, 3xx       ItemError showing ``error``/``error_description``, or the status
                                 and a snippet when the body is not DTP's JSON error shape
    ===========================  ===============================================================

Differences from DTP, all client-side: DTP ignores ``Retry-After`` and retries whole pages; ferry
retries the item in place. The optional ``Idempotency-Key`` header (off by default) is the only
addition to the wire. Tokens never appear in messages or logs.
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

__all__ = ["RetryPolicy", "JobHeaders", "Pacer", "Verdict", "Answer", "classify", "retry_after_seconds", "nodelay_transport", "GenericClient"]

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

    def send(self, suffix: str, body: bytes | MultipartBody, *, job: JobHeaders, item_id: str) -> int:
        """POST one item; return the 2xx status.

        Raises:
            ItemError: refused for good (4xx other than the special cases); shows the answer.
            RetryableItemError: still failing after the retries (5xx, network, 429).
            DestinationFull: 413 ``destination_full``.
            ReauthRequired: the token is rejected even after a refresh, or cannot be refreshed.
        """
        url = self.url(suffix)
        headers = job.as_dict()
        if self.idempotency_keys:
            headers["Idempotency-Key"] = item_id
        refreshed = False
        server_failures = rate_limited = 0
        while True:
            self.pacer.wait_turn()
            token = self.tokens.access_token()
            try:
                status, received, answer_headers = self._post_once(url, token, headers, body)
            except httpx.TransportError as exc:
                server_failures += 1
                reason = f"POST {url} failed: {type(exc).__name__}: {exc}"
                if server_failures > self.policy.server_retries:
                    raise RetryableItemError(item_id, f"{reason} (gave up after {server_failures} attempts)") from None
                self._sleep(self.pacer.backoff(server_failures))
                continue
            answer = classify(status, received)
            if answer.verdict is Verdict.OK:
                return status
            if answer.verdict is Verdict.INVALID_TOKEN:
                if refreshed:
                    raise ReauthRequired(f"POST {url}: the destination still rejects the token after a refresh")
                refreshed = True
                try:
                    self.tokens.refresh(token)
                except RetryableError as exc:
                    raise RetryableItemError(item_id, f"token refresh failed: {exc}") from None
                continue
            if answer.verdict is Verdict.DESTINATION_FULL:
                raise DestinationFull(f"POST {url}: {answer.message}")
            if answer.verdict is Verdict.RATE_LIMITED:
                rate_limited += 1
                if rate_limited > self.policy.rate_limit_retries:
                    raise RetryableItemError(item_id, f"POST {url}: {answer.message} (still rate limited after {rate_limited} attempts)")
                delay = retry_after_seconds(answer_headers.get("retry-after"))
                if delay is None:
                    delay = self.pacer.backoff(rate_limited)
                if delay > self.policy.max_retry_after:
                    raise RetryableItemError(item_id, f"POST {url}: {answer.message} (asked to wait {delay:.0f} s)")
                self.pacer.hold(delay)
                continue
            if answer.verdict is Verdict.SERVER:
                server_failures += 1
                if server_failures > self.policy.server_retries:
                    raise RetryableItemError(item_id, f"POST {url}: {answer.message} (gave up after {server_failures} attempts)")
                self._sleep(self.pacer.backoff(server_failures))
                continue
            raise ItemError(item_id, f"POST {url}: {answer.message}")
