"""``ferry reconnect``: re-authorize expiring or dead credentials in bulk, in place.

Which credentials: every non-revoked one that is NEEDS_REAUTH, or whose access ends within the
window by a stored time (the grant's end from an expiry notice, ``grant_expires_at``; the
refresh token's own expiry). Each is re-authorized through the OAuth login it was created with
(same client and endpoints); the new tokens replace the old ones under the same credential id, so
jobs, recurring transfers and their history keep pointing at it. Transfers paused as
NEEDS_REAUTH are then resumed (suspended Prefect runs) or marked ready for ``ferry resume``.

Also ``ferry serve-expiry-notices``: the HTTP endpoint that receives "access will expire at T"
notices (ferry/webhooks_expiry.py).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from ._common import console, context, err_console, fail, friendly_errors, load, run_server
from ._safe_text import safe
from ._tables import cell


def expiring_credentials(engine, within_seconds: float, *, now=None) -> list[dict]:
    """Credentials to re-authorize, each ``{id, connector, label, account, status, why, ends}``."""
    from datetime import timedelta

    from sqlmodel import Session, select

    from flows.store import Credential, CredentialStatus, as_utc, utcnow

    now = now or utcnow()
    horizon = now + timedelta(seconds=within_seconds)

    with Session(engine) as session:
        rows = list(session.exec(select(Credential).where(Credential.status != CredentialStatus.REVOKED)).all())
    found = []
    for row in rows:
        grant, refresh = as_utc(row.grant_expires_at), as_utc(row.refresh_expires_at)
        why, ends = None, None
        if row.status == CredentialStatus.NEEDS_REAUTH:
            why = f"needs re-authorization: {row.status_reason or 'refresh failed'}"
        elif grant is not None and grant <= horizon:
            why, ends = "access ends (expiry notice)", grant
        elif refresh is not None and refresh <= horizon:
            why, ends = "refresh token expires", refresh
        if why:
            found.append({"id": row.id, "connector": row.connector, "label": row.label, "account": row.account, "status": row.status.value, "why": why, "ends": ends.isoformat() if ends else None})
    return sorted(found, key=lambda c: (c["ends"] or "", c["id"]))


def reconnect_one(settings, credential_id: str, *, open_url, port: int = 0, path: str = "/callback", allowed_redirect_uris=None, timeout: float = 300.0) -> list[tuple[str, str]]:
    """Re-authorize one credential in place and resume its paused transfers.

    Returns ``(job id, what happened)`` pairs. ``open_url`` receives the authorization URL.
    """
    from sqlalchemy import update
    from sqlmodel import Session

    from connectors.oauth import DEFAULT_REDIRECT_URIS, authorize_interactively
    from flows.credentials import CredentialStore
    from flows.reauth import resume_after_reauth
    from flows.store import Credential

    store = CredentialStore.from_settings(settings)
    info = store.get(credential_id)
    tokens = authorize_interactively(
        store.client_for(info.id),
        open_url=open_url,
        port=port,
        path=path,
        allowed_redirect_uris=allowed_redirect_uris or settings.oauth_redirect_uris or DEFAULT_REDIRECT_URIS,
        scopes=list(info.scopes) or None,
        timeout=timeout,
    )
    store.replace_tokens(info.id, tokens)
    with Session(store.engine) as session:  # a new grant: the old notice no longer applies
        session.exec(update(Credential).where(Credential.id == info.id).values(grant_expires_at=None))
        session.commit()
    return resume_after_reauth(store.engine, info.id)


def register(app: typer.Typer) -> None:
    @app.command()
    @friendly_errors
    def reconnect(
        expiring_within: Annotated[str, typer.Option(help="Window: credentials whose access ends within it (30d, 12h, ...).")] = "30d",
        credential: Annotated[list[str], typer.Option("--credential", "-c", help="Only these credential ids (repeatable).")] = [],
        list_only: Annotated[bool, typer.Option("--list-only", help="Only list the affected credentials.")] = False,
        no_browser: Annotated[bool, typer.Option("--no-browser/--browser", help="Print authorization URLs instead of opening a browser.")] = False,
        redirect_port: Annotated[int, typer.Option(help="Loopback port for the OAuth redirect (0: any free port).")] = 0,
        redirect_path: Annotated[str, typer.Option(help="Path of the OAuth redirect.")] = "/callback",
        timeout: Annotated[float, typer.Option(help="Seconds to wait for each authorization.")] = 300.0,
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """List credentials that expire soon or died, and re-authorize them one after another."""
        ctx = context()
        settings = ctx.settings
        from flows.recurring import parse_duration

        window = parse_duration(expiring_within).total_seconds()
        found = expiring_credentials(ctx.engine, window)
        if credential:
            found = [c for c in found if any(c["id"].startswith(w) for w in credential)]
        if as_json and list_only:
            console.print_json(json.dumps(found))
            return
        if not found:
            console.print(f"No credential expires within {safe(expiring_within)} or needs re-authorization.")
            return
        table = Table(title=f"Credentials to re-authorize (window {safe(expiring_within)})")
        for column in ("credential", "connector", "label", "account", "status", "why", "ends (UTC)"):
            table.add_column(column, overflow="fold")
        for c in found:
            table.add_row(c["id"], c["connector"], cell(c["label"]), cell(c["account"]), c["status"], cell(c["why"]), c["ends"] or "-")
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
            console.print(f"[bold]{c['id']}[/] ({c['connector']}{', ' + safe(c['label']) if c['label'] else ''})")
            try:
                resumed = reconnect_one(settings, c["id"], open_url=show, port=redirect_port, path=redirect_path, timeout=timeout)
            except Exception as exc:  # one failed login must not stop the others
                failures += 1
                err_console.print(f"[red]  not re-authorized:[/] {safe(exc)}")
                continue
            console.print("  [green]re-authorized[/]; tokens replaced in place")
            for job_id, what in resumed:
                console.print(f"  job {job_id[:8]}: {safe(what)}")
        if failures:
            fail(f"{failures} of {len(found)} credential(s) were not re-authorized; run `ferry reconnect` again", 3)

    @app.command("serve-expiry-notices")
    def serve_expiry_notices(
        host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (put HTTPS in front)."),
        port: int = typer.Option(8788, "--port", help="Port to listen on."),
        secret_env: str = typer.Option("FERRY_NOTICE_SECRET", "--secret-env", help="Environment variable holding the shared notice secret."),
    ) -> None:
        """Receive "access will expire at T" notices (POST /notices/expiry) into the credential store."""
        import os

        from ferry.webhooks_expiry import NOTICE_PATH, create_expiry_app

        ctx = context()
        settings = ctx.settings
        secret = os.environ.get(secret_env, "")
        if not secret:
            fail(f"set the shared notice secret in the environment variable {secret_env}")
        web = create_expiry_app(ctx.engine, secret)
        typer.echo(f"ferry expiry notices on http://{host}:{port}{NOTICE_PATH}")
        run_server(web, host=host, port=port, log_level=settings.log_level)
