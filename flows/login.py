"""Interactive authorization into the credential store: a new credential, or new tokens in place.

Both ``ferry auth login`` and ``ferry reconnect`` run the same loopback login
(:func:`connectors.oauth.authorize_interactively`) and then record who the user is: the provider's
user id (:meth:`~connectors.oauth.OAuthClient.account_of`: the token answer's field, else the
user-info endpoint, else what the user passed), stored as the credential's ``account`` so a
notice naming the user (Meta's ``user_id``, TikTok's ``open_id``) finds the credential. Failing to
learn it never throws away a grant the user just gave: the credential is stored without it and
the result says why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from connectors.errors import FerryError
from connectors.oauth import DEFAULT_REDIRECT_URIS, ClientConfig, OAuthClient, TokenSet, authorize_interactively

from .credentials import CredentialInfo, CredentialStore

__all__ = ["LoginResult", "Redirect", "login", "reconnect"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoginResult:
    """The stored credential, what happened to its transfers (reconnect), and any warning."""

    credential: CredentialInfo
    resumed: tuple[tuple[str, str], ...] = ()
    warning: str | None = None


@dataclass(frozen=True)
class Redirect:
    """Where the loopback listens (None: from the allowlist's registered URI) and what it accepts."""

    port: int | None = None
    path: str | None = None
    allowed: Sequence[str] = DEFAULT_REDIRECT_URIS


def _account(client: OAuthClient, tokens: TokenSet, given: str | None) -> tuple[str | None, str | None]:
    """(the provider's user id, a warning when it could not be learnt)."""
    if given:
        return given, None
    try:
        return client.account_of(tokens), None
    except FerryError as exc:
        warning = f"could not learn the provider's user id ({exc}); notices naming the user will not find this credential"
        log.warning(warning)
        return None, warning


def login(
    store: CredentialStore,
    connector: str,
    config: ClientConfig,
    *,
    open_url: Callable[[str], object],
    redirect: Redirect = Redirect(),
    label: str | None = None,
    account: str | None = None,
    timeout: float = 300.0,
) -> LoginResult:
    """Authorize ``connector`` in a browser and store a new ACTIVE credential with its user id."""
    client = OAuthClient(config, timeout=store.timeout, http_options=store.http_options)
    tokens = authorize_interactively(
        client, open_url=open_url, port=redirect.port, path=redirect.path, allowed_redirect_uris=redirect.allowed, timeout=timeout
    )
    user, warning = _account(client, tokens, account)
    return LoginResult(store.create(connector, tokens, config, label=label, account=user), warning=warning)


def reconnect(
    store: CredentialStore,
    credential_id: str,
    *,
    open_url: Callable[[str], object],
    redirect: Redirect = Redirect(),
    scopes: Sequence[str] | None = None,
    timeout: float = 300.0,
    resume: bool = True,
) -> LoginResult:
    """Re-authorize a credential in place (same id, same client) and resume its paused transfers.

    The user may log in with another account that still has access: the new user id is
    recorded. ``scopes`` default to those granted before.
    """
    from .reauth import resume_after_reauth

    info = store.get(credential_id)
    client = store.client_for(info.id)
    tokens = authorize_interactively(
        client,
        open_url=open_url,
        port=redirect.port,
        path=redirect.path,
        allowed_redirect_uris=redirect.allowed,
        scopes=list(scopes or info.scopes) or None,
        timeout=timeout,
    )
    user, warning = _account(client, tokens, None)
    replaced = store.replace_tokens(info.id, tokens, account=user)
    resumed = tuple(resume_after_reauth(store.engine, info.id)) if resume else ()
    return LoginResult(replaced, resumed, warning)
