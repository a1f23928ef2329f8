"""The reference destination: Generic Importer API + OAuth authorization server in one FastAPI app.

``ferry serve-destination`` runs it; tests start it with
:class:`~ferry.servers.threaded.ThreadedServer`. Both halves share one
:class:`~ferry.servers.destination.tokens.TokenRegistry`: the OAuth server issues and rotates tokens, the
importer API checks ``Authorization: Bearer`` against it. Routes::

    GET  /                                         what is served where (JSON)
    POST {base_path}/media|blobs|calendar|social-posts
    GET  /.well-known/oauth-authorization-server   RFC 8414 metadata
    GET  /oauth/authorize, POST /oauth/token, POST /oauth/revoke

The receiving layer is :class:`connectors.inbound.InboundGuard`: a JSON body over 1 MiB (an
OAuth form over 64 KiB, a multipart upload over ``max_upload_bytes``) is answered 413
``payload_too_large`` by its ``Content-Length`` before being read (chunked ones when they cross
the cap), and more than ``max_concurrent`` requests in flight get 503 with ``Retry-After``.

The app keeps its parts on ``app.state``: ``importer`` (:class:`ImporterAPI`: knobs, received
requests, store), ``oauth`` (:class:`OAuthServer` or None) and ``tokens`` (the registry).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request

from connectors.inbound import InboundLimits, install_guard

from .importer_api import MAX_JSON_BYTES, ImporterAPI, ServerKnobs
from .tokens import TokenRegistry

__all__ = ["DEFAULT_MAX_UPLOAD", "MAX_FORM_BYTES", "create_app", "receiving_limits"]

#: The largest multipart upload (envelope + file) the reference destination takes by default.
DEFAULT_MAX_UPLOAD = 8 * 1024**3
#: OAuth requests are small forms.
MAX_FORM_BYTES = 64 * 1024


def receiving_limits(*, max_upload_bytes: int = DEFAULT_MAX_UPLOAD, max_concurrent: int = 64) -> InboundLimits:
    """Per-route body caps: uploads by ``max_upload_bytes``, JSON 1 MiB, OAuth forms 64 KiB."""

    def cap(path: str, content_type: str) -> int:
        if path.startswith(("/oauth/", "/.well-known/")):
            return MAX_FORM_BYTES
        if content_type.split(";")[0].strip().lower() == "multipart/related":
            return max_upload_bytes
        return MAX_JSON_BYTES

    return InboundLimits(max_body_bytes=cap, max_concurrent=max_concurrent)


def create_app(
    storage_url: str,
    *,
    base_path: str = "/dtp",
    storage_options: dict[str, Any] | None = None,
    knobs: ServerKnobs | None = None,
    clients: Iterable[Any] | None = None,
    client_id: str | None = "ferry",
    client_secret: str | None = None,
    redirect_uris: tuple[str, ...] = ("http://127.0.0.1/callback",),
    registry: TokenRegistry | None = None,
    static_tokens: Mapping[str, str] | None = None,
    validate_token: Callable[[str], str | None] | None = None,
    auto_approve: bool = True,
    account: str = "test-user",
    oauth: bool = True,
    limits: InboundLimits | None = None,
) -> FastAPI:
    """Build the reference destination app.

    Args:
        storage_url: fsspec URL where received items are stored.
        base_path: the Generic Importer base path (DTP's ``endpoint`` is ``<origin><base_path>``).
        storage_options: fsspec options (S3 endpoint, keys).
        knobs: test knobs of the importer API (quota, injected 429/5xx/malformed answers).
        clients: OAuth clients (:class:`~ferry.servers.destination.oauth_server.RegisteredClient`); by
            default one client ``client_id``/``client_secret`` with ``redirect_uris``.
        registry: the token book (a new one by default).
        static_tokens: fixed ``access token -> account`` pairs accepted besides issued tokens
            (handy for ``ferry conformance --token-env``); never expire.
        validate_token: replaces the token check entirely (``token -> account | None``).
        auto_approve: the OAuth server approves without a consent page (tests, demos).
        account: the account OAuth grants belong to.
        oauth: mount the OAuth authorization server.
        limits: body caps and concurrency bound (default :func:`receiving_limits`).
    """
    registry = registry or TokenRegistry()
    fixed = dict(static_tokens or {})

    def default_validate(token: str) -> str | None:
        return fixed.get(token) or registry.validate(token)

    app = FastAPI(title="ferry reference destination (DTP Generic Importer)", docs_url="/docs", redoc_url=None)
    install_guard(app, limits or receiving_limits())
    importer = ImporterAPI(
        storage_url, validate_token=validate_token or default_validate, knobs=knobs, storage_options=storage_options
    )
    base = "/" + base_path.strip("/") if base_path.strip("/") else ""
    app.include_router(importer.router(base))
    app.state.importer = importer
    app.state.tokens = registry
    app.state.oauth = None
    if oauth:
        from .oauth_server import OAuthServer, RegisteredClient

        if clients is None:
            clients = [RegisteredClient(client_id or "ferry", client_secret, tuple(redirect_uris))]
        server = OAuthServer(clients, registry=registry, auto_approve=auto_approve, account=account)
        app.include_router(server.router)
        app.state.oauth = server

    @app.get("/", include_in_schema=False)
    async def index(request: Request) -> dict:
        origin = f"{request.url.scheme}://{request.url.netloc}"
        answer: dict[str, Any] = {
            "service": "ferry reference destination (DTP Generic Importer)",
            "base_url": origin + base,
            "endpoints": [f"{origin}{base}/{suffix}" for suffix in ("media", "blobs", "calendar", "social-posts")],
        }
        if app.state.oauth is not None:
            answer["oauth_metadata"] = f"{origin}/.well-known/oauth-authorization-server"
        return answer

    return app
