"""``ferry auth login|list|revoke``: OAuth credentials for connectors that need them."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ._common import ExitCode, console, err_console, fail, friendly_errors, load
from ._safe_text import safe
from ._tables import cell


def login_result(
    settings,
    connector: str,
    *,
    client_id: str,
    client_secret: str | None = None,
    metadata_url: str | None = None,
    authorize_url: str | None = None,
    token_url: str | None = None,
    revoke_url: str | None = None,
    scopes: list[str] | None = None,
    redirect_port: int | None = None,
    redirect_path: str | None = None,
    allowed_redirect_uris: list[str] | None = None,
    open_url=None,
    label: str | None = None,
    timeout: float = 300.0,
    pkce_encoding: str | None = None,
    account: str | None = None,
    account_field: str | None = None,
    userinfo_url: str | None = None,
    userinfo_field: str | None = None,
    expiry_lookup_url: str | None = None,
):
    """The body of ``ferry auth login``: authorize, exchange, learn the user id, store.

    Returns a :class:`flows.login.LoginResult`. ``open_url`` receives the authorization URL (the
    command prints it and opens a browser; tests follow it with httpx). The loopback listens on
    ``redirect_port``/``redirect_path`` or, when not given, on what the registered redirect URI
    (the allowlist) names.
    """
    from connectors import registry
    from connectors.oauth import DEFAULT_REDIRECT_URIS, build_client_config, discover
    from flows.credentials import CredentialStore
    from flows.login import Redirect, login

    spec = registry.get(connector).oauth
    metadata_url = metadata_url or (spec.metadata_url if spec else None)
    metadata = discover(metadata_url) if metadata_url else None
    config = build_client_config(
        client_id=client_id,
        client_secret=client_secret,
        spec=spec,
        metadata=metadata,
        authorization_endpoint=authorize_url,
        token_endpoint=token_url,
        revocation_endpoint=revoke_url,
        scopes=scopes or None,
        pkce_encoding=pkce_encoding,
        account_field=account_field,
        userinfo_endpoint=userinfo_url,
        userinfo_account_field=userinfo_field,
        access_expiry_url=expiry_lookup_url,
    )
    store = CredentialStore.from_settings(settings)  # fails on a bad key before the user clicks anything
    allowed = allowed_redirect_uris or settings.oauth_redirect_uris or DEFAULT_REDIRECT_URIS
    return login(
        store,
        connector,
        config,
        open_url=open_url or (lambda url: None),
        redirect=Redirect(redirect_port, redirect_path, tuple(allowed)),
        label=label,
        account=account,
        timeout=timeout,
    )


def run_login(settings, connector: str, **options):
    """:func:`login_result`, returning only the stored :class:`~flows.credentials.CredentialInfo`."""
    return login_result(settings, connector, **options).credential


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def register(app: typer.Typer) -> None:
    auth = typer.Typer(help="Authorize ferry with OAuth 2.0 and manage the stored credentials.", no_args_is_help=True)
    app.add_typer(auth, name="auth")

    @auth.command("login")
    @friendly_errors
    def login(
        connector: Annotated[str, typer.Argument(help="Connector to authorize (e.g. generic, tiktok).")],
        client_id: Annotated[str, typer.Option(help="OAuth client id registered with the provider.")],
        client_secret_env: Annotated[Optional[str], typer.Option(help="Name of the environment variable holding the client secret (never pass secrets as arguments).")] = None,
        metadata_url: Annotated[Optional[str], typer.Option(help="Issuer or RFC 8414 metadata URL; endpoints are discovered from it.")] = None,
        authorize_url: Annotated[Optional[str], typer.Option(help="Authorization endpoint (overrides discovery).")] = None,
        token_url: Annotated[Optional[str], typer.Option(help="Token endpoint (overrides discovery).")] = None,
        revoke_url: Annotated[Optional[str], typer.Option(help="RFC 7009 revocation endpoint (overrides discovery).")] = None,
        scope: Annotated[list[str], typer.Option("--scope", help="Scope to request (repeatable); default: the connector's scopes.")] = [],
        redirect_port: Annotated[Optional[int], typer.Option(help="Port of the 127.0.0.1 callback. Default: the port of the registered redirect URI (--allowed-redirect-uri / oauth_redirect_uris), or any free port when it names none; 0 picks a free one.")] = None,
        redirect_path: Annotated[Optional[str], typer.Option(help="Path of the callback. Default: the registered redirect URI's path (/callback).")] = None,
        allowed_redirect_uri: Annotated[list[str], typer.Option("--allowed-redirect-uri", help="Redirect URI registered with the provider (repeatable); one without a port allows any port. Default: the oauth_redirect_uris setting (http://127.0.0.1/callback).")] = [],
        pkce_encoding: Annotated[Optional[str], typer.Option(help="How the PKCE S256 challenge is encoded: base64url (RFC 7636) or hex (TikTok's desktop flow). Default: what the connector declares.")] = None,
        account: Annotated[Optional[str], typer.Option(help="The provider's id of the user, when the provider does not tell it (expiry notices and removal webhooks name it).")] = None,
        account_field: Annotated[Optional[str], typer.Option(help="Field of the token answer holding the user id (dotted path, e.g. open_id). Default: the connector's.")] = None,
        userinfo_url: Annotated[Optional[str], typer.Option(help="User-info endpoint answering the user id for the access token. Default: the connector's, or OpenID discovery's.")] = None,
        userinfo_field: Annotated[Optional[str], typer.Option(help="Field of the user-info answer holding the user id (dotted path). Default: sub.")] = None,
        expiry_lookup_url: Annotated[Optional[str], typer.Option(help="URL answering user_access_expire_time for the access token ({account} = the user id); asked daily by credential-maintenance. Default: the connector's.")] = None,
        no_browser: Annotated[bool, typer.Option("--no-browser", help="Only print the URL; do not open a browser.")] = False,
        label: Annotated[Optional[str], typer.Option(help="A name to recognise the credential by in `ferry auth list`.")] = None,
        timeout: Annotated[float, typer.Option(help="Seconds to wait for the authorization.")] = 300.0,
    ) -> None:
        """Authorize CONNECTOR in a browser and store a new credential (prints its id).

        To re-authorize an existing credential in place (same id, its transfers resume), use
        `ferry reconnect`.
        """
        import os

        settings = load()
        secret = None
        if client_secret_env:
            secret = os.environ.get(client_secret_env)
            if not secret:
                fail(f"environment variable {client_secret_env} (from --client-secret-env) is not set")

        def show(url: str) -> None:
            console.print("Open this URL to authorize ferry (waiting for the redirect to 127.0.0.1):")
            console.print(url, soft_wrap=True, markup=False)
            if not no_browser:
                import webbrowser

                webbrowser.open(url)

        result = login_result(
            settings,
            connector,
            client_id=client_id,
            client_secret=secret,
            metadata_url=metadata_url,
            authorize_url=authorize_url,
            token_url=token_url,
            revoke_url=revoke_url,
            scopes=scope,
            redirect_port=redirect_port,
            redirect_path=redirect_path,
            allowed_redirect_uris=allowed_redirect_uri or None,
            open_url=show,
            label=label,
            timeout=timeout,
            pkce_encoding=pkce_encoding,
            account=account,
            account_field=account_field,
            userinfo_url=userinfo_url,
            userinfo_field=userinfo_field,
            expiry_lookup_url=expiry_lookup_url,
        )
        info = result.credential
        who = f" of user {safe(info.account)}" if info.account else ""
        console.print(f"Stored credential [bold]{info.id}[/] for {safe(info.connector)}{who} (access token expires {_when(info.access_expires_at)} UTC).")
        if result.warning:
            err_console.print(f"[yellow]warning:[/] {safe(result.warning)}")
        console.print(f"Use it with --destination-credential {info.id} or --source-credential {info.id}.")

    @auth.command("list")
    @friendly_errors
    def list_(
        connector: Annotated[Optional[str], typer.Option(help="Only this connector's credentials.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    ) -> None:
        """List stored credentials (never their tokens); ids are shown by their first 8 characters.

        "access ends" is when the user's access to the provider ends (an expiry notice or the
        provider's answer); `--json` adds the refresh token's expiry and the last refresh.
        """
        settings = load()
        from flows.credentials import CredentialStore

        rows = CredentialStore.from_settings(settings).list(connector=connector)
        if as_json:
            import json

            console.print_json(
                json.dumps(
                    [
                        {
                            "id": r.id,
                            "connector": r.connector,
                            "label": r.label,
                            "account": r.account,
                            "status": r.status.value,
                            "status_reason": r.status_reason,
                            "scopes": list(r.scopes),
                            "access_expires_at": r.access_expires_at.isoformat() if r.access_expires_at else None,
                            "refresh_expires_at": r.refresh_expires_at.isoformat() if r.refresh_expires_at else None,
                            "last_refreshed_at": r.last_refreshed_at.isoformat() if r.last_refreshed_at else None,
                            "access_ends_at": r.grant_expires_at.isoformat() if r.grant_expires_at else None,
                        }
                        for r in rows
                    ]
                )
            )
            return
        if not rows:
            console.print("No credentials yet: `ferry auth login CONNECTOR --client-id ...` adds one.")
            return
        from ._tables import add_fixed, add_id, add_text, new_table

        table = new_table()
        add_id(table, "credential")
        for column in ("connector", "label", "account", "status"):
            add_text(table, column, min_width=6)
        add_fixed(table, "token expires")
        add_fixed(table, "access ends")
        for r in rows:
            status = r.status.value + (f" ({r.status_reason})" if r.status_reason and r.status.value != "ACTIVE" else "")
            table.add_row(r.id[:8], cell(r.connector), cell(r.label or "-"), cell(r.account or "-"), cell(status), _when(r.access_expires_at), _when(r.grant_expires_at))
        console.print(table)

    @auth.command("revoke")
    @friendly_errors
    def revoke(
        credential: Annotated[str, typer.Argument(help="Credential id (or a unique prefix).")],
        force: Annotated[bool, typer.Option(help="Revoke even while jobs or recurring transfers use it.")] = False,
    ) -> None:
        """Revoke a credential at the provider (RFC 7009) and delete its tokens.

        A revocation left half done (REVOKING: ferry was killed, or the provider did not answer)
        is finished.
        """
        settings = load()
        from flows.credentials import CredentialStore

        store = CredentialStore.from_settings(settings)
        info = store.get(credential)
        if info.status.value == "REVOKED":
            console.print(f"Credential {info.id} is already revoked.")
            return
        if info.status.value == "REVOKING":
            if store.finish_revocation(info.id):
                console.print(f"Revoked credential [bold]{info.id}[/] ({info.connector}); finished a revocation left half done.")
            else:
                console.print(f"Credential {info.id} was revoked by another process just now.")
            return
        if store.revoke(info.id, force=force):
            console.print(f"Revoked credential [bold]{info.id}[/] ({safe(info.connector)}).")
            return
        users = store.users(info.id)
        if users:
            names = ", ".join([*(f"job {j}" for j in users.job_ids), *(f"recurring {r}" for r in users.recurring_ids)])
            fail(f"credential {info.id} is still used by {names}; finish or cancel them, or pass --force", ExitCode.USAGE)
        console.print(f"Credential {info.id} was revoked by another process just now.")
