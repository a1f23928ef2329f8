"""HTTP client for TikTok's Data Portability API (add, check, cancel, download).

Every call is a ``POST`` with a bearer token from a :class:`~connectors.auth.TokenSource`. The
token is fetched for each request; a 401 ``access_token_invalid`` makes the client call
``tokens.refresh(rejected)`` once and retry, after which a second rejection is ReauthRequired.

TikTok errors are translated here, once, by what the caller should do (the body code counts even
on HTTP 200):

    ==========================  ===========================================================
    ``ok``                      success
    ``rate_limit_exceeded``     RetryableError(retry_after=Retry-After header or 60 s)
    ``internal_error``, 5xx     RetryableError
    network failure             RetryableError (names the call, never the token)
    ``access_token_invalid``    refresh once, then ReauthRequired
    ``scope_not_authorized``,   ReauthRequired (the user must grant the scope)
    ``scope_permission_missed``
    anything else               FatalError naming the call, the code and TikTok's log id
    ==========================  ===========================================================
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import IO, Any

import httpx
from pydantic import ValidationError

from ..retry_after import retry_after_seconds
from ..errors import FatalError, ReauthRequired, RetryableError
from .wire import ADD_FIELDS, CHECK_FIELDS, AddResult, Envelope, RequestInfo

__all__ = ["DEFAULT_API_BASE", "TikTokApi"]

DEFAULT_API_BASE = "https://open.tiktokapis.com"
_DEFAULT_RETRY_AFTER = 60.0
_SCOPE_CODES = {"scope_not_authorized", "scope_permission_missed"}
_CHUNK = 1 << 16


def _wait_of(resp: httpx.Response) -> float:
    wait = retry_after_seconds(resp.headers.get("retry-after"))
    return _DEFAULT_RETRY_AFTER if wait is None else wait


class TikTokApi:
    """Thin typed client; one instance per exporter (it holds an httpx connection pool).

    Args:
        tokens: gives the user access token; never logged or put in messages.
        base_url: API host, ``https://open.tiktokapis.com`` unless overridden (tests, proxies).
        transport: optional httpx transport (tests may inject one).
        timeout: seconds per network operation (a download may take longer in total).
    """

    def __init__(
        self,
        tokens: Any,
        *,
        base_url: str = DEFAULT_API_BASE,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._tokens = tokens
        self._http = httpx.Client(base_url=base_url.rstrip("/"), transport=transport, timeout=timeout)
        # Separate client for video links: a third-party host must never see the bearer token.
        self._links = httpx.Client(transport=transport, timeout=timeout, follow_redirects=True)

    def __repr__(self) -> str:
        return f"TikTokApi({self._http.base_url!s})"

    def close(self) -> None:
        self._http.close()
        self._links.close()

    # -- the four calls -------------------------------------------------------------------

    def add(self, categories: Sequence[str], data_format: str = "json") -> int:
        """Ask TikTok to prepare a data request; return its ``request_id``. Not idempotent."""
        body = {"data_format": data_format, "category_selection_list": list(categories)}
        data = self._call("add", "/v2/user/data/add/", {"fields": ADD_FIELDS}, body)
        try:
            return AddResult.model_validate(data).request_id
        except ValidationError:
            raise FatalError("TikTok add data request answered without data.request_id") from None

    def check(self, request_id: int) -> RequestInfo:
        """Return the request's status record (``status`` may be any string: caller decides)."""
        data = self._call("check", "/v2/user/data/check/", {"fields": CHECK_FIELDS}, {"request_id": request_id})
        try:
            return RequestInfo.model_validate({"request_id": request_id, **data})
        except ValidationError as exc:
            fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())
            raise FatalError(f"TikTok check of request {request_id} answered bad fields: {fields}") from None

    def cancel(self, request_id: int) -> None:
        """Cancel a pending or ready request (TikTok answers only the error object)."""
        self._call("cancel", "/v2/user/data/cancel/", None, {"request_id": request_id})

    def download(self, request_id: int, sink: IO[bytes], *, progress: Any = None) -> int:
        """Stream the request's zip into ``sink``; return the byte count.

        Never holds the body in memory. A body shorter than its ``Content-Length`` or a dropped
        connection is RetryableError (the caller discards what ``sink`` got and downloads again).
        """
        call = f"download of request {request_id}"
        with self._stream("download", "/v2/user/data/download/", {"request_id": request_id}) as resp:
            expected = resp.headers.get("content-length")
            if progress is not None:
                progress.expect(bytes=int(expected) if expected and expected.isdigit() else 0)
            written = 0
            try:
                for chunk in resp.iter_bytes(_CHUNK):
                    sink.write(chunk)
                    written += len(chunk)
                    if progress is not None:
                        progress.advance(bytes=len(chunk))
            except httpx.HTTPError as exc:
                raise RetryableError(f"TikTok {call} broke off after {written} bytes: {type(exc).__name__}") from None
        if expected is not None and expected.isdigit() and int(expected) != written:
            raise RetryableError(f"TikTok {call} was truncated: got {written} of {expected} bytes")
        return written

    @contextmanager
    def open_link(self, url: str) -> Iterator[httpx.Response]:
        """Open a media link from the export (no bearer token) as a streaming response.

        Raises:
            httpx.HTTPError: callers turn it into an ItemError naming the item.
        """
        with self._links.stream("GET", url) as resp:
            resp.raise_for_status()
            yield resp

    # -- plumbing -------------------------------------------------------------------------

    def _request(self, path: str, params: dict | None, body: dict, token: str, *, stream: bool) -> httpx.Response:
        req = self._http.build_request(
            "POST",
            path,
            params=params,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )
        return self._http.send(req, stream=stream)

    def _send(self, name: str, path: str, params: dict | None, body: dict, *, stream: bool) -> httpx.Response:
        """Send once, refresh and resend once on ``access_token_invalid``; return the response.

        The returned response is error-free (``error.code == "ok"`` or a non-JSON body on 2xx).
        """
        token = self._tokens.access_token()
        for attempt in (1, 2):
            try:
                resp = self._request(path, params, body, token, stream=stream)
            except httpx.HTTPError as exc:
                raise RetryableError(f"TikTok {name} call failed: {type(exc).__name__}") from None
            envelope = self._envelope_of(resp, stream=stream)
            code = envelope.error.code if envelope is not None else ("ok" if resp.is_success else "")
            if code == "access_token_invalid" and attempt == 1:
                resp.close()
                token = self._tokens.refresh(token)
                continue
            if code != "ok" or not resp.is_success:
                resp.close()
                self._raise_for(name, resp, envelope)
            return resp
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _envelope_of(resp: httpx.Response, *, stream: bool) -> Envelope | None:
        ctype = resp.headers.get("content-type", "")
        if stream and "json" not in ctype:
            return None  # a download body: the zip itself
        if stream:
            resp.read()
        try:
            return Envelope.model_validate(resp.json())
        except (json.JSONDecodeError, ValidationError, UnicodeDecodeError):
            return None

    @staticmethod
    def _raise_for(name: str, resp: httpx.Response, envelope: Envelope | None) -> None:
        err = envelope.error if envelope is not None else None
        code = err.code if err is not None else f"HTTP {resp.status_code}"
        where = f"TikTok {name} call"
        log = f", log_id {err.log_id}" if err is not None and err.log_id else ""
        detail = f" ({err.message}{log})" if err is not None and err.message else (f" ({log[2:]})" if log else "")
        if code == "rate_limit_exceeded" or resp.status_code == 429:
            raise RetryableError(f"{where} was rate limited{detail}", retry_after=_wait_of(resp))
        if code == "internal_error" or resp.status_code >= 500 or envelope is None and not resp.is_success:
            raise RetryableError(f"{where} failed with {code}{detail}", retry_after=None)
        if code == "access_token_invalid":
            raise ReauthRequired(f"{where}: TikTok rejected the refreshed access token; authorize again")
        if code in _SCOPE_CODES:
            raise ReauthRequired(f"{where}: {code}{detail}; authorize again granting the needed portability scope")
        raise FatalError(f"{where} failed with {code}{detail}")

    def _call(self, name: str, path: str, params: dict | None, body: dict) -> dict:
        resp = self._send(name, path, params, body, stream=False)
        envelope = self._envelope_of(resp, stream=False)
        if envelope is None:
            raise FatalError(f"TikTok {name} call answered something that is not the JSON envelope")
        return envelope.data

    @contextmanager
    def _stream(self, name: str, path: str, body: dict) -> Iterator[httpx.Response]:
        resp = self._send(name, path, None, body, stream=True)
        try:
            yield resp
        finally:
            resp.close()
