"""A fake TikTok (Login Kit OAuth + Data Portability API + webhooks) for the tests.

Runs as a real FastAPI server on 127.0.0.1 (``FakeTikTok().start()``; ``.base_url``). It speaks the
documented shapes: the ``{"data", "error": {code, message, log_id}}`` envelope, 401
``access_token_invalid`` / ``scope_not_authorized``, 429 ``rate_limit_exceeded`` with
``Retry-After``, the four request states, and signed webhooks (``TikTok-Signature``).

Time is controlled by the test, never by a clock: :meth:`FakeTikTok.advance` moves a request to
``downloading`` (delivering the webhook when ``webhook_url`` is set), ``expired``, ``cancelled``
or any other string; ``ready_after_checks=N`` makes a request ready by itself after N Check
calls; ``POST /_fake/requests/{id}/advance?to=...`` does the same over HTTP. Other knobs:
:meth:`rate_limit_next`, :meth:`fail_next`, :meth:`truncate_next_download`, ``data`` (the dict
zipped as ``user_data_tiktok.json``, or raw bytes for a malformed export; see :func:`sample_data`),
:meth:`add_posts` (the account grows: new posts at the top of the list), ``media_in_zip`` (the zip
also carries each post's media file) and ``cdn`` (the media host: links signed afresh for every
download, expiring on demand, counted; see ``tiktok_cdn.py``).

The module is a little over the house 400 lines on purpose: the whole fake API (OAuth, the four
data calls, webhooks, knobs) reads in one place; the export data lives in ``tiktok_data.py``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse

from connectors.tiktok.webhooks import SIGNATURE_HEADER, signature_header

from .server import ThreadedServer
from .tiktok_cdn import MEDIA_PATH, FakeCdn
from .tiktok_data import PHOTO_BYTES, VIDEO_BYTES, build_zip, media_bytes, new_post, older_sample_data, sample_data

__all__ = ["FakeTikTok", "sample_data", "older_sample_data", "build_zip", "VIDEO_BYTES", "PHOTO_BYTES", "media_bytes"]

CATEGORY_FAMILY = {
    "all_data": "all",
    "activity": "activity",
    "video": "postsandprofile",
    "profile": "postsandprofile",
    "direct_message": "directmessages",
}
ALL_SCOPES = tuple(f"portability.{f}.{m}" for f in ("all", "activity", "directmessages", "postsandprofile") for m in ("single", "ongoing"))


@dataclass
class _Grant:
    open_id: str
    scopes: tuple[str, ...]
    adds: int = 0
    revoked: bool = False


@dataclass
class FakeRequest:
    request_id: int
    grant: _Grant
    categories: list[str]
    data_format: str
    status: str = "pending"
    apply_time: int = 1_735_689_600
    collect_time: int | None = None
    checks: int = 0


@dataclass
class _Calls:
    log: list[str] = field(default_factory=list)
    times: list[tuple[str, float]] = field(default_factory=list)  # (call, time.monotonic())
    window: deque = field(default_factory=deque)


class FakeTikTok:
    """The fake service. All state is in memory; methods are thread-safe enough for tests.

    Args:
        client_key / client_secret: the registered app.
        rate_limit: ``(calls, seconds)`` sliding window for data calls, or None.
        webhook_url: where to POST signed ``portability.download.ready`` events.
        ready_after_checks: make a pending request ready after this many Check calls.
        single_use: a grant with only ``.single`` portability scopes allows one Add call.
        redirect_uris: the app's registered redirect URIs; /authorize refuses any other (as
            TikTok does: exact match, port included). None accepts any.

    Login Kit for desktop: when /authorize gets a ``code_challenge``, the token exchange must
    bring the ``code_verifier`` whose SHA-256 is that challenge *hex*-encoded (TikTok's desktop
    flow), else ``invalid_grant``.
    """

    def __init__(
        self,
        *,
        client_key: str = "fake-client-key",
        client_secret: str = "fake-client-secret",
        rate_limit: tuple[int, float] | None = None,
        webhook_url: str | None = None,
        ready_after_checks: int | None = None,
        single_use: bool = True,
        redirect_uris: tuple[str, ...] | None = None,
    ) -> None:
        self.client_key = client_key
        self.client_secret = client_secret
        self.rate_limit = rate_limit
        self.webhook_url = webhook_url
        self.ready_after_checks = ready_after_checks
        self.single_use = single_use
        self.redirect_uris = redirect_uris
        self.login_open_id = "open-1"
        self.data: dict | bytes | None = None  # None: sample_data(base_url)
        self.data_member = "user_data_tiktok.json"
        self.extra_members: dict[str, bytes] = {}
        self.added_posts: list[dict] = []
        self.download_sizes: list[int] = []  # bytes of each zip served
        self.raw_zip: bytes | None = None  # served as it is (hostile archives, tests/hostile/tiktok.py)
        self.media_in_zip = False
        self.cdn = FakeCdn()
        self.requests: dict[int, FakeRequest] = {}
        self.calls = _Calls()
        self.webhook_results: list[int] = []
        self._lock = threading.RLock()
        self._ids = itertools.count(7_000_000_000_001)
        self._codes: dict[str, tuple[_Grant, str, str, str | None]] = {}  # code -> grant, redirect_uri, state, challenge
        self._access: dict[str, _Grant] = {}
        self._refresh: dict[str, _Grant] = {}
        self._forced: deque[tuple[str, int, float | None, str | None]] = deque()
        self._truncate: deque[str] = deque()
        self._server: ThreadedServer | None = None
        self.app = self._build_app()

    # -- server ---------------------------------------------------------------------------

    def start(self) -> "FakeTikTok":
        self._server = ThreadedServer(self.app).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()

    def __enter__(self) -> "FakeTikTok":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return self._server.url

    # -- knobs ----------------------------------------------------------------------------

    def issue_token(self, scopes: tuple[str, ...] = ("portability.all.single",), open_id: str = "open-1") -> tuple[str, str]:
        """Skip the browser: return ``(access_token, refresh_token)`` of a new grant."""
        grant = _Grant(open_id, tuple(scopes))
        return self._mint(grant)

    def expire_access_token(self, token: str) -> None:
        with self._lock:
            self._access.pop(token, None)

    def advance(self, request_id: int, to: str = "downloading", *, deliver: bool = True) -> None:
        """Move a request to status ``to`` (any string); ready requests trigger the webhook."""
        with self._lock:
            req = self.requests[request_id]
            req.status = to
            if to == "downloading":
                req.collect_time = req.apply_time + 3600
        if to == "downloading" and deliver and self.webhook_url:
            self.deliver_webhook(request_id)

    def rate_limit_next(self, n: int = 1, retry_after: float = 7) -> None:
        """The next ``n`` data calls answer 429 rate_limit_exceeded with ``Retry-After``."""
        for _ in range(n):
            self._forced.append(("rate_limit_exceeded", 429, retry_after, None))

    def fail_next(self, code: str = "internal_error", http_status: int = 500, *, call: str | None = None) -> None:
        """The next data call (or the next ``call``: add, check, cancel, download) answers
        ``code``; use http_status=200 for a body-only error."""
        self._forced.append((code, http_status, None, call))

    def truncate_next_download(self, mode: str = "cut") -> None:
        """``cut``: full Content-Length, half the body, connection closed. ``short_zip``: no
        Content-Length, half a zip."""
        self._truncate.append(mode)

    def add_posts(self, n: int = 2, *, photo: bool = False) -> None:
        """The account grows by ``n`` posts (newest first in the list, as TikTok shows them)."""
        for _ in range(n):
            self.added_posts.insert(0, new_post(self.base_url, len(self.added_posts) + 1, photo=photo))

    def zip_bytes(self) -> bytes:
        """The zip one Download call serves: the data with every media link signed afresh."""
        if self.raw_zip is not None:
            return self.raw_zip
        data = self.data if self.data is not None else sample_data(self.base_url)
        if isinstance(data, bytes):
            return build_zip(data, member=self.data_member, extra=self.extra_members)
        data = json.loads(json.dumps(data))
        posts = data.get("Post", {}).get("Posts", {})
        if isinstance(posts, dict) and isinstance(posts.get("VideoList"), list):
            posts["VideoList"] = [*self.added_posts, *posts["VideoList"]]
        extra = dict(self.extra_members)
        if self.media_in_zip:
            extra.update(self._media_members(data))
        text = self.cdn.sign_all(json.dumps(data, indent=2), self.base_url)
        return build_zip(text, member=self.data_member, extra=extra)

    @staticmethod
    def _media_members(data: dict) -> dict[str, bytes]:
        """Each post's media as a zip member named by its date (``Posts/20250301100000.mp4``)."""
        found = {}
        for entry in data.get("Post", {}).get("Posts", {}).get("VideoList", []) or []:
            link = entry.get("Link") if isinstance(entry, dict) else None
            if isinstance(link, str) and MEDIA_PATH in link:
                name = link.rsplit("/", 1)[-1]
                stamp = "".join(ch for ch in entry.get("Date", "") if ch.isdigit())
                found[f"Posts/{stamp}.{name.rsplit('.', 1)[-1]}"] = media_bytes(name)
        return found

    def webhook_body(self, request_id: int, *, event: str = "portability.download.ready", create_time: int | None = None) -> bytes:
        content = json.dumps({"request_id": request_id}) if event == "portability.download.ready" else json.dumps({"reason": 1})
        envelope = {
            "client_key": self.client_key,
            "event": event,
            "create_time": create_time or int(time.time()),
            "user_openid": "open-1",
            "content": content,
        }
        return json.dumps(envelope).encode()

    def deliver_webhook(self, request_id: int, *, times: int = 1, secret: str | None = None, timestamp: int | None = None) -> list[int]:
        """POST the signed ready event ``times`` times (at-least-once); return the status codes."""
        assert self.webhook_url, "no webhook_url configured"
        body = self.webhook_body(request_id)
        ts = timestamp if timestamp is not None else int(time.time())
        header = signature_header(body, secret or self.client_secret, ts)
        codes = []
        for _ in range(times):
            resp = httpx.post(self.webhook_url, content=body, headers={SIGNATURE_HEADER: header, "Content-Type": "application/json"})
            codes.append(resp.status_code)
        self.webhook_results.extend(codes)
        return codes

    def adds(self) -> int:
        return sum(1 for c in self.calls.log if c == "add")

    # -- internals ------------------------------------------------------------------------

    def _mint(self, grant: _Grant) -> tuple[str, str]:
        access, refresh = "act." + secrets.token_hex(8), "rft." + secrets.token_hex(8)
        with self._lock:
            self._access[access] = grant
            self._refresh[refresh] = grant
        return access, refresh

    @staticmethod
    def _error(code: str, message: str, status: int, headers: dict | None = None) -> JSONResponse:
        body = {"data": {}, "error": {"code": code, "message": message, "log_id": "fake-log-" + code}}
        return JSONResponse(body, status_code=status, headers=headers)

    @staticmethod
    def _ok(data: dict | None = None) -> JSONResponse:
        return JSONResponse({"data": data or {}, "error": {"code": "ok", "message": "", "log_id": "fake-log-ok"}})

    def _gate(self, request: Request, name: str) -> tuple[_Grant | None, JSONResponse | None]:
        """Rate limit, forced errors and bearer check shared by the data calls."""
        self.calls.log.append(name)
        self.calls.times.append((name, time.monotonic()))
        forced = next((f for f in self._forced if f[3] in (None, name)), None)
        if forced is not None:
            self._forced.remove(forced)
            code, status, retry_after, _ = forced
            headers = {"Retry-After": str(int(retry_after))} if retry_after is not None else None
            return None, self._error(code, f"forced {code}", status, headers)
        if self.rate_limit is not None:
            limit, window = self.rate_limit
            now = time.monotonic()
            win = self.calls.window
            while win and now - win[0] > window:
                win.popleft()
            if len(win) >= limit:
                retry = max(1, int(window - (now - win[0])))
                return None, self._error("rate_limit_exceeded", "too many requests", 429, {"Retry-After": str(retry)})
            win.append(now)
        auth = request.headers.get("authorization", "")
        grant = self._access.get(auth.removeprefix("Bearer ").strip())
        if grant is None or grant.revoked:
            return None, self._error("access_token_invalid", "The access token is invalid or not found", 401)
        return grant, None

    def _request_of(self, grant: _Grant, body: dict) -> FakeRequest | JSONResponse:
        try:
            req = self.requests[int(body["request_id"])]
        except (KeyError, TypeError, ValueError):
            return self._error("invalid_params", "request_id is invalid", 400)
        if req.grant is not grant and req.grant.open_id != grant.open_id:
            return self._error("invalid_params", "request_id is invalid", 400)
        return req

    def _build_app(self) -> FastAPI:
        app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
        fake = self

        # -- OAuth (Login Kit) --

        @app.get("/v2/auth/authorize/")
        def authorize(client_key: str, scope: str, redirect_uri: str, state: str = "", response_type: str = "code", code_challenge: str | None = None):
            if client_key != fake.client_key or response_type != "code":
                return JSONResponse({"error": "invalid_client"}, status_code=400)
            if fake.redirect_uris is not None and redirect_uri not in fake.redirect_uris:
                return JSONResponse({"error": "invalid_request", "error_description": "redirect_uri is not registered"}, status_code=400)
            scopes = tuple(s for s in scope.split(",") if s)
            code = "code." + secrets.token_hex(6)
            fake._codes[code] = (_Grant(fake.login_open_id, scopes), redirect_uri, state, code_challenge)
            query = urlencode({"code": code, "scopes": ",".join(scopes), "state": state})
            return RedirectResponse(f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{query}", status_code=302)

        def oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
            return JSONResponse({"error": error, "error_description": description, "log_id": "fake-oauth"}, status_code=status)

        async def form_of(request: Request) -> dict[str, str]:
            # Parsed by hand: FastAPI's Form() needs python-multipart, which ferry does not ship.
            pairs = parse_qsl((await request.body()).decode(), keep_blank_values=True)
            return dict(pairs)

        @app.post("/v2/oauth/token/")
        async def token(request: Request):
            form = await form_of(request)
            if form.get("client_key") != fake.client_key or form.get("client_secret") != fake.client_secret:
                return oauth_error("invalid_client", "client_key or client_secret is wrong", 401)
            grant_type = form.get("grant_type", "")
            with fake._lock:
                if grant_type == "authorization_code":
                    entry = fake._codes.pop(form.get("code", ""), None)
                    if entry is None or entry[1] != form.get("redirect_uri"):
                        return oauth_error("invalid_grant", "authorization code is invalid or used")
                    challenge = entry[3]
                    verifier = form.get("code_verifier", "")
                    if challenge is not None and hashlib.sha256(verifier.encode()).hexdigest() != challenge:
                        return oauth_error("invalid_grant", "code_verifier does not match the code_challenge")
                    grant = entry[0]
                elif grant_type == "refresh_token":
                    grant = fake._refresh.pop(form.get("refresh_token", ""), None)  # rotates: old one dies
                    if grant is None or grant.revoked:
                        return oauth_error("invalid_grant", "refresh token is invalid")
                else:
                    return oauth_error("unsupported_grant_type", grant_type)
            access, refresh = fake._mint(grant)
            return JSONResponse({
                "open_id": grant.open_id,
                "scope": ",".join(grant.scopes),
                "access_token": access,
                "expires_in": 86400,
                "refresh_token": refresh,
                "refresh_expires_in": 31536000,
                "token_type": "Bearer",
            })

        @app.post("/v2/oauth/revoke/")
        async def revoke(request: Request):
            form = await form_of(request)
            if form.get("client_key") != fake.client_key or form.get("client_secret") != fake.client_secret:
                return oauth_error("invalid_client", "client_key or client_secret is wrong", 401)
            with fake._lock:
                grant = fake._access.get(form.get("token", "")) or fake._refresh.get(form.get("token", ""))
                if grant is not None:
                    grant.revoked = True
            return JSONResponse({})

        # -- Data Portability --

        @app.post("/v2/user/data/add/")
        async def add(request: Request, fields: str = ""):
            grant, err = fake._gate(request, "add")
            if err:
                return err
            body = await request.json()
            cats = body.get("category_selection_list") or []
            fmt = body.get("data_format")
            if fmt not in ("json", "text") or not cats or any(c not in CATEGORY_FAMILY for c in cats):
                return fake._error("invalid_params", "data_format or category_selection_list is invalid", 400)
            portability = [s for s in grant.scopes if s.startswith("portability.")]
            for cat in cats:
                fam = CATEGORY_FAMILY[cat]
                if not any(s.startswith((f"portability.{fam}.", "portability.all.")) for s in portability):
                    return fake._error("scope_not_authorized", f"category {cat} is not authorized", 401)
            if fake.single_use and portability and all(s.endswith(".single") for s in portability) and grant.adds >= 1:
                return fake._error("scope_permission_missed", "a .single scope allows one data request", 401)
            with fake._lock:
                grant.adds += 1
                req = FakeRequest(next(fake._ids), grant, list(cats), fmt)
                fake.requests[req.request_id] = req
            return fake._ok({"request_id": req.request_id})

        @app.post("/v2/user/data/check/")
        async def check(request: Request, fields: str = ""):
            grant, err = fake._gate(request, "check")
            if err:
                return err
            req = fake._request_of(grant, await request.json())
            if isinstance(req, JSONResponse):
                return req
            req.checks += 1
            if fake.ready_after_checks is not None and req.status == "pending" and req.checks >= fake.ready_after_checks:
                fake.advance(req.request_id, "downloading")
            return fake._ok({
                "request_id": req.request_id,
                "status": req.status,
                "apply_time": req.apply_time,
                "collect_time": req.collect_time,
                "data_format": req.data_format,
                "category_selection_list": req.categories,
            })

        @app.post("/v2/user/data/cancel/")
        async def cancel(request: Request):
            grant, err = fake._gate(request, "cancel")
            if err:
                return err
            req = fake._request_of(grant, await request.json())
            if isinstance(req, JSONResponse):
                return req
            if req.status not in ("pending", "downloading"):
                return fake._error("invalid_params", f"request is {req.status}", 400)
            req.status = "cancelled"
            return JSONResponse({"error": {"code": "ok", "message": "", "log_id": "fake-log-ok"}})

        @app.post("/v2/user/data/download/")
        async def download(request: Request):
            grant, err = fake._gate(request, "download")
            if err:
                return err
            req = fake._request_of(grant, await request.json())
            if isinstance(req, JSONResponse):
                return req
            if req.status != "downloading":
                return fake._error("invalid_params", f"request is {req.status}, not ready", 400)
            blob = fake.zip_bytes()
            fake.download_sizes.append(len(blob))
            mode = fake._truncate.popleft() if fake._truncate else None
            headers = {"Content-Disposition": f'attachment; filename="{req.request_id}.zip"'}
            if mode == "cut":
                return _CutResponse(blob, headers)
            body = blob[: len(blob) // 2] if mode == "short_zip" else blob

            def chunks():
                for i in range(0, len(body), 4096):
                    yield body[i : i + 4096]

            if mode is None:
                headers["Content-Length"] = str(len(body))
            return StreamingResponse(chunks(), media_type="application/zip", headers=headers)

        # -- test-only helpers --

        @app.post("/_fake/requests/{request_id}/advance")
        def http_advance(request_id: int, to: str = "downloading"):
            fake.advance(request_id, to)
            return {"request_id": request_id, "status": to}

        @app.get("/_fake/page/{name}")
        def page(name: str):
            return Response("<html><body>share page</body></html>", media_type="text/html")

        fake.cdn.mount(app)
        return app


class _CutResponse(Response):
    """A response that promises the whole zip but sends half and closes the connection."""

    def __init__(self, blob: bytes, headers: dict) -> None:
        super().__init__(b"", media_type="application/zip")
        self.blob, self.extra = blob, headers

    async def __call__(self, scope, receive, send) -> None:
        headers = [(b"content-type", b"application/zip"), (b"content-length", str(len(self.blob)).encode())]
        headers += [(k.lower().encode(), v.encode()) for k, v in self.extra.items()]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": self.blob[: len(self.blob) // 2], "more_body": True})
        # Returning without the final body message makes uvicorn drop the connection mid-body.


class FakeTokens:
    """A TokenSource over the fake's OAuth endpoint: refresh really rotates the refresh token.

    Stands in for the credential store's token source; ``refreshes`` counts refresh calls.
    """

    def __init__(self, fake: FakeTikTok, scopes: tuple[str, ...] = ("portability.all.single",)) -> None:
        self._fake = fake
        self._access, self._refresh = fake.issue_token(scopes)
        self.refreshes = 0

    def access_token(self) -> str:
        return self._access

    def refresh(self, rejected: str) -> str:
        from connectors.errors import ReauthRequired

        if rejected != self._access:
            return self._access
        resp = httpx.post(
            f"{self._fake.base_url}/v2/oauth/token/",
            data={
                "client_key": self._fake.client_key,
                "client_secret": self._fake.client_secret,
                "grant_type": "refresh_token",
                "refresh_token": self._refresh,
            },
        )
        body = resp.json()
        if "access_token" not in body:
            raise ReauthRequired(f"refresh failed: {body.get('error')}")
        self._access, self._refresh = body["access_token"], body["refresh_token"]
        self.refreshes += 1
        return self._access

    def __repr__(self) -> str:
        return "FakeTokens(<hidden>)"
