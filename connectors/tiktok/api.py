"""HTTP client for TikTok's Data Portability API (add, check, cancel, download).

Every call is a ``POST`` over one :class:`~connectors.http.HttpSession`: a keep-alive pool, the
bearer token from the credential's token source with one refresh-and-resend when TikTok answers
401 ``access_token_invalid`` (:class:`~connectors.http.RefreshOnce`), and a pacer that holds every
call while a ``Retry-After`` runs. This module only declares what TikTok's answers mean
(:data:`TABLE`; the body's ``error.code`` counts even on HTTP 200)::

    ==========================  ===========================================================
    ``ok`` (2xx)                success
    ``rate_limit_exceeded``,    RetryableError(retry_after = Retry-After, else 60 s); the
    429                         pacer holds the session's calls until then
    ``internal_error``, 5xx,    RetryableError (the engine backs off and retries)
    network failure
    ``access_token_invalid``    refresh once and resend; still rejected -> ReauthRequired
    ``scope_not_authorized``    ReauthRequired (the user must grant the scope)
    ``scope_permission_missed`` ConsentSpent, a ReauthRequired: a ``.single`` consent allows
                                one data request and it is used up
    anything else               FatalError naming the call, the code and TikTok's log id
    ==========================  ===========================================================

The client never waits to retry and never loops (except the one resend after a refresh): the
engine retries, in one place (``flows/retry.py``). Tokens never appear in messages or reprs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import httpx
from pydantic import ValidationError

from ..atomicfile import BinarySink
from ..auth import TokenSource
from ..errors import FatalError, ReauthRequired, RetryableError
from ..http import Action, ErrorTable, HttpSession, HttpSettings, Rule, read_bounded
from ..progress import NullProgress, Progress
from .wire import ADD_FIELDS, CHECK_FIELDS, AddResult, Envelope, RequestInfo

__all__ = ["DEFAULT_API_BASE", "TABLE", "ConsentSpent", "TikTokApi", "envelope_code"]

DEFAULT_API_BASE = "https://open.tiktokapis.com"
_CHUNK = 1 << 16
_SPENT = "scope_permission_missed"


def envelope_code(body: bytes) -> str | None:
    """``error.code`` of TikTok's JSON envelope, or None when the body is not one."""
    try:
        document = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        return None
    error = document.get("error") if isinstance(document, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


#: What TikTok's answers mean (first match wins); see the module docstring.
TABLE = ErrorTable(
    service="TikTok",
    rules=(
        Rule(Action.OK, (200, 299), "ok"),
        Rule(Action.RETRY_CALL, None, "rate_limit_exceeded", note="rate limited"),
        Rule(Action.RETRY_CALL, 429, note="rate limited"),
        Rule(Action.RETRY_ITEM, None, "internal_error"),
        Rule(Action.RETRY_ITEM, (500, 599)),
        Rule(Action.REAUTH, None, "access_token_invalid", note="TikTok rejected the refreshed access token; authorize again"),
        Rule(Action.REAUTH, None, "scope_not_authorized", note="authorize again granting the needed portability scope"),
        Rule(Action.REAUTH, None, _SPENT, note="the authorization allows no further data request; authorize again"),
    ),
    otherwise=Action.FATAL,
    network=Action.RETRY_ITEM,
    rejects_token=(401, "access_token_invalid"),
    code_of=envelope_code,
    default_retry_after=60.0,
)


class ConsentSpent(ReauthRequired):
    """TikTok refused an Add call because the consent allows no further request (``.single``).

    The tokens still refresh fine; only a new authorization (a new consent) allows a new data
    request. The framework marks the credential NEEDS_REAUTH and names ``ferry reconnect``.
    ``detail`` is TikTok's own wording (code and log id).
    """

    def __init__(self, message: str, *, detail: str = ""):
        super().__init__(message)
        self.detail = detail


def _detail(body: bytes, status: int) -> str:
    """TikTok's own words for a failed answer: ``code (message, log_id ...)``."""
    try:
        error = Envelope.model_validate_json(body).error
    except (ValidationError, ValueError):
        return f"HTTP {status}"
    parts = [p for p in (error.message, f"log_id {error.log_id}" if error.log_id else "") if p]
    return f"{error.code}" + (f" ({', '.join(parts)})" if parts else "")


class TikTokApi:
    """Thin typed client; one instance per exporter (it holds the session's connection pool).

    Args:
        tokens: gives the user access token; never logged or put in messages.
        base_url: API host, ``https://open.tiktokapis.com`` unless overridden (tests, proxies).
        transport: optional httpx transport (tests, proxies); still paced.
        timeout: seconds per network operation (a download may take longer in total).
    """

    def __init__(
        self,
        tokens: TokenSource,
        *,
        base_url: str = DEFAULT_API_BASE,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
    ) -> None:
        settings = HttpSettings(timeout=timeout, connections=4, user_agent="ferry-tiktok/0.1")
        self.session = HttpSession(TABLE, tokens=tokens, settings=settings, base_url=base_url.rstrip("/"), transport=transport)

    def __repr__(self) -> str:
        return f"TikTokApi({self.session.base_url})"

    def close(self) -> None:
        self.session.close()

    # -- the four calls -------------------------------------------------------------------

    def add(self, categories: Sequence[str], data_format: str = "json") -> int:
        """Ask TikTok to prepare a data request; return its ``request_id``. Not idempotent.

        Raises:
            ConsentSpent: the consent allows no further request (a spent ``.single`` scope).
        """
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

    def download(self, request_id: int, sink: BinarySink, *, progress: Progress | None = None) -> int:
        """Stream the request's zip into ``sink``; return the byte count.

        Never holds the body in memory. ``progress`` hears the size when TikTok says it
        (``expect``) and every chunk (``advance``). A body shorter than its ``Content-Length`` or
        a dropped connection is RetryableError (the caller discards what ``sink`` got).
        """
        progress = progress or NullProgress()
        call = f"download of request {request_id}"
        response = self._download(request_id)
        try:
            expected = response.headers.get("content-length")
            total = int(expected) if expected and expected.isdigit() else None
            progress.expect(bytes=total or 0)
            written = 0
            try:
                for chunk in response.iter_bytes(_CHUNK):
                    sink.write(chunk)
                    written += len(chunk)
                    progress.advance(bytes=len(chunk))
            except httpx.HTTPError as exc:
                raise RetryableError(f"TikTok {call} broke off after {written} bytes: {type(exc).__name__}") from None
        finally:
            response.close()
        if total is not None and total != written:
            raise RetryableError(f"TikTok {call} was truncated: got {written} of {total} bytes")
        return written

    # -- plumbing -------------------------------------------------------------------------

    def _post(self, name: str, path: str, params: dict | None, body: dict) -> httpx.Response:
        """POST once (resent once after a token refresh); the answer is open and unread."""
        request = self.session.http.build_request("POST", path, params=params, json=body)
        try:
            return self.session.http.send(request, stream=True)
        except httpx.TransportError as exc:
            raise TABLE.network_error(exc, f"TikTok {name} call") from None

    def _raise_for(self, name: str, response: httpx.Response, answer: bytes) -> None:
        """Raise what :data:`TABLE` says the (read, bounded) answer means, unless it is a success."""
        status = response.status_code
        error = TABLE.answer_error(status, answer, response.headers, f"TikTok {name} call", detail=_detail(answer, status))
        if error is None:
            return
        if isinstance(error, ReauthRequired) and envelope_code(answer) == _SPENT:
            raise ConsentSpent(str(error), detail=_detail(answer, status)) from None
        raise error

    def _read(self, name: str, response: httpx.Response) -> bytes:
        """The (small) answer, read up to the bound and classified; the response is closed."""
        try:
            answer = read_bounded(response)
        except httpx.TransportError as exc:
            raise TABLE.network_error(exc, f"TikTok {name} call") from None
        finally:
            response.close()
        self._raise_for(name, response, answer)
        return answer

    def _call(self, name: str, path: str, params: dict | None, body: dict) -> dict:
        answer = self._read(name, self._post(name, path, params, body))
        try:
            return Envelope.model_validate_json(answer).data
        except (ValidationError, ValueError):
            raise FatalError(f"TikTok {name} call answered something that is not the JSON envelope") from None

    def _download(self, request_id: int) -> httpx.Response:
        """The open zip answer of a Download call; any JSON answer is read and classified."""
        response = self._post("download", "/v2/user/data/download/", None, {"request_id": request_id})
        if response.is_success and "json" not in response.headers.get("content-type", ""):
            return response
        self._read("download", response)
        raise FatalError(f"TikTok download of request {request_id} answered JSON instead of the zip")
