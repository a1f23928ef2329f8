"""Exercise a Generic Importer destination and say, check by check, whether it conforms.

The checks follow SPEC §11 ("what a conforming destination must do"):

* every payload type is accepted (2xx): Album, Video, Photo, Folder, File with and without
  ``dateModified``, Calendar, CalendarEvent, SocialActivity; ``null`` in nullable keys and
  references to unknown albums are tolerated;
* a repeat of every item (same payload, same bytes) is answered 2xx again (SPEC §7);
* a bad token gets ``401 {"error":"invalid_token"}`` (so DTP and ferry refresh);
* a malformed body gets a 4xx with a JSON ``{"error": ...}`` body;
* the failure rate over a batch of small uploads stays below 1% (Meta's testing guidance).

Requests are raw (no retries) so the destination's real answers are judged, and are framed by
ferry's own serializer, which is byte-compatible with DTP.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from connectors.http import nodelay_transport
from connectors.generic.multipart import ByteSource, MultipartBody
from connectors.generic.wire import endpoint_of, envelope_bytes, file_mime_type, is_file_item
from connectors.models import Item

from .samples import sample_bytes, samples, volume_item

__all__ = ["CheckResult", "ConformanceReport", "run_conformance", "FAILURE_RATE_BAR"]

FAILURE_RATE_BAR = 0.01


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


class _Sender:
    def __init__(self, base_url: str, token: str, *, export_service: str, timeout: float, transport=None):
        self.base_url = base_url.rstrip("/") + "/"
        self.token = token
        self.headers = {"X-DTP-Export-Service": export_service, "X-DTP-Job-Id": str(uuid.uuid4())}
        self.http = httpx.Client(timeout=timeout, follow_redirects=False, transport=transport or nodelay_transport())

    def send_item(self, item: Item, *, token: str | None = None) -> httpx.Response:
        headers = {**self.headers, "Authorization": f"Bearer {token if token is not None else self.token}"}
        envelope = envelope_bytes(item)
        if is_file_item(item):
            data = sample_bytes(item)
            source = ByteSource(item.id, len(data), lambda: io.BytesIO(data))
            body = MultipartBody(envelope, file_mime_type(item), source)
            headers["Content-Type"] = body.content_type
            headers["Content-Length"] = str(body.content_length)
            return self.http.post(self.base_url + endpoint_of(item), content=body, headers=headers)
        headers["Content-Type"] = "application/json"
        return self.http.post(self.base_url + endpoint_of(item), content=envelope, headers=headers)

    def send_raw(self, suffix: str, body: bytes, content_type: str) -> httpx.Response:
        headers = {**self.headers, "Authorization": f"Bearer {self.token}", "Content-Type": content_type}
        return self.http.post(self.base_url + suffix, content=body, headers=headers)


def _json_error(response: httpx.Response) -> str | None:
    try:
        document = response.json()
    except ValueError:
        return None
    error = document.get("error") if isinstance(document, dict) else None
    return error if isinstance(error, str) else None


def run_conformance(
    base_url: str,
    token: str,
    *,
    volume: int = 100,
    export_service: str = "ferry-conformance",
    timeout: float = 30.0,
    transport: httpx.BaseTransport | None = None,
    on_result: Callable[[CheckResult], None] | None = None,
) -> ConformanceReport:
    """Run every check against ``base_url`` with bearer ``token``; never raises for a bad answer.

    Args:
        base_url: the destination's Generic Importer base URL (``https://dest.example/dtp``).
        token: a valid access token for a test account (never printed).
        volume: uploads in the failure-rate batch (0 skips that check).
        on_result: called as each check finishes (live output).
    """
    report = ConformanceReport(base_url)
    run = uuid.uuid4().hex[:8]
    sender = _Sender(base_url, token, export_service=export_service, timeout=timeout, transport=transport)

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
        sender.http.close()
    return report


def _check_bad_token(sender: _Sender, item: Item, record) -> None:
    try:
        response = sender.send_item(item, token="ferry-conformance-invalid-" + uuid.uuid4().hex)
    except httpx.HTTPError as exc:
        record("bad token -> 401 invalid_token", False, f"{type(exc).__name__}: {exc}")
        return
    ok = response.status_code == 401 and _json_error(response) == "invalid_token"
    record("bad token -> 401 invalid_token", ok, _describe(response))


def _check_malformed(sender: _Sender, record) -> None:
    name = "malformed body -> 4xx with JSON error"
    try:
        response = sender.send_raw("media", b'{"@type":"GenericPayload","payload":', "application/json")
    except httpx.HTTPError as exc:
        record(name, False, f"{type(exc).__name__}: {exc}")
        return
    ok = 400 <= response.status_code < 500 and _json_error(response) is not None
    record(name, ok, _describe(response))
    name = "invalid envelope -> 4xx with JSON error"
    body = json.dumps({"@type": "GenericPayload", "payload": {"@type": "NoSuchType"}, "schemaSource": "x", "apiVersion": "0.1.0"})
    try:
        response = sender.send_raw("media", body.encode(), "application/json")
    except httpx.HTTPError as exc:
        record(name, False, f"{type(exc).__name__}: {exc}")
        return
    ok = 400 <= response.status_code < 500 and _json_error(response) is not None
    record(name, ok, _describe(response))
