"""The Generic Importer API of the reference destination: ``POST {base}/media|blobs|calendar|social-posts``.

What it does for each request (SPEC §11, "what a conforming destination must do"):

1. Authenticates the bearer token through ``validate_token(token) -> account | None``;
   anything else is ``401 {"error":"invalid_token"}`` so a DTP worker (or ferry) refreshes.
2. Parses ``application/json`` or ``multipart/related`` (the file part streams to storage),
   validates the envelope strictly (:mod:`.importer_schema`) and answers ``400
   {"error":"invalid_request","error_description":"<field>: <problem>"}`` when it is wrong.
3. Answers ``413 {"error":"destination_full"}`` when the quota would be exceeded.
4. Deduplicates (key derived from the payload, SPEC §7, per account): a repeat gets ``200``
   ``{"status": "duplicate"}``, a new item ``201``; nothing is stored twice. Every repeat is
   counted (:attr:`ImporterAPI.repeats`), so a test can prove a client sent nothing twice.
5. Offers ferry's lookup extension: items sent with ``X-Ferry-Item-Key`` can be asked for with
   ``GET {base}/ferry/items/<key>`` -> ``{"found": true, "id": ...}`` (knob ``offer_lookup``);
   ``?check=true`` adds the stored bytes' ``size`` and ``sha256`` (``ferry verify``).

Test knobs (:class:`ServerKnobs`, changeable while the server runs) inject 429s with
``Retry-After`` (the next N requests, or a steady throttle that also refuses and counts a client
coming back before its ``Retry-After`` is over), 5xx answers, malformed (non-JSON) answers, a byte quota, and a broken-dedupe
mode; every request is recorded in :attr:`ImporterAPI.received` (Authorization redacted).
Error answers are sent only after the request body was read, so a client streaming a large
upload sees the answer instead of a reset connection; the exception is a body over the size cap
(:func:`ferry.servers.destination.app.receiving_limits`), refused unread with 413 ``payload_too_large``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from connectors.inbound import BodyTooLarge
from connectors.names import safe_path, safe_segment

from .importer_multipart import MultipartError, RelatedReader, boundary_of
from .importer_schema import PAYLOAD_TYPES, Envelope, EnvelopeError, dedupe_key, validate_envelope
from .importer_store import DestinationStore

__all__ = ["MAX_JSON_BYTES", "ServerKnobs", "ReceivedRequest", "ImporterAPI", "create_importer_router"]

#: A JSON envelope (or part 1 of a multipart body) is at most this long.
MAX_JSON_BYTES = 1024 * 1024


@dataclass
class ServerKnobs:
    """Behaviours a test (or ``ferry conformance`` self-check) can switch on.

    Attributes:
        quota_bytes: total bytes the destination accepts; beyond -> 413 destination_full.
        rate_limit_next: answer the next N requests 429 with ``Retry-After: retry_after``.
        retry_after: the header value (delta seconds or an HTTP date).
        server_errors_next: answer the next N requests with ``server_error_status``.
        server_error_status: 500, 502, 503 ...
        malformed_next: answer the next N requests with a non-JSON body and ``malformed_status``.
        malformed_status: status of the malformed answers.
        break_dedupe: answer repeats 409 instead of 2xx (a deliberately broken destination).
        honour_idempotency_key: also dedupe on the ``Idempotency-Key`` header (ferry extension).
        offer_lookup: answer ``GET /ferry/items/<key>`` (off: 404, as a DTP destination would).
        throttle_every: a steady throttle: every Nth item request is answered 429 with
            ``Retry-After: retry_after`` (0: off), like a destination with a rate limit.
        clock: the throttle's clock (``time.monotonic``; a test shares its fake clock with the
            client, so "waiting" is checked without sleeping).
        lookup_errors_next: answer the next N lookups 503 with ``Retry-After: retry_after``.
        gather: hold each item request until this many wait together (at most ``gather_timeout``
            seconds), so a test can see whether a client really sends several at once.

    While a throttle's ``Retry-After`` runs, every request is answered 429 again and counted in
    :attr:`early_requests`: a client that honours Retry-After makes none.
    """

    quota_bytes: int | None = None
    rate_limit_next: int = 0
    retry_after: str = "1"
    server_errors_next: int = 0
    server_error_status: int = 503
    malformed_next: int = 0
    malformed_status: int = 400
    break_dedupe: bool = False
    honour_idempotency_key: bool = False
    offer_lookup: bool = True
    throttle_every: int = 0
    lookup_errors_next: int = 0
    gather: int = 0
    gather_timeout: float = 10.0
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)
    early_requests: int = 0
    throttled: int = 0
    _seen: int = field(default=0, repr=False, compare=False)
    _not_before: float = field(default=0.0, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def take(self, counter: str) -> bool:
        """Use one of the injected answers named ``counter``; False when none is left."""
        with self._lock:
            left = getattr(self, counter)
            if left <= 0:
                return False
            setattr(self, counter, left - 1)
            return True

    def throttle(self) -> str | None:
        """The Retry-After value when the steady throttle refuses this request, else None."""
        if self.throttle_every <= 0:
            return None
        with self._lock:
            now = self.clock()
            if now < self._not_before:
                self.early_requests += 1
                return str(math.ceil(self._not_before - now))
            self._seen += 1
            if self._seen % self.throttle_every:
                return None
            self.throttled += 1
            self._not_before = now + float(self.retry_after)
            return self.retry_after


@dataclass
class ReceivedRequest:
    """One recorded request (for assertions). ``headers`` has Authorization redacted."""

    suffix: str
    headers: dict[str, str]
    account: str | None = None
    status: int | None = None
    payload_type: str | None = None
    error: str | None = None
    part_headers: list[dict[str, str]] = field(default_factory=list)
    envelope: bytes | None = None
    file_size: int | None = None
    file_sha256: str | None = None
    stored_as: str | None = None
    repeat: bool = False  # the destination already had this item
    arrived: int = 0  # the server's event count when the request came in ...
    answered: int = 0  # ... and when it was answered (orders requests, shows overlaps)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def _error(status: int, error: str, description: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status, headers=headers)


class _Refusal(Exception):
    def __init__(self, response: Response):
        self.response = response


def _json_content_type(value: str) -> bool:
    return value.split(";")[0].strip().lower() == "application/json"


class ImporterAPI:
    """State and routes of the reference Generic Importer.

    Args:
        store: a :class:`DestinationStore` or an fsspec URL for one.
        validate_token: ``access_token -> account`` (None rejects); e.g. ``TokenRegistry.validate``.
        knobs: test knobs (a fresh :class:`ServerKnobs` by default).
        storage_options: fsspec options when ``store`` is a URL.
    """

    def __init__(
        self,
        store: DestinationStore | str,
        *,
        validate_token: Callable[[str], str | None],
        knobs: ServerKnobs | None = None,
        storage_options: dict[str, Any] | None = None,
    ):
        self.store = store if isinstance(store, DestinationStore) else DestinationStore(store, storage_options)
        self.validate_token = validate_token
        self.knobs = knobs or ServerKnobs()
        self.received: list[ReceivedRequest] = []
        self.used_bytes = 0
        self.in_flight = 0
        self.most_in_flight = 0  # the most item requests it was handling at one time
        self._events = 0
        self._gathering: list[asyncio.Future] = []
        self._locks: dict[str, asyncio.Lock] = {}

    def router(self, prefix: str = "") -> APIRouter:
        """An APIRouter with the four endpoints under ``prefix`` (e.g. ``/dtp``)."""
        router = APIRouter(prefix=prefix.rstrip("/"), tags=["Generic Importer"])
        for suffix in PAYLOAD_TYPES:
            router.add_api_route(f"/{suffix}", self._endpoint(suffix), methods=["POST"], summary=f"Import {suffix} items")
        router.add_api_route("/ferry/items/{key}", self._lookup, methods=["GET"], summary="ferry lookup extension")
        return router

    @property
    def repeats(self) -> list[ReceivedRequest]:
        """Requests for items the destination already had (a client that sends nothing twice makes none)."""
        return [r for r in self.received if r.repeat]

    async def _lookup(self, key: str, request: Request) -> Response:
        """``{"found": bool, "id": <stored path>}``; with ``?check=true`` also the stored bytes'
        ``size`` and ``sha256`` (what ``ferry verify`` compares with its ledger). An item whose
        stored object was removed is not found."""
        if not self.knobs.offer_lookup:
            return _error(404, "not_found", "no such endpoint")
        account = self._authenticate(request)
        if account is None:
            return _error(401, "invalid_token", "The access token is missing, unknown or expired")
        if not (len(key) <= 64 and all(c in "0123456789abcdef" for c in key)):
            return _error(400, "invalid_request", "the key must be hexadecimal")
        if self.knobs.take("lookup_errors_next"):
            return _error(503, "unavailable", "Injected lookup error", {"Retry-After": self.knobs.retry_after})
        stored = await run_in_threadpool(self.store.seen, account, "ferry-" + key)
        if stored is None or not await run_in_threadpool(self.store.exists, account, stored):
            return JSONResponse({"found": False, "id": None})
        answer: dict[str, Any] = {"found": True, "id": stored}
        if request.query_params.get("check") == "true":
            has_bytes = await run_in_threadpool(self.store.exists, account, stored + ".dtp.json")
            if has_bytes:
                answer["size"], answer["sha256"] = await run_in_threadpool(self.store.size_and_sha256, account, stored)
        return JSONResponse(answer)

    def _endpoint(self, suffix: str):
        async def endpoint(request: Request) -> Response:
            headers = {k.lower(): v for k, v in request.headers.items()}
            if "authorization" in headers:
                headers["authorization"] = headers["authorization"].split(" ")[0] + " <redacted>"
            record = ReceivedRequest(suffix, headers, arrived=self._event())
            self.received.append(record)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                await self._gather()
                response = await self._handle(request, suffix, record)
            except _Refusal as refusal:
                await _drain(request)
                response = refusal.response
            except BodyTooLarge:  # InboundGuard answers 413 payload_too_large
                record.status, record.error = 413, "payload_too_large"
                raise
            except ClientDisconnect:
                # The client gave up mid-body (e.g. its file was shorter than announced); no
                # one will read an answer, and the partial upload was already removed.
                record.error = "client_disconnected"
                return Response(status_code=400)
            finally:
                self.in_flight -= 1
                record.answered = self._event()
            record.status = response.status_code
            if response.status_code >= 400 and record.error is None:
                try:
                    record.error = json.loads(response.body).get("error")
                except (ValueError, AttributeError):
                    record.error = "(not json)"
            return response

        endpoint.__name__ = f"import_{suffix.replace('-', '_')}"
        return endpoint

    def _event(self) -> int:
        self._events += 1  # the event loop's thread only: no lock needed
        return self._events

    async def _gather(self) -> None:
        """Hold the request until ``knobs.gather`` requests wait together (a barrier), or a timeout."""
        wanted = self.knobs.gather
        if wanted <= 0:
            return
        arrived = asyncio.get_running_loop().create_future()
        self._gathering.append(arrived)
        if len(self._gathering) >= wanted:
            for waiting in self._gathering:
                if not waiting.done():
                    waiting.set_result(None)
            self._gathering.clear()
        try:
            await asyncio.wait_for(arrived, self.knobs.gather_timeout)
        except TimeoutError:
            if arrived in self._gathering:
                self._gathering.remove(arrived)

    def _authenticate(self, request: Request) -> str | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return self.validate_token(token.strip())

    async def _handle(self, request: Request, suffix: str, record: ReceivedRequest) -> Response:
        account = self._authenticate(request)
        if account is None:
            raise _Refusal(
                _error(401, "invalid_token", "The access token is missing, unknown or expired",
                       {"WWW-Authenticate": 'Bearer error="invalid_token"'})
            )  # fmt: skip
        record.account = account
        knobs = self.knobs
        wait = knobs.retry_after if knobs.take("rate_limit_next") else knobs.throttle()
        if wait is not None:
            raise _Refusal(_error(429, "rate_limited", "Too many requests", {"Retry-After": wait}))
        if knobs.take("server_errors_next"):
            raise _Refusal(_error(knobs.server_error_status, "server_error", "Injected server error"))
        if knobs.take("malformed_next"):
            body = b"<html><body><h1>Oops</h1>not a JSON answer</body></html>"
            raise _Refusal(Response(body, status_code=knobs.malformed_status, media_type="text/html"))
        content_type = request.headers.get("content-type", "")
        try:
            if _json_content_type(content_type):
                return await self._json(request, suffix, account, record)
            if content_type.split(";")[0].strip().lower() == "multipart/related":
                return await self._multipart(request, suffix, account, record, content_type)
        except (EnvelopeError, MultipartError) as exc:
            raise _Refusal(_error(400, "invalid_request", str(exc))) from None
        raise _Refusal(
            _error(415, "unsupported_media_type", f"Content-Type must be application/json or multipart/related, got {content_type!r}")
        )

    def _check_quota(self, incoming: int) -> None:
        quota = self.knobs.quota_bytes
        if quota is not None and self.used_bytes + incoming > quota:
            raise _Refusal(_error(413, "destination_full", f"The destination storage is full ({self.used_bytes} of {quota} bytes used)"))

    async def _json(self, request: Request, suffix: str, account: str, record: ReceivedRequest) -> Response:
        body = bytearray()
        async for chunk in request.stream():  # InboundGuard stops it past MAX_JSON_BYTES (413)
            body += chunk
        envelope = _read_envelope(bytes(body), "(body)", record, suffix=suffix, multipart=False)
        return await self._store(account, envelope, record, request, size=len(body))

    async def _multipart(self, request: Request, suffix: str, account: str, record: ReceivedRequest, content_type: str) -> Response:
        reader = RelatedReader(request.stream().__aiter__(), boundary_of(content_type))
        first = await reader.next_part()
        if first is None:
            raise MultipartError("the body has no parts (expected the JSON envelope, then the file)")
        record.part_headers.append(dict(first.items()))
        if not _json_content_type(first.get("content-type", "")):
            raise MultipartError(f"part 1 must be application/json, got {first.get('content-type')!r}")
        raw = await reader.read_body(MAX_JSON_BYTES)
        _check_length(first, len(raw), 1)
        envelope = _read_envelope(raw, "(part 1)", record, suffix=suffix, multipart=True)
        second = await reader.next_part()
        if second is None:
            raise MultipartError("part 2 (the file bytes) is missing")
        record.part_headers.append(dict(second.items()))
        announced = second.get("content-length")
        incoming = int(announced) if announced and announced.isdigit() else int(request.headers.get("content-length") or 0)
        self._check_quota(incoming)
        upload = await run_in_threadpool(self.store.open_partial, account)
        digest, size = hashlib.sha256(), 0
        try:
            try:
                async for chunk in reader.stream_body():
                    digest.update(chunk)
                    size += len(chunk)
                    await run_in_threadpool(upload.write, chunk)
            finally:
                await run_in_threadpool(upload.close)
            _check_length(second, size, 2)
            if await reader.next_part() is not None:
                raise MultipartError("expected exactly two parts (envelope, file), found more")
            await reader.finish()
            record.file_size, record.file_sha256 = size, digest.hexdigest()
            file_info = {"contentType": second.get("content-type") or "application/octet-stream", "size": size, "sha256": digest.hexdigest()}
            return await self._store(account, envelope, record, request, size=size, upload=upload, file_info=file_info)
        finally:
            await run_in_threadpool(self.store.discard, upload)

    async def _store(self, account, envelope: Envelope, record, request, *, size: int, upload=None, file_info=None) -> Response:
        key = dedupe_key(envelope, file_info["sha256"] if file_info else None)
        keys = [key]
        idem = request.headers.get("idempotency-key")
        if idem and self.knobs.honour_idempotency_key:
            keys.append("idem-" + hashlib.sha256(idem.encode()).hexdigest())
        ferry_key = request.headers.get("x-ferry-item-key")
        if ferry_key and len(ferry_key) <= 64 and all(c in "0123456789abcdef" for c in ferry_key):
            keys.append("ferry-" + ferry_key)
        job = {k: v for k, v in request.headers.items() if k.lower().startswith("x-dtp-")}
        lock = self._locks.setdefault(account, asyncio.Lock())
        async with lock:
            existing = None
            for candidate in keys[:1] + [k for k in keys[1:] if k.startswith("idem-")]:
                existing = existing or await run_in_threadpool(self.store.seen, account, candidate)
            if existing is not None and self.knobs.break_dedupe:
                raise _Refusal(_error(409, "conflict", f"{existing} already exists"))
            if existing is not None and not (envelope.kind == "File" and file_info and await self._changed(account, existing, file_info)):
                record.stored_as, record.repeat = existing, True
                for candidate in keys[1:]:  # a later transfer's keys find the item too
                    await run_in_threadpool(self.store.remember, account, candidate, existing)
                return JSONResponse({"status": "duplicate", "id": existing}, status_code=200)
            self._check_quota(size)
            relative = existing or await run_in_threadpool(self._place, account, envelope, key)
            if upload is not None:
                await run_in_threadpool(self.store.commit, upload, account, relative)
                sidecar = {"envelope": envelope.raw, **file_info, "headers": job}
                await run_in_threadpool(self.store.put_json, account, relative + ".dtp.json", sidecar)
            else:
                await run_in_threadpool(self.store.put_json, account, relative, envelope.payload)
            for candidate in keys:
                await run_in_threadpool(self.store.remember, account, candidate, relative)
            self.used_bytes += size
            record.stored_as = relative
            return JSONResponse({"status": "updated" if existing else "created", "id": relative}, status_code=200 if existing else 201)

    async def _changed(self, account: str, relative: str, file_info: dict) -> bool:
        sidecar = await run_in_threadpool(self.store.get_json, account, relative + ".dtp.json")
        return not sidecar or sidecar.get("sha256") != file_info["sha256"]

    def _place(self, account: str, envelope: Envelope, key: str) -> str:
        """Choose the relative path of a new item (see importer_store's layout)."""
        payload, kind = envelope.payload, envelope.kind
        if kind == "Album":
            return f"media/{safe_segment(payload['id'], fallback='_album')}/album.json"
        if kind in ("Photo", "Video"):
            folder = f"media/{safe_segment(payload['albumId'], fallback='_no_album')}"
            name = safe_segment(payload["name"], fallback=f"{kind.lower()}-{key[:12]}")
            return self.store.free_name(account, folder, name, key)
        if kind == "Folder":
            return "/".join(filter(None, ["blobs", safe_path(payload["path"]), ".folder.json"]))
        if kind == "File":
            folder = "/".join(filter(None, ["blobs", safe_path(payload["folder"])]))
            return self.store.free_name(account, folder, safe_segment(payload["name"], fallback=f"file-{key[:12]}"), key)
        if kind == "Calendar":
            return f"calendar/{safe_segment(payload['id'], fallback=key[:16])}/calendar.json"
        if kind == "CalendarEvent":
            return f"calendar/{safe_segment(payload['calendarId'], fallback='_no_calendar')}/events/{key[:24]}.json"
        return f"social-posts/{safe_segment(payload['activity']['id'], fallback=key[:24])}.json"


def _read_envelope(raw: bytes, where: str, record: ReceivedRequest, *, suffix: str, multipart: bool) -> Envelope:
    """Parse and validate the JSON envelope (the body, or part 1), recording it as received."""
    record.envelope = raw
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise EnvelopeError(where, f"is not valid JSON: {exc}") from None
    envelope = validate_envelope(document, suffix=suffix, multipart=multipart)
    record.payload_type = envelope.kind
    return envelope


async def _drain(request: Request) -> None:
    """Read and drop what is left of the body, so the client gets to read our answer."""
    try:
        async for _ in request.stream():
            pass
    except RuntimeError:  # already fully consumed
        pass


def _check_length(headers, actual: int, number: int) -> None:
    announced = headers.get("content-length")
    if announced is not None and (not announced.strip().isdigit() or int(announced) != actual):
        raise MultipartError(f"part {number} Content-Length says {announced} but the part has {actual} bytes")


def create_importer_router(
    storage_url: str,
    *,
    validate_token: Callable[[str], str | None],
    prefix: str = "",
    knobs: ServerKnobs | None = None,
    storage_options: dict[str, Any] | None = None,
) -> tuple[APIRouter, ImporterAPI]:
    """Build the four Generic Importer routes under ``prefix``; returns the router and its state."""
    api = ImporterAPI(storage_url, validate_token=validate_token, knobs=knobs, storage_options=storage_options)
    return api.router(prefix), api
