"""An OAuth 2.0 authorization server for the reference destination and the tests (FastAPI).

Endpoints (``prefix`` is the issuer's path, empty by default):

* ``GET /.well-known/oauth-authorization-server{prefix}`` - RFC 8414 metadata (path inserted);
  ``/.well-known/openid-configuration{prefix}`` too when ``serve_openid`` is set.
* ``GET {prefix}/oauth/authorize`` - authorization code + PKCE (S256 only). Checks the client and
  ``redirect_uri`` first (a bad one gets a 400 page, never a redirect). In test mode
  (``auto_approve``) it redirects straight back with ``code`` and ``state``; otherwise it shows an
  approve/deny form that posts back to the same path.
* ``POST {prefix}/oauth/token`` - ``authorization_code`` (verifier checked, codes single-use,
  10 minutes) and ``refresh_token`` with rotation. Clients authenticate with HTTP Basic or with
  ``client_id``/``client_secret`` in the body (``client_secret_post``, what DTP's
  ``OAuthTokenManager`` sends). Errors: 400 ``invalid_grant`` and friends, 401
  ``invalid_client``, and 401 ``session_invalidated`` when a test asks for it (DTP's code).
* ``POST {prefix}/oauth/revoke`` - RFC 7009: 200 for any token, known or not; counted per token.

Test knobs live on :class:`OAuthServer`: ``access_token_lifetime``, :meth:`~OAuthServer.fail_next_refresh`,
:meth:`~OAuthServer.fail_next_revoke`, :meth:`~OAuthServer.expire_access_tokens`,
``refresh_delay``, ``refresh_count``, :meth:`~OAuthServer.revocation_count` and ``token_requests``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import html
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from connectors.oauth import redirect_uri_allowed

from .tokens import TokenRegistry

__all__ = ["RegisteredClient", "OAuthServer", "create_oauth_router"]

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
CODE_LIFETIME = 600.0


@dataclass(frozen=True)
class RegisteredClient:
    """A client the server knows. ``client_secret`` None: a public client (PKCE only).

    ``redirect_uris`` follow :func:`connectors.oauth.redirect_uri_allowed`: a loopback entry
    without a port accepts any port (RFC 8252 §7.3).
    """

    client_id: str
    client_secret: str | None = None
    redirect_uris: tuple[str, ...] = ("http://127.0.0.1/callback",)

    def __repr__(self) -> str:
        return f"RegisteredClient({self.client_id!r}, redirect_uris={self.redirect_uris!r})"


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    challenge: str
    scope: tuple[str, ...]
    account: str
    expires: float


class _OAuthError(Exception):
    def __init__(self, error: str, description: str = "", status: int = 400):
        super().__init__(error)
        self.error, self.description, self.status = error, description, status

    def response(self) -> JSONResponse:
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        headers = dict(_NO_STORE)
        if self.status == 401 and self.error == "invalid_client":
            headers["WWW-Authenticate"] = 'Basic realm="ferry-dev"'
        return JSONResponse(body, status_code=self.status, headers=headers)


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


async def _form(request: Request) -> dict[str, str]:
    """The form-encoded body (parsed here: no python-multipart dependency for three endpoints)."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    return dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))


def _with_query(uri: str, params: dict[str, str]) -> str:
    parts = urlsplit(uri)
    query = "&".join(filter(None, [parts.query, urlencode(params)]))
    return urlunsplit(parts._replace(query=query))


class OAuthServer:
    """State and test knobs of one authorization server; mount :attr:`router` in an app.

    Args:
        clients: the registered clients.
        registry: the token book shared with the resource API (one is made if not given).
        issuer: the issuer to announce; default ``<scheme>://<host><prefix>`` of each request.
            Set it to something else to test the client's issuer check.
        prefix: the issuer's path (``/tenant1``), tested by RFC 8414 path insertion.
        auto_approve: test mode: approve every authorization request without a page.
        account: the account every grant belongs to.
        serve_rfc8414 / serve_openid: which discovery documents to serve.
    """

    def __init__(
        self,
        clients: Iterable[RegisteredClient],
        *,
        registry: TokenRegistry | None = None,
        issuer: str | None = None,
        prefix: str = "",
        auto_approve: bool = True,
        account: str = "test-user",
        serve_rfc8414: bool = True,
        serve_openid: bool = False,
    ):
        self.clients = {c.client_id: c for c in clients}
        self.registry = registry or TokenRegistry()
        self.issuer = issuer
        self.prefix = prefix.rstrip("/")
        self.auto_approve = auto_approve
        self.account = account
        self.serve_rfc8414 = serve_rfc8414
        self.serve_openid = serve_openid
        self.refresh_count = 0
        #: Seconds each refresh answer is held back (widens race windows in concurrency tests).
        self.refresh_delay = 0.0
        #: (grant_type, client auth method) of every token request, for checking what clients send.
        self.token_requests: list[tuple[str, str]] = []
        self._codes: dict[str, _Code] = {}
        self._refresh_failures: list[str] = []
        self._revoke_failures: list[tuple[int, float | None]] = []
        self._lock = threading.Lock()
        self.router = self._build_router()

    # -- test knobs -----------------------------------------------------------------------------

    @property
    def access_token_lifetime(self) -> float:
        return self.registry.access_lifetime

    @access_token_lifetime.setter
    def access_token_lifetime(self, seconds: float) -> None:
        self.registry.access_lifetime = seconds

    def fail_next_refresh(self, error: Literal["invalid_grant", "session_invalidated"] = "invalid_grant", times: int = 1) -> None:
        """Make the next ``times`` refresh requests fail: 400 invalid_grant or 401 session_invalidated."""
        with self._lock:
            self._refresh_failures.extend([error] * times)

    def fail_next_revoke(self, status: int = 503, retry_after: float | None = 1.0) -> None:
        """Make the next revocation request answer ``status`` (with ``Retry-After``)."""
        with self._lock:
            self._revoke_failures.append((status, retry_after))

    def expire_access_tokens(self) -> None:
        """Expire every access token now, so the API answers 401 invalid_token."""
        self.registry.expire_access_tokens()

    def revocation_count(self, token: str) -> int:
        """How many revocation requests named ``token``."""
        return self.registry.revocations[token]

    # -- helpers ----------------------------------------------------------------------------------

    def _issuer(self, request: Request) -> str:
        if self.issuer:
            return self.issuer
        return f"{request.url.scheme}://{request.url.netloc}{self.prefix}"

    def _base(self, request: Request) -> str:
        return f"{request.url.scheme}://{request.url.netloc}{self.prefix}"

    def metadata(self, request: Request) -> dict:
        base = self._base(request)
        return {
            "issuer": self._issuer(request),
            "authorization_endpoint": f"{base}/oauth/authorize",
            "token_endpoint": f"{base}/oauth/token",
            "revocation_endpoint": f"{base}/oauth/revoke",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        }

    def _authenticate(self, request: Request, form: dict[str, str]) -> tuple[RegisteredClient, str]:
        """Identify the client by HTTP Basic or body parameters; (client, method) or 401."""
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(header[6:], validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise _OAuthError("invalid_client", "malformed Basic credentials", 401) from None
            client_id, _, secret = decoded.partition(":")
            client_id, secret, method = unquote(client_id), unquote(secret), "client_secret_basic"
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret")
            method = "client_secret_post" if secret is not None else "none"
        client = self.clients.get(client_id)
        if client is None:
            raise _OAuthError("invalid_client", "unknown client", 401)
        if client.client_secret is not None:
            if secret is None or not hmac.compare_digest(secret.encode(), client.client_secret.encode()):
                raise _OAuthError("invalid_client", "client authentication failed", 401)
        return client, method

    def _issue_code(self, client: RegisteredClient, params: dict[str, str]) -> str:
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Code(
                client_id=client.client_id,
                redirect_uri=params["redirect_uri"],
                challenge=params["code_challenge"],
                scope=tuple(params.get("scope", "").split()),
                account=self.account,
                expires=time.time() + CODE_LIFETIME,
            )
        return _with_query(params["redirect_uri"], {"code": code, **({"state": params["state"]} if "state" in params else {})})

    def _check_authorize(self, params: dict[str, str]) -> tuple[RegisteredClient | None, Response | None]:
        """Validate an authorization request: (client, None) or (None, the answer to send)."""
        client = self.clients.get(params.get("client_id", ""))
        redirect_uri = params.get("redirect_uri", "")
        if client is None:
            return None, HTMLResponse("<h1>unknown client</h1>", status_code=400)
        if not redirect_uri or not redirect_uri_allowed(redirect_uri, client.redirect_uris):
            # RFC 6749 §4.1.2.1: never redirect to an unregistered URI.
            return None, HTMLResponse("<h1>redirect_uri is not registered for this client</h1>", status_code=400)
        state = {"state": params["state"]} if "state" in params else {}
        if params.get("response_type") != "code":
            return None, RedirectResponse(_with_query(redirect_uri, {"error": "unsupported_response_type", **state}), 302)
        if not params.get("code_challenge") or params.get("code_challenge_method") != "S256":
            error = {"error": "invalid_request", "error_description": "PKCE with S256 is required"}
            return None, RedirectResponse(_with_query(redirect_uri, {**error, **state}), 302)
        return client, None

    # -- the endpoints ------------------------------------------------------------------------

    def _build_router(self) -> APIRouter:
        router = APIRouter()
        prefix = self.prefix

        async def metadata(request: Request) -> JSONResponse:
            return JSONResponse(self.metadata(request))

        if self.serve_rfc8414:
            router.add_api_route(f"/.well-known/oauth-authorization-server{prefix}", metadata, methods=["GET"])
        if self.serve_openid:
            router.add_api_route(f"/.well-known/openid-configuration{prefix}", metadata, methods=["GET"])

        @router.get(f"{prefix}/oauth/authorize")
        async def authorize(request: Request) -> Response:
            params = dict(request.query_params)
            client, refusal = self._check_authorize(params)
            if refusal is not None:
                return refusal
            if self.auto_approve:
                return RedirectResponse(self._issue_code(client, params), 302)
            fields = "".join(
                f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in params.items()
            )
            return HTMLResponse(
                f"<h1>Allow {html.escape(client.client_id)} to write to your ferry destination?</h1>"
                f'<form method="post">{fields}<button name="decision" value="approve">Approve</button>'
                f'<button name="decision" value="deny">Deny</button></form>'
            )

        @router.post(f"{prefix}/oauth/authorize")
        async def decide(request: Request) -> Response:
            params = await _form(request)
            decision = params.pop("decision", "deny")
            client, refusal = self._check_authorize(params)
            if refusal is not None:
                return refusal
            if decision != "approve":
                state = {"state": params["state"]} if "state" in params else {}
                return RedirectResponse(_with_query(params["redirect_uri"], {"error": "access_denied", **state}), 302)
            return RedirectResponse(self._issue_code(client, params), 302)

        @router.post(f"{prefix}/oauth/token")
        async def token(request: Request) -> Response:
            form = await _form(request)
            try:
                client, method = self._authenticate(request, form)
                grant_type = form.get("grant_type", "")
                with self._lock:
                    self.token_requests.append((grant_type, method))
                if grant_type == "authorization_code":
                    answer = self._exchange(client, form)
                elif grant_type == "refresh_token":
                    if self.refresh_delay:
                        await asyncio.sleep(self.refresh_delay)
                    answer = self._refresh(client, form)
                else:
                    raise _OAuthError("unsupported_grant_type", f"grant_type {grant_type!r} is not supported")
            except _OAuthError as exc:
                return exc.response()
            return JSONResponse(answer, headers=_NO_STORE)

        @router.post(f"{prefix}/oauth/revoke")
        async def revoke(request: Request) -> Response:
            form = await _form(request)
            try:
                self._authenticate(request, form)
                if not form.get("token"):
                    raise _OAuthError("invalid_request", "token is required")
            except _OAuthError as exc:
                return exc.response()
            with self._lock:
                failure = self._revoke_failures.pop(0) if self._revoke_failures else None
            if failure is not None:
                status, retry_after = failure
                headers = {"Retry-After": str(int(retry_after))} if retry_after is not None else {}
                return JSONResponse({"error": "temporarily_unavailable"}, status_code=status, headers=headers)
            self.registry.revoke(form["token"], form.get("token_type_hint"))
            return Response(status_code=200)

        return router

    def _exchange(self, client: RegisteredClient, form: dict[str, str]) -> dict:
        with self._lock:
            code = self._codes.pop(form.get("code", ""), None)  # single use
        if code is None or code.expires < time.time() or code.client_id != client.client_id:
            raise _OAuthError("invalid_grant", "the authorization code is invalid, used or expired")
        if form.get("redirect_uri") != code.redirect_uri:
            raise _OAuthError("invalid_grant", "redirect_uri differs from the authorization request")
        verifier = form.get("code_verifier", "")
        if not verifier or not hmac.compare_digest(_s256(verifier), code.challenge):
            raise _OAuthError("invalid_grant", "PKCE verification failed")
        return self.registry.issue(code.account, client_id=client.client_id, scope=code.scope)

    def _refresh(self, client: RegisteredClient, form: dict[str, str]) -> dict:
        with self._lock:
            self.refresh_count += 1
            failure = self._refresh_failures.pop(0) if self._refresh_failures else None
        if failure == "session_invalidated":
            raise _OAuthError("session_invalidated", "The refresh token was revoked", 401)
        if failure is not None:
            raise _OAuthError(failure, "refresh refused by the test knob")
        answer = self.registry.rotate(form.get("refresh_token", ""), client_id=client.client_id)
        if answer is None:
            raise _OAuthError("invalid_grant", "the refresh token is invalid, rotated or revoked")
        return answer


def create_oauth_router(clients: Iterable[RegisteredClient], **options) -> tuple[APIRouter, OAuthServer]:
    """Build an :class:`OAuthServer` and return its router with it (the server holds the knobs)."""
    server = OAuthServer(clients, **options)
    return server.router, server
