"""``ferry conformance URL``: test a Generic Importer destination, one table row per check.

Tokens (never passed as arguments, never printed), in order of preference:

* ``--credential ID``: a credential stored by ``ferry auth login generic ...``; refreshed (and its
  rotated refresh token saved) like a transfer's.
* ``--refresh-token-env VAR`` with ``--client-id`` and ``--token-url`` or ``--metadata-url``
  (``--client-secret-env`` for a confidential client): refreshed in memory.
* ``--token-env VAR`` (default ``FERRY_CONFORMANCE_TOKEN``): a fixed access token.
"""

from __future__ import annotations

import os
from typing import Annotated, Optional

import typer

from ._common import ExitCode, console, context, fail, friendly_errors
from ._safe_text import safe
from ._tables import cell


def _env(var: str, option: str) -> str:
    value = os.environ.get(var, "")
    if not value:
        raise typer.BadParameter(f"{var} is not set", param_hint=option)
    return value


def _refreshing_tokens(refresh_env: str, client_id: str | None, client_secret_env: str | None, token_url: str | None, metadata_url: str | None):
    from connectors.oauth import OAuthClient, build_client_config, discover
    from ferry.conformance.tokens import RefreshTokenSource

    if not client_id:
        raise typer.BadParameter("--refresh-token-env needs --client-id", param_hint="--client-id")
    if not (token_url or metadata_url):
        raise typer.BadParameter("--refresh-token-env needs --token-url or --metadata-url", param_hint="--token-url")
    secret = _env(client_secret_env, "--client-secret-env") if client_secret_env else None
    config = build_client_config(
        client_id=client_id, client_secret=secret, metadata=discover(metadata_url) if metadata_url else None, token_endpoint=token_url
    )
    return RefreshTokenSource(OAuthClient(config), _env(refresh_env, "--refresh-token-env"))


@friendly_errors
def conformance(
    url: Annotated[str, typer.Argument(help="The destination's Generic Importer base URL, e.g. https://dest.example/dtp.")],
    token_env: Annotated[str, typer.Option("--token-env", help="Environment variable holding a valid access token for a test account (fixed; not refreshed).")] = "FERRY_CONFORMANCE_TOKEN",
    credential: Annotated[Optional[str], typer.Option("--credential", help="Id (or prefix) of a credential stored by `ferry auth login generic`; refreshed as needed.")] = None,
    refresh_token_env: Annotated[Optional[str], typer.Option("--refresh-token-env", help="Environment variable holding a refresh token of a test account; needs --client-id and --token-url or --metadata-url.")] = None,
    client_id: Annotated[Optional[str], typer.Option("--client-id", help="OAuth client id the refresh token was issued to.")] = None,
    client_secret_env: Annotated[Optional[str], typer.Option("--client-secret-env", help="Environment variable holding that client's secret (confidential clients).")] = None,
    token_url: Annotated[Optional[str], typer.Option("--token-url", help="Token endpoint that takes the refresh token.")] = None,
    metadata_url: Annotated[Optional[str], typer.Option("--metadata-url", help="Issuer or RFC 8414 metadata URL; the token endpoint is discovered from it.")] = None,
    volume: Annotated[int, typer.Option("--volume", min=0, help="Uploads in the failure-rate batch (0 skips it).")] = 100,
    export_service: Annotated[str, typer.Option("--export-service", help="X-DTP-Export-Service value to send.")] = "ferry-conformance",
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds per network operation.")] = 30.0,
) -> None:
    """Send every payload type, repeats, a bad token and malformed bodies; exit 1 if any check fails.

    Throttling answers (429, or 503 with Retry-After) are waited out as asked and the token is
    refreshed on 401 invalid_token, so neither counts as a failure.
    """
    from rich.table import Table

    from ferry.conformance import run_conformance

    if not url.startswith(("http://", "https://")):
        raise typer.BadParameter(f"{url!r} is not an http(s) URL", param_hint="URL")
    if credential and refresh_token_env:
        raise typer.BadParameter("give --credential or --refresh-token-env, not both", param_hint="--credential")
    if credential:
        ctx = context()
        if ctx.credentials.get(credential).connector != "generic":
            fail(f"credential {credential} is not a generic destination's (see `ferry auth list`)")
        tokens = ctx.credentials.token_source(credential)
    elif refresh_token_env:
        tokens = _refreshing_tokens(refresh_token_env, client_id, client_secret_env, token_url, metadata_url)
    else:
        tokens = os.environ.get(token_env, "")
        if not tokens:
            raise typer.BadParameter(
                f"set {token_env} to an access token of a test account on the destination (or use --credential / --refresh-token-env)",
                param_hint="--token-env",
            )
    table = Table(title=f"Generic Importer conformance: {safe(url)}")
    table.add_column("Check")
    table.add_column("Result")
    table.add_column("Answer / detail", overflow="fold")
    with console.status("checking..."):
        report = run_conformance(url, tokens, volume=volume, export_service=export_service, timeout=timeout)
    for result in report.results:
        table.add_row(cell(result.name), "[green]pass[/]" if result.passed else "[red]FAIL[/]", cell(result.detail))
    console.print(table)
    if report.throttled or report.refreshes:
        console.print(
            f"paced: {report.throttled} throttling answer(s) waited out ({report.waited:.1f} s); "
            f"token refreshed {report.refreshes} time(s)"
        )
    failed = sum(not result.passed for result in report.results)
    if failed:
        console.print(f"[red]{failed} of {len(report.results)} checks failed[/]")
        raise typer.Exit(ExitCode.ITEM_FAILURES)
    console.print(f"[green]all {len(report.results)} checks passed[/]")


def register(app: typer.Typer) -> None:
    app.command("conformance")(conformance)
