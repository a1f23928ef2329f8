"""``ferry serve-destination``: run the reference DTP Generic Importer destination locally."""

from __future__ import annotations

import os

import typer

from ._safe_text import safe


def serve_destination(
    storage_url: str = typer.Argument("./ferry-destination", help="fsspec URL where received items are stored."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8765, "--port", help="Port to listen on."),
    base_path: str = typer.Option("/dtp", "--base-path", help="Path of the Generic Importer base URL."),
    client_id: str = typer.Option("ferry", "--client-id", help="OAuth client id the server accepts."),
    client_secret_env: str = typer.Option(
        "", "--client-secret-env", help="Environment variable holding the OAuth client secret (none: public client, PKCE only)."
    ),
    redirect_uri: list[str] = typer.Option(
        ["http://127.0.0.1/callback"], "--redirect-uri", help="Allowed OAuth redirect URI (repeatable; loopback without port = any port)."
    ),
    static_token_env: str = typer.Option(
        "", "--static-token-env", help="Environment variable holding a fixed access token to accept too (for ferry conformance)."
    ),
    quota_bytes: int = typer.Option(0, "--quota-bytes", min=0, help="Answer 413 destination_full beyond this many bytes (0: no quota)."),
    max_upload_bytes: int = typer.Option(8 * 1024**3, "--max-upload-bytes", min=1, help="Refuse (413 payload_too_large, unread) a multipart upload announcing more."),
    max_concurrent: int = typer.Option(64, "--max-concurrent", min=1, help="Requests in flight before the next one is answered 503."),
    throttle_every: int = typer.Option(0, "--throttle-every", min=0, help="Answer every Nth item request 429 with Retry-After (a rate-limited destination; 0: off)."),
    retry_after: int = typer.Option(1, "--retry-after", min=0, help="Seconds in the Retry-After of throttled answers."),
    token_lifetime: float = typer.Option(3600.0, "--token-lifetime", min=1.0, help="Seconds an issued access token lives (short ones test refreshing)."),
    token_uses: int = typer.Option(0, "--token-uses", min=0, help="Requests an issued access token is good for (0: no limit)."),
) -> None:
    """Serve POST <base>/media, /blobs, /calendar, /social-posts plus an OAuth authorization server."""
    from rich.console import Console

    from ferry.servers.destination.app import create_app, receiving_limits
    from ferry.servers.destination.importer_api import ServerKnobs
    from ferry.servers.destination.tokens import TokenRegistry

    def secret_from(var: str, what: str) -> str | None:
        if not var:
            return None
        value = os.environ.get(var)
        if not value:
            raise typer.BadParameter(f"{var} is not set", param_hint=what)
        return value

    client_secret = secret_from(client_secret_env, "--client-secret-env")
    static_token = secret_from(static_token_env, "--static-token-env")
    app = create_app(
        storage_url,
        base_path=base_path,
        knobs=ServerKnobs(quota_bytes=quota_bytes or None, throttle_every=throttle_every, retry_after=str(retry_after)),
        registry=TokenRegistry(access_lifetime=token_lifetime, access_uses=token_uses or None),
        client_id=client_id,
        client_secret=client_secret,
        redirect_uris=tuple(redirect_uri),
        static_tokens={static_token: "static"} if static_token else None,
        limits=receiving_limits(max_upload_bytes=max_upload_bytes, max_concurrent=max_concurrent),
    )
    origin = f"http://{host}:{port}"
    base = origin + ("/" + base_path.strip("/") if base_path.strip("/") else "")
    console = Console()
    console.print(f"Generic Importer base URL: [bold]{safe(base)}[/]  (storing into {safe(storage_url)})")
    console.print(f"OAuth metadata:            {safe(origin)}/.well-known/oauth-authorization-server")
    console.print(f"OAuth authorize / token:   {safe(origin)}/oauth/authorize  {safe(origin)}/oauth/token")
    console.print(f"OAuth client id:           {safe(client_id)} ({'confidential' if client_secret else 'public, PKCE'})")
    if static_token:
        console.print(f"Static token accepted from ${safe(static_token_env)}; test with: ferry conformance {safe(base)} --token-env {safe(static_token_env)}")
    from ._common import run_server

    run_server(app, host=host, port=port)


def register(app: typer.Typer) -> None:
    app.command("serve-destination")(serve_destination)
