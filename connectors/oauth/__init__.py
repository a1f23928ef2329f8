"""OAuth 2.0 for connectors: authorization code + PKCE, refresh, revocation, discovery.

Pure client side (no database, no Prefect): the credential store in ``flows/credentials.py``
persists what these functions return and calls :meth:`OAuthClient.refresh` and
:meth:`OAuthClient.revoke` under its own locks. Built on Authlib's httpx client.

* :class:`ClientConfig` / :func:`build_client_config` - a client and its endpoints, merged from
  command-line values, RFC 8414 metadata and the connector's :class:`~connectors.registry.OAuthSpec`.
* :func:`discover` - RFC 8414 metadata (path insertion, issuer check, OpenID fallback).
* :class:`OAuthClient` - authorization URL (S256 + state), code exchange, refresh, RFC 7009 revoke,
  the provider's user id (:meth:`~OAuthClient.account_of`) and when the user's access ends
  (:meth:`~OAuthClient.access_end`).
* :class:`LoopbackCallback` / :func:`authorize_interactively` - the 127.0.0.1 redirect receiver
  with its allowlist (:func:`choose_redirect` takes the port and path from a registered URI),
  and the whole interactive login.
* :func:`parse_time` - provider times, ISO 8601 or Unix seconds.
* :class:`TokenSet` - tokens as ``SecretStr`` with their expiries.

Errors are those of :mod:`connectors.errors`; invalid_grant and session_invalidated become
:class:`~connectors.errors.ReauthRequired`. No token or secret is ever in a message or repr.
"""

from ._client import (
    REAUTH_ERRORS,
    AuthMethod,
    AuthorizationRequest,
    ClientConfig,
    OAuthClient,
    PKCE_ENCODINGS,
    build_client_config,
    pkce_challenge,
    s256_challenge,
)
from ._login import authorize_interactively
from ._loopback import DEFAULT_REDIRECT_URIS, CallbackResult, LoopbackCallback, choose_redirect, redirect_uri_allowed
from ._metadata import ServerMetadata, discover, issuer_of_metadata_url, metadata_urls
from ._provider import parse_time
from ._tokens import TokenSet

__all__ = [
    "AuthMethod",
    "AuthorizationRequest",
    "CallbackResult",
    "ClientConfig",
    "DEFAULT_REDIRECT_URIS",
    "LoopbackCallback",
    "OAuthClient",
    "PKCE_ENCODINGS",
    "REAUTH_ERRORS",
    "ServerMetadata",
    "TokenSet",
    "authorize_interactively",
    "build_client_config",
    "choose_redirect",
    "discover",
    "issuer_of_metadata_url",
    "metadata_urls",
    "parse_time",
    "pkce_challenge",
    "redirect_uri_allowed",
    "s256_challenge",
]
