"""HTTP client for one Generic Importer destination: its headers and its classification table.

Every item is ``POST <base>/<suffix>`` with ``Authorization: Bearer``, ``X-DTP-Export-Service``,
``X-DTP-Job-Id`` and, for recurring jobs, ``X-DTP-Recurring-Job-Id`` (SPEC §3.1). Set-up,
refresh-once auth and the pacer are :mod:`connectors.http`'s; this module declares what the
answers mean (:data:`TABLE`, SPEC §8 plus 429/5xx)::

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
Thread-safe: the importer sends several items at once over the session's one keep-alive pool.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx

from ..auth import TokenSource
from ..errors import RetryableError
from ..http import Action, Clock, ErrorTable, HttpSession, HttpSettings, Rule, json_error_code, read_bounded
from .multipart import MultipartBody

__all__ = ["TABLE", "JobHeaders", "Sent", "Lookup", "ITEM_KEY_HEADER", "describe", "GenericClient"]

_SNIPPET = 200

#: What a Generic Importer destination's answers mean (first match wins).
TABLE = ErrorTable(
    service="Generic Importer",
    rules=(
        Rule(Action.OK, (200, 299)),
        Rule(Action.FULL, 413, "destination_full"),
        Rule(Action.RETRY_CALL, 429),
        Rule(Action.RETRY_ITEM, (500, 599)),
    ),
    otherwise=Action.ITEM,
    network=Action.RETRY_ITEM,
    rejects_token=(401, "invalid_token"),
)

#: ferry's item key header: lets a destination that offers the lookup extension answer
#: "do you have it?" after a crash. Ignored by DTP destinations.
ITEM_KEY_HEADER = "X-Ferry-Item-Key"


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


@dataclass(frozen=True)
class Sent:
    status: int
    duplicate: bool = False  # the destination said it already had the item


@dataclass(frozen=True)
class Lookup:
    """A destination's answer to the lookup extension (``supported`` False: it does not offer it)."""

    supported: bool
    found: bool = False
    destination_id: str | None = None
    size: int | None = None  # the stored bytes (asked with ``check``), for items that carry bytes
    sha256: str | None = None


def _snippet(body: bytes) -> str:
    text = " ".join(body.decode("utf-8", "replace").split())
    return text[:_SNIPPET] + ("..." if len(text) > _SNIPPET else "")


def describe(status: int, body: bytes) -> str:
    """DTP's own wording of a failed answer (SPEC §8), shown to the user."""
    error = json_error_code(body)
    if error is not None:
        described = json.loads(body).get("error_description")
        return f"Error ({status}) {error}" + (f" - {described}" if isinstance(described, str) and described else "")
    if status >= 400:
        return f"Unexpected response ({status}) '{_snippet(body)}'"
    return f"Unexpected response code ({status})"


class GenericClient:
    """Sends one item per request to a Generic Importer destination.

    Args:
        base_url: the destination's base URL (``https://dest.example/dtp``); a ``/`` is ensured.
        tokens: a :class:`~connectors.auth.TokenSource`; never logged.
        settings: timeouts and the keep-alive pool size (at least the importer's concurrency).
        transport: optional httpx transport (tests, proxies); still paced.
        idempotency_keys: send ``Idempotency-Key: <item key>`` (ferry extension, off by default).
        clock: the pacer's clock (a test passes one that records the waits).
    """

    def __init__(
        self,
        base_url: str,
        tokens: TokenSource,
        *,
        settings: HttpSettings = HttpSettings(user_agent="ferry-generic-importer/0.1"),
        transport: httpx.BaseTransport | None = None,
        idempotency_keys: bool = False,
        clock: Clock | None = None,
    ):
        self.base_url = base_url.rstrip("/") + "/"
        self.settings = settings
        self.idempotency_keys = idempotency_keys
        self.session = HttpSession(TABLE, tokens=tokens, settings=settings, transport=transport, clock=clock)
        self.pacer = self.session.pacer

    def url(self, suffix: str) -> str:
        return self.base_url + suffix

    def close(self) -> None:
        self.session.close()

    def send(self, suffix: str, body: bytes | MultipartBody, *, job: JobHeaders, item_id: str, item_key: str | None = None) -> Sent:
        """POST one item once (resent once after a token refresh); return what the destination said.

        Raises (from :data:`TABLE`):
            RetryableError: 429 (``retry_after`` from Retry-After): the whole destination is
                busy; the pacer holds every request of this client until then.
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
        if isinstance(body, MultipartBody):
            headers["Content-Type"] = body.content_type
            headers["Content-Length"] = str(body.content_length)
        else:
            headers["Content-Type"] = "application/json"
        what = f"POST {url}"
        try:
            with self.session.http.stream("POST", url, content=body, headers=headers) as response:
                # Read the (small) answer, so the connection can carry the next item; a body
                # larger than the bound is cut off and the connection closed.
                status, received, answer_headers = response.status_code, read_bounded(response), response.headers
        except httpx.TransportError as exc:
            raise TABLE.network_error(exc, what, item_id=item_id) from None
        error = TABLE.answer_error(status, received, answer_headers, what, item_id=item_id, detail=describe(status, received))
        if error is not None:
            raise error
        return Sent(status, _duplicate(received))

    def lookup(self, item_key: str, *, check: bool = False) -> Lookup:
        """Ask the destination whether it holds the item sent with ``item_key`` (ferry extension).

        ``GET <base>/ferry/items/<key>`` answers ``200 {"found": bool, "id": ...}``; any other
        answer means the destination does not offer the extension. With ``check`` (``?check=true``)
        it also gives the stored bytes' ``size`` and ``sha256`` when it knows them.

        Raises:
            RetryableError: 429, 5xx or a network error (the engine retries the lookup).
            ReauthRequired: the token is rejected even after a refresh.
        """
        url = self.url(f"ferry/items/{item_key}") + ("?check=true" if check else "")
        what = f"GET {url}"
        try:
            with self.session.http.stream("GET", url) as response:
                status, received, answer_headers = response.status_code, read_bounded(response), response.headers
        except httpx.TransportError as exc:
            raise RetryableError(f"{what} failed: {type(exc).__name__}: {exc}") from None
        if TABLE.classify(status, json_error_code(received)) in (Action.RETRY_CALL, Action.RETRY_ITEM, Action.REAUTH):
            error = TABLE.answer_error(status, received, answer_headers, what, detail=describe(status, received))
            assert error is not None
            raise error
        try:
            answer = json.loads(received) if status == 200 else None
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or not isinstance(answer.get("found"), bool):
            return Lookup(supported=False)
        size, sha256 = answer.get("size"), answer.get("sha256")
        return Lookup(
            supported=True,
            found=answer["found"],
            destination_id=answer.get("id") if isinstance(answer.get("id"), str) else None,
            size=size if isinstance(size, int) and not isinstance(size, bool) else None,
            sha256=sha256.lower() if isinstance(sha256, str) else None,
        )


def _duplicate(body: bytes) -> bool:
    """The reference destination (and others) answer ``{"status": "duplicate"}`` to a repeat."""
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        return False
    return isinstance(parsed, dict) and parsed.get("status") == "duplicate"
