"""``ferry reconnect``: re-authorize expiring or dead credentials in bulk, in place.

Which credentials: the ones named (``ferry reconnect 3f2a1b9c``: what every "needs
re-authorization" message says), else every non-revoked one that is NEEDS_REAUTH or whose access
ends within the window by a stored time (:func:`flows.expiry.expiring_credentials`: the grant's
end from an expiry notice or the provider's answer, the refresh token's own expiry). Each is
re-authorized through the OAuth login it was created with (same client and endpoints); the new
tokens replace the old ones under the same credential id, so jobs, recurring transfers and their
history keep pointing at it, and the provider's user id is recorded again (the user may log in
with another account that still has access). Transfers paused as NEEDS_REAUTH are then resumed
(suspended Prefect runs) or marked ready for ``ferry resume``.

Also ``ferry serve-expiry-notices``: the HTTP endpoint that receives "access will expire at T"
notices, Meta's webhook included (ferry/servers/expiry_notices.py).
"""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from ._common import console, context, err_console, fail, friendly_errors
from ._safe_text import safe
from ._tables import cell


def expiring_credentials(engine, within_seconds: float, *, now=None) -> list[dict]:
    """Credentials to re-authorize, each ``{id, connector, label, account, status, why, ends}``."""
    from datetime import timedelta

    from flows.expiry import expiring_credentials as expiring
    from flows.store.credential_rows import CredentialRows

    return [c.as_dict() for c in expiring(CredentialRows(engine), timedelta(seconds=within_seconds), now=now)]


def reconnect_one(
    settings,
    credential_id: str,
    *,
    open_url,
    port: int | None = None,
    path: str | None = None,
    allowed_redirect_uris=None,
    timeout: float = 300.0,
) -> list[tuple[str, str]]:
    """Re-authorize one credential in place and resume its paused transfers.

    Returns ``(job id, what happened)`` pairs. ``open_url`` receives the authorization URL.
    """
    return list(_reconnect(settings, credential_id, open_url=open_url, port=port, path=path, allowed=allowed_redirect_uris, timeout=timeout).resumed)


def _reconnect(settings, credential_id: str, *, open_url, port, path, allowed, timeout):
    from connectors.oauth import DEFAULT_REDIRECT_URIS
    from flows.credentials import CredentialStore
    from flows.login import Redirect, reconnect

    redirect = Redirect(port, path, tuple(allowed or settings.oauth_redirect_uris or DEFAULT_REDIRECT_URIS))
    return reconnect(CredentialStore.from_settings(settings), credential_id, open_url=open_url, redirect=redirect, timeout=timeout)


def _named(ctx, ids: list[str]) -> list[dict]:
    """The credentials named on the command line, whatever their expiry."""
    from flows.credentials import CredentialStore

    store = CredentialStore.from_settings(ctx.settings)
    found = []
    for wanted in ids:
        info = store.get(wanted)
        if info.status.value in ("REVOKING", "REVOKED"):
            fail(f"credential {info.id[:8]} is {info.status.value}; run `ferry auth login {info.connector}` for a new one")
        why = f"needs re-authorization: {info.status_reason}" if info.status.value == "NEEDS_REAUTH" else "asked for"
        ends = info.grant_expires_at.isoformat() if info.grant_expires_at else None
        found.append({"id": info.id, "connector": info.connector, "label": info.label, "account": info.account, "status": info.status.value, "why": why, "ends": ends})
    return found


def register(app: typer.Typer) -> None:
    @app.command()
    @friendly_errors
    def reconnect(
        ids: Annotated[Optional[list[str]], typer.Argument(metavar="CREDENTIAL", help="Credential ids (or unique prefixes) to re-authorize, whatever their expiry. Default: every credential that needs it or expires within --expiring-within.")] = None,
        expiring_within: Annotated[str, typer.Option(help="Window: credentials whose access ends within it (30d, 12h, ...).")] = "30d",
        credential: Annotated[list[str], typer.Option("--credential", "-c", help="Only these credential ids, of those expiring (repeatable).")] = [],
        list_only: Annotated[bool, typer.Option("--list-only", help="Only list the affected credentials.")] = False,
        no_browser: Annotated[bool, typer.Option("--no-browser/--browser", help="Print authorization URLs instead of opening a browser.")] = False,
        redirect_port: Annotated[Optional[int], typer.Option(help="Loopback port for the OAuth redirect. Default: the registered redirect URI's port (oauth_redirect_uris), else any free port.")] = None,
        redirect_path: Annotated[Optional[str], typer.Option(help="Path of the OAuth redirect. Default: the registered redirect URI's path.")] = None,
        timeout: Annotated[float, typer.Option(help="Seconds to wait for each authorization.")] = 300.0,
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """List credentials that expire soon or died, and re-authorize them one after another."""
        from flows.recurring import parse_duration

        from ._tables import add_fixed, add_id, add_text, new_table

        ctx = context()
        settings = ctx.settings
        window = parse_duration(expiring_within).total_seconds()
        if ids:
            found = _named(ctx, ids)
        else:
            found = expiring_credentials(ctx.engine, window)
            if credential:
                found = [c for c in found if any(c["id"].startswith(w) for w in credential)]
        if as_json and list_only:
            console.print_json(json.dumps(found))
            return
        if not found:
            console.print(f"No credential expires within {safe(expiring_within)} or needs re-authorization.")
            return
        table = new_table(f"Credentials to re-authorize (window {safe(expiring_within)})" if not ids else "Credentials to re-authorize")
        add_id(table, "credential")
        for column in ("connector", "label", "account", "status", "why"):
            add_text(table, column, min_width=6)
        add_fixed(table, "ends (UTC)")
        for c in found:
            table.add_row(c["id"][:8], cell(c["connector"]), cell(c["label"] or ""), cell(c["account"] or ""), c["status"], cell(c["why"]), c["ends"] or "-")
        console.print(table)
        if list_only:
            return

        def show(url: str) -> None:
            console.print("Open this URL to authorize ferry again (waiting for the redirect to 127.0.0.1):")
            console.print(url, soft_wrap=True, markup=False)
            if not no_browser:
                import webbrowser

                webbrowser.open(url)

        failures = 0
        for c in found:
            console.print(f"[bold]{c['id']}[/] ({safe(c['connector'])}{', ' + safe(c['label']) if c['label'] else ''})")
            try:
                result = _reconnect(settings, c["id"], open_url=show, port=redirect_port, path=redirect_path, allowed=None, timeout=timeout)
            except Exception as exc:  # one failed login must not stop the others
                failures += 1
                err_console.print(f"[red]  not re-authorized:[/] {safe(exc)}")
                continue
            who = f" as user {safe(result.credential.account)}" if result.credential.account else ""
            console.print(f"  [green]re-authorized[/]{who}; tokens replaced in place")
            if result.warning:
                err_console.print(f"  [yellow]warning:[/] {safe(result.warning)}")
            for job_id, what in result.resumed:
                console.print(f"  job {job_id[:8]}: {safe(what)}")
        if failures:
            fail(f"{failures} of {len(found)} credential(s) were not re-authorized; run `ferry reconnect` again", 3)

    @app.command("serve-expiry-notices")
    def serve_expiry_notices(
        host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (put HTTPS in front)."),
        port: int = typer.Option(8788, "--port", help="Port to listen on."),
        secret_env: str = typer.Option("FERRY_NOTICE_SECRET", "--secret-env", help="Environment variable holding the shared bearer secret of ferry's own notice body."),
        app_secret_env: str = typer.Option("FERRY_META_APP_SECRET", "--app-secret-env", help="Environment variable holding the Meta app secret (checks X-Hub-Signature-256 of Meta's webhook)."),
        verify_token_env: str = typer.Option("FERRY_META_VERIFY_TOKEN", "--verify-token-env", help="Environment variable holding the verify token configured for Meta's webhook (answers the hub.challenge handshake)."),
        connector: Optional[str] = typer.Option(None, "--connector", help="Only credentials of this connector are matched by Meta's user_id."),
    ) -> None:
        """Receive "access will expire at T" notices (Meta's webhook, or ferry's own body) into the credential store.

        One path, /notices/expiry: GET answers Meta's verification handshake; a POST signed with
        X-Hub-Signature-256 is Meta's migration_expire_time webhook; a POST with a bearer secret is
        ferry's own {"credential_id" | "account", "expires_at"} body.
        """
        import os

        from ferry.servers.expiry_notices import NOTICE_PATH, ExpirySecrets, create_expiry_app

        from ._common import run_server

        ctx = context()
        secrets = ExpirySecrets(
            notice_secret=os.environ.get(secret_env) or None,
            app_secret=os.environ.get(app_secret_env) or None,
            verify_token=os.environ.get(verify_token_env) or None,
        )
        if not (secrets.notice_secret or secrets.app_secret):
            fail(f"set the Meta app secret in {app_secret_env} or ferry's notice secret in {secret_env} (or both)")
        if secrets.app_secret and not secrets.verify_token:
            err_console.print(f"[yellow]warning:[/] {verify_token_env} is not set: Meta's subscription handshake will be refused")
        web = create_expiry_app(ctx.engine, secrets, connector=connector)
        accepts = ", ".join(n for n, on in (("Meta webhooks", secrets.app_secret), ("ferry notices", secrets.notice_secret)) if on)
        typer.echo(f"ferry expiry notices on http://{host}:{port}{NOTICE_PATH} ({accepts})")
        run_server(web, host=host, port=port, log_level=ctx.settings.log_level)
