"""Exercise a Generic Importer destination and say, check by check, whether it conforms.

The checks follow SPEC §11 ("what a conforming destination must do"):

* every payload type is accepted (2xx): Album, Video, Photo, Folder, File with and without
  ``dateModified``, Calendar, CalendarEvent, SocialActivity; ``null`` in nullable keys and
  references to unknown albums are tolerated;
* a repeat of every item (same payload, same bytes) is answered 2xx again (SPEC §7);
* a bad token gets ``401 {"error":"invalid_token"}`` (so DTP and ferry refresh);
* a malformed body gets a 4xx with a JSON ``{"error": ...}`` body;
* the failure rate over a batch of small uploads stays below 1% (Meta's testing guidance).

Requests are framed by ferry's own serializer, which is byte-compatible with DTP, and sent
through :mod:`connectors.http` like a transfer's: one keep-alive pool, a pacer that holds every
request while a ``Retry-After`` runs, and one refresh (then one resend) when the destination
answers ``401 invalid_token``. So throttling (a 429, or a 503 with ``Retry-After``) and short
token lifetimes are answered the way a conforming client answers them, and are not counted as
failures: a throttled request waits as asked and is sent again (at most
:data:`MAX_WAITS_PER_REQUEST` times); every other answer is judged as it is, never retried.
The report says how often the runner was throttled and how often it refreshed.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from connectors.auth import StaticTokenSource, TokenSource
from connectors.errors import FerryError
from connectors.generic.multipart import ByteSource, MultipartBody
from connectors.generic.wire import endpoint_of, envelope_bytes, file_mime_type, is_file_item
from connectors.http import Action, Clock, ErrorTable, HttpSession, HttpSettings, Rule
from connectors.models import Item
from connectors.retry_after import retry_after_seconds

from .samples import sample_bytes, samples, volume_item

__all__ = ["CheckResult", "ConformanceReport", "run_conformance", "FAILURE_RATE_BAR", "MAX_WAITS_PER_REQUEST"]

FAILURE_RATE_BAR = 0.01
#: A request still throttled after this many waits is judged as it is (a failure).
MAX_WAITS_PER_REQUEST = 8
#: Seconds to wait after a 429 that gives no Retry-After (doubled each time, capped).
DEFAULT_WAIT, MAX_DEFAULT_WAIT = 1.0, 30.0

#: Only the token rejection matters to the session (refresh once, resend); every answer is
#: judged by the checks themselves.
_TABLE = ErrorTable(service="Generic Importer", rules=(Rule(Action.OK, (100, 599)),), rejects_token=(401, "invalid_token"))


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str = ""


@dataclass
class ConformanceReport:
    """All check results plus the measured failure rate."""

    base_url: str
    results: list[CheckResult] = field(default_factory=list)
    failure_rate: float | None = None
    throttled: int = 0  # answers that asked the runner to wait (429, 503 with Retry-After)
    waited: float = 0.0  # seconds the runner waited because of them
    refreshes: int = 0  # access tokens refreshed after a 401 invalid_token or their expiry

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(result.passed for result in self.results)


def _describe(response: httpx.Response) -> str:
    """``201``, ``401 invalid_token: <description>`` or ``500 '<snippet of a non-JSON body>'``."""
    if response.is_success:
        return str(response.status_code)
    error = _json_error(response)
    if error is not None:
        description = response.json().get("error_description")
        return f"{response.status_code} {error}" + (f": {description}" if isinstance(description, str) else "")
    text = " ".join(response.text.split())[:160]
    return f"{response.status_code} '{text}'"


class _CountingTokens:
    """Counts the refreshes the session asks of a token source (for the report)."""

    def __init__(self, inner: TokenSource):
        self.inner = inner
        self.refreshes = 0

    def __repr__(self) -> str:
        return "_CountingTokens(<hidden>)"

    def access_token(self) -> str:
        return self.inner.access_token()

    def refresh(self, rejected: str) -> str:
        self.refreshes += 1
        return self.inner.refresh(rejected)


class _Sender:
    """Sends the checks' requests through one :class:`~connectors.http.HttpSession`."""

    def __init__(self, base_url: str, tokens: TokenSource, report: ConformanceReport, *, export_service: str,
                 timeout: float, transport=None, clock: Clock | None = None):  # fmt: skip
        self.base_url = base_url.rstrip("/") + "/"
        self.tokens = _CountingTokens(tokens)
        self.report = report
        self.headers = {"X-DTP-Export-Service": export_service, "X-DTP-Job-Id": str(uuid.uuid4())}
        settings = HttpSettings(timeout=timeout, connections=1, user_agent="ferry-conformance/0.1")
        self.session = HttpSession(_TABLE, tokens=self.tokens, settings=settings, transport=transport, clock=clock)

    def close(self) -> None:
        self.report.refreshes = self.tokens.refreshes
        self.session.close()

    def send_item(self, item: Item, *, token: str | None = None) -> httpx.Response:
        """POST ``item`` as ferry would; ``token`` replaces the session's auth (bad-token check)."""
        headers = dict(self.headers)
        envelope = envelope_bytes(item)
        if is_file_item(item):
            data = sample_bytes(item)
            source = ByteSource(item.id, len(data), lambda: io.BytesIO(data))
            body: bytes | MultipartBody = MultipartBody(envelope, file_mime_type(item), source)
            headers["Content-Type"] = body.content_type
            headers["Content-Length"] = str(body.content_length)
        else:
            body = envelope
            headers["Content-Type"] = "application/json"
        return self._post(endpoint_of(item), body, headers, token)

    def send_raw(self, suffix: str, body: bytes, content_type: str) -> httpx.Response:
        return self._post(suffix, body, {**self.headers, "Content-Type": content_type}, None)

    def _post(self, suffix: str, body, headers: dict[str, str], token: str | None) -> httpx.Response:
        """POST, waiting out throttling answers (the pacer holds for their Retry-After)."""
        url = self.base_url + suffix
        auth: object = self.session.http.auth
        if token is not None:
            headers, auth = {**headers, "Authorization": f"Bearer {token}"}, None
        wait = DEFAULT_WAIT
        for _ in range(MAX_WAITS_PER_REQUEST):
            response = self.session.http.post(url, content=body, headers=headers, auth=auth)  # type: ignore[arg-type]
            seconds = retry_after_seconds(response.headers.get("retry-after"))
            if response.status_code == 429 or (response.status_code == 503 and seconds is not None):
                if seconds is None:  # a 429 without Retry-After: back off on our own
                    seconds, wait = wait, min(wait * 2, MAX_DEFAULT_WAIT)
                    self.session.pacer.hold(seconds)
                self.report.throttled += 1
                self.report.waited += self.session.pacer.delay()
                continue
            return response
        return response


def _json_error(response: httpx.Response) -> str | None:
    try:
        document = response.json()
    except ValueError:
        return None
    error = document.get("error") if isinstance(document, dict) else None
    return error if isinstance(error, str) else None


def run_conformance(
    base_url: str,
    tokens: TokenSource | str,
    *,
    volume: int = 100,
    export_service: str = "ferry-conformance",
    timeout: float = 30.0,
    transport: httpx.BaseTransport | None = None,
    clock: Clock | None = None,
    on_result: Callable[[CheckResult], None] | None = None,
) -> ConformanceReport:
    """Run every check against ``base_url``; never raises for a bad answer.

    Args:
        base_url: the destination's Generic Importer base URL (``https://dest.example/dtp``).
        tokens: a :class:`~connectors.auth.TokenSource` for a test account (refreshed once on
            ``401 invalid_token``), or a fixed access token; never printed.
        volume: uploads in the failure-rate batch (0 skips that check).
        transport: replaces the TCP_NODELAY transport (tests); still paced.
        clock: the pacer's clock (tests inject one that records the waits).
        on_result: called as each check finishes (live output).
    """
    report = ConformanceReport(base_url)
    run = uuid.uuid4().hex[:8]
    source = StaticTokenSource(tokens) if isinstance(tokens, str) else tokens
    sender = _Sender(base_url, source, report, export_service=export_service, timeout=timeout, transport=transport, clock=clock)

    def record(name: str, passed: bool, detail: str = "") -> None:
        result = CheckResult(name, passed, detail)
        report.results.append(result)
        if on_result is not None:
            on_result(result)

    def attempt(item: Item) -> tuple[bool, str]:
        try:
            response = sender.send_item(item)
        except httpx.HTTPError as exc:
            return False, f"{type(exc).__name__}: {exc}"
        except FerryError as exc:  # the token source: cannot refresh, refused, unreachable
            return False, f"no usable access token: {exc}"
        return response.is_success, _describe(response)

    try:
        items = samples(run)
        for sample in items:
            ok, detail = attempt(sample.item)
            record(f"accepts {sample.label}", ok, detail)
        for sample in items:
            ok, detail = attempt(sample.item)
            record(f"repeat answered 2xx: {sample.item.kind}", ok, detail)
        _check_bad_token(sender, items[0].item, record)
        _check_malformed(sender, record)
        if volume > 0:
            failures = 0
            first_failure = ""
            for index in range(volume):
                ok, detail = attempt(volume_item(run, index))
                if not ok:
                    failures += 1
                    first_failure = first_failure or detail
            report.failure_rate = failures / volume
            summary = f"{failures}/{volume} failed ({report.failure_rate:.1%}; bar < {FAILURE_RATE_BAR:.0%})"
            record("failure rate below 1%", report.failure_rate < FAILURE_RATE_BAR, summary + (f"; first: {first_failure}" if first_failure else ""))
    finally:
        sender.close()
    return report


def _check_bad_token(sender: _Sender, item: Item, record) -> None:
    try:
        response = sender.send_item(item, token="ferry-conformance-invalid-" + uuid.uuid4().hex)
    except (httpx.HTTPError, FerryError) as exc:
        record("bad token -> 401 invalid_token", False, f"{type(exc).__name__}: {exc}")
        return
    ok = response.status_code == 401 and _json_error(response) == "invalid_token"
    record("bad token -> 401 invalid_token", ok, _describe(response))


def _check_malformed(sender: _Sender, record) -> None:
    name = "malformed body -> 4xx with JSON error"
    try:
        response = sender.send_raw("media", b'{"@type":"GenericPayload","payload":', "application/json")
    except (httpx.HTTPError, FerryError) as exc:
        record(name, False, f"{type(exc).__name__}: {exc}")
        return
    ok = 400 <= response.status_code < 500 and _json_error(response) is not None
    record(name, ok, _describe(response))
    name = "invalid envelope -> 4xx with JSON error"
    body = json.dumps({"@type": "GenericPayload", "payload": {"@type": "NoSuchType"}, "schemaSource": "x", "apiVersion": "0.1.0"})
    try:
        response = sender.send_raw("media", body.encode(), "application/json")
    except (httpx.HTTPError, FerryError) as exc:
        record(name, False, f"{type(exc).__name__}: {exc}")
        return
    ok = 400 <= response.status_code < 500 and _json_error(response) is not None
    record(name, ok, _describe(response))
