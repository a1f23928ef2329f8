"""The OAuth 2.0 client: authorization code + PKCE, token exchange, refresh, RFC 7009 revocation.

Built on Authlib's httpx integration (``authlib.integrations.httpx_client.OAuth2Client``), not
hand-written. Each operation uses a short-lived Authlib client, so one :class:`OAuthClient` is
safe to share between threads (Authlib's client keeps the last token as mutable state).

Errors, mapped once in :func:`_map_error` (the caller never sees Authlib or httpx exceptions)::

    invalid_grant, session_invalidated (refresh/exchange)   -> ReauthRequired
    invalid_client, unauthorized_client, invalid_scope      -> ConfigError
    429, 5xx, connection errors, timeouts                    -> RetryableError (retry_after)
    anything else                                           -> FatalError

Messages name the endpoint and the OAuth ``error`` code; they never contain a token, a code,
a verifier or the client secret (``error_description`` is scrubbed of them, just in case). They
do not name a command: the credential store, which knows the credential, adds the one that fixes
it (``ferry reconnect <id>``).

PKCE is S256 with the challenge base64url-encoded (RFC 7636) or, for TikTok's desktop flow,
hex-encoded (``ClientConfig.pkce_encoding``); :func:`pkce_challenge` computes both.

Authlib >= 1.8 prefers the ``httpx2`` fork and emits ``AuthlibDeprecationWarning`` ("The httpx
module is deprecated") when it falls back to ``httpx``, which ferry pins; that one warning is
silenced at the import below, nothing else.
"""

from __future__ import annotations

import hashlib
import secrets
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from authlib.deprecate import AuthlibDeprecationWarning
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from pydantic import BaseModel, ConfigDict, SecretStr

from ..retry_after import retry_after_seconds
from ..errors import ConfigError, FatalError, FerryError, ReauthRequired, RetryableError
from ..registry import OAuthSpec
from ._metadata import ServerMetadata
from ._provider import fetch_access_end, fetch_account
from ._tokens import TokenSet

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="The httpx module is deprecated", category=AuthlibDeprecationWarning)
    from authlib.integrations.base_client import OAuthError
    from authlib.integrations.httpx_client import OAuth2Client

__all__ = [
    "AuthMethod",
    "ClientConfig",
    "AuthorizationRequest",
    "OAuthClient",
    "build_client_config",
    "pkce_challenge",
    "PKCE_ENCODINGS",
    "REAUTH_ERRORS",
]

AuthMethod = Literal["client_secret_basic", "client_secret_post", "none"]
PkceEncoding = Literal["base64url", "hex"]
#: How the S256 code challenge may be encoded: RFC 7636's base64url, or hex (TikTok desktop).
PKCE_ENCODINGS: tuple[str, ...] = ("base64url", "hex")

#: OAuth ``error`` codes after which only a new authorization helps.
REAUTH_ERRORS = frozenset({"invalid_grant", "session_invalidated"})
_CONFIG_ERRORS = frozenset({"invalid_client", "unauthorized_client", "invalid_scope", "unsupported_grant_type"})


class ClientConfig(BaseModel):
    """Everything needed to talk to one authorization server as one client.

    ``client_secret`` is a ``SecretStr``: ``repr`` hides it. :meth:`public_dict` is what the
    credential store keeps in clear (the secret is stored encrypted, with the tokens).
    """

    model_config = ConfigDict(frozen=True)

    client_id: str
    client_secret: SecretStr | None = None
    authorization_endpoint: str | None = None
    token_endpoint: str
    revocation_endpoint: str | None = None
    issuer: str | None = None
    scopes: tuple[str, ...] = ()
    token_endpoint_auth_method: AuthMethod | None = None  # None: basic with a secret, none without
    client_id_param: str = "client_id"
    scope_separator: str = " "
    pkce_encoding: PkceEncoding = "base64url"
    account_field: str | None = None
    userinfo_endpoint: str | None = None
    userinfo_account_field: str = "sub"
    access_expiry_url: str | None = None
    access_expiry_field: str = "user_access_expire_time"

    @property
    def auth_method(self) -> AuthMethod:
        if self.token_endpoint_auth_method:
            return self.token_endpoint_auth_method
        return "client_secret_basic" if self.client_secret else "none"

    def public_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"client_secret"})


def build_client_config(
    *,
    client_id: str,
    client_secret: SecretStr | str | None = None,
    spec: OAuthSpec | None = None,
    metadata: ServerMetadata | None = None,
    authorization_endpoint: str | None = None,
    token_endpoint: str | None = None,
    revocation_endpoint: str | None = None,
    scopes: Sequence[str] | None = None,
    token_endpoint_auth_method: AuthMethod | None = None,
    pkce_encoding: str | None = None,
    account_field: str | None = None,
    userinfo_endpoint: str | None = None,
    userinfo_account_field: str | None = None,
    access_expiry_url: str | None = None,
) -> ClientConfig:
    """Merge endpoints: explicit arguments, then discovered metadata, then the connector's spec.

    The client authentication method follows the metadata when it lists what it supports:
    HTTP Basic when offered (RFC 6749 prefers it), else ``client_secret_post`` (what DTP sends).
    What the provider tells about the user (see :class:`~connectors.registry.OAuthSpec`) comes
    from the arguments, else the spec; an OpenID provider's metadata names its user-info endpoint.

    Raises:
        ConfigError: no token endpoint, the server says it cannot do PKCE with S256, or an
            unknown ``pkce_encoding``.
    """
    spec = spec or OAuthSpec()
    secret = SecretStr(client_secret) if isinstance(client_secret, str) else client_secret

    def pick(explicit: str | None, field: str) -> str | None:
        return explicit or (getattr(metadata, field) if metadata else None) or getattr(spec, field)

    token_url = pick(token_endpoint, "token_endpoint")
    if not token_url:
        raise ConfigError("no token endpoint: pass --token-url or --metadata-url")
    if metadata and metadata.code_challenge_methods_supported is not None:
        if "S256" not in metadata.code_challenge_methods_supported:
            raise ConfigError(f"authorization server {metadata.issuer} does not support PKCE with S256")
    encoding = pkce_encoding or spec.pkce_encoding
    if encoding not in PKCE_ENCODINGS:
        raise ConfigError(f"--pkce-encoding {encoding!r}: use one of {', '.join(PKCE_ENCODINGS)}")
    method = token_endpoint_auth_method
    if method is None and secret and metadata and metadata.token_endpoint_auth_methods_supported:
        offered = metadata.token_endpoint_auth_methods_supported
        if "client_secret_basic" not in offered and "client_secret_post" in offered:
            method = "client_secret_post"
    return ClientConfig(
        client_id=client_id,
        client_secret=secret,
        authorization_endpoint=pick(authorization_endpoint, "authorization_endpoint"),
        token_endpoint=token_url,
        revocation_endpoint=pick(revocation_endpoint, "revocation_endpoint"),
        issuer=metadata.issuer if metadata else None,
        scopes=tuple(scopes) if scopes else spec.scopes,
        token_endpoint_auth_method=method,
        client_id_param=spec.client_id_param,
        scope_separator=spec.scope_separator,
        pkce_encoding=encoding,
        account_field=account_field or spec.account_field,
        userinfo_endpoint=pick(userinfo_endpoint, "userinfo_endpoint"),
        userinfo_account_field=userinfo_account_field or spec.userinfo_account_field,
        access_expiry_url=access_expiry_url or spec.access_expiry_url,
        access_expiry_field=spec.access_expiry_field,
    )


@dataclass(frozen=True)
class AuthorizationRequest:
    """One pending authorization: the URL to open and what the callback must match.

    Attributes:
        url: the authorization URL (carries ``state`` and the S256 ``code_challenge``).
        state: the CSRF value the callback must bring back unchanged.
        code_verifier: the PKCE secret, sent only with the token request.
        redirect_uri: sent again with the token request (RFC 6749 §4.1.3).
    """

    url: str
    state: str
    code_verifier: SecretStr
    redirect_uri: str

    def __repr__(self) -> str:
        return f"AuthorizationRequest(redirect_uri={self.redirect_uri!r}, state=<hidden>)"


def _scrub(text: str, hidden: Iterable[str | None]) -> str:
    for value in hidden:
        if value and len(value) >= 4:
            text = text.replace(value, "<hidden>")
    return text


class OAuthClient:
    """Authorization code flow with PKCE (S256) and state, refresh and revocation; who the user
    is and when their access ends (:mod:`connectors.oauth._provider`).

    Args:
        config: the client and its endpoints.
        timeout: seconds per HTTP request.
        http_options: extra ``httpx.Client`` keyword arguments (``verify``, ``proxy``,
            ``transport``) passed to every short-lived client.
    """

    def __init__(self, config: ClientConfig, *, timeout: float = 20.0, http_options: Mapping[str, Any] | None = None):
        self.config = config
        self.timeout = timeout
        self.http_options = dict(http_options or {})

    def __repr__(self) -> str:
        return f"OAuthClient(client_id={self.config.client_id!r}, token_endpoint={self.config.token_endpoint!r})"

    # -- building the Authlib client ------------------------------------------------------------

    def _session(self) -> OAuth2Client:
        cfg = self.config
        method: Any = cfg.auth_method
        if cfg.client_id_param != "client_id":
            # A server that renames client_id (TikTok's client_key) takes it only in the form
            # body; HTTP Basic would send the standard name and be refused as invalid_client.
            method = ("renamed_client_id", self._renamed_id_auth)
        session = OAuth2Client(
            client_id=cfg.client_id,
            client_secret=cfg.client_secret.get_secret_value() if cfg.client_secret else None,
            token_endpoint_auth_method=method if isinstance(method, str) else method[0],
            revocation_endpoint_auth_method=method if isinstance(method, str) else method[0],
            code_challenge_method="S256",
            timeout=self.timeout,
            **self.http_options,
        )
        if not isinstance(method, str):
            session.register_client_auth_method(method)
        session.register_compliance_hook("access_token_response", self._check_transient)
        session.register_compliance_hook("refresh_token_response", self._check_transient)
        return session

    def _renamed_id_auth(self, client, method, uri, headers, body):
        """``client_secret_post`` for servers that call the client id something else (TikTok)."""
        pairs = [(self.config.client_id_param, client.client_id)]
        if client.client_secret:
            pairs.append(("client_secret", client.client_secret))
        if isinstance(body, bytes):  # Authlib passes bytes on the revocation path
            body = body.decode("utf-8")
        body = "&".join(filter(None, [body, urlencode(pairs)]))
        if "Content-Length" in headers:
            headers["Content-Length"] = str(len(body))
        return uri, headers, body

    @staticmethod
    def _check_transient(response: httpx.Response) -> httpx.Response:
        if response.status_code == 429 or response.status_code >= 500:
            raise RetryableError(
                f"token endpoint {response.request.url.copy_with(query=None)} answered {response.status_code}",
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        return response

    def _map_error(self, exc: Exception, action: str, hidden: Iterable[str | None]) -> FerryError:
        secret = self.config.client_secret.get_secret_value() if self.config.client_secret else None
        hidden = [*hidden, secret]
        if isinstance(exc, FerryError):
            return exc
        if isinstance(exc, OAuthError):
            code = str(exc.error or "oauth_error")
            description = _scrub(str(exc.description or ""), hidden)
            message = f"{action} at {self.config.token_endpoint} failed: {code}" + (f" ({description})" if description else "")
            if code in REAUTH_ERRORS:
                return ReauthRequired(message + "; a new authorization is needed")
            if code in _CONFIG_ERRORS:
                return ConfigError(message + "; check the client id, secret and scopes")
            return FatalError(message)
        if isinstance(exc, httpx.HTTPStatusError):
            status = exc.response.status_code
            return FatalError(f"{action} at {self.config.token_endpoint} failed: HTTP {status} without an OAuth error body")
        if isinstance(exc, httpx.HTTPError):
            return RetryableError(f"{action} at {self.config.token_endpoint} failed: {type(exc).__name__}")
        if isinstance(exc, ValueError):  # Authlib: "Token endpoint response is not a JSON object"
            return FatalError(f"{action} at {self.config.token_endpoint} failed: the answer is not a JSON object")
        raise exc

    # -- the flow ---------------------------------------------------------------------------------

    def authorization_request(self, redirect_uri: str, *, scopes: Sequence[str] | None = None) -> AuthorizationRequest:
        """Create the authorization URL with a fresh ``state`` and PKCE verifier (43+ chars)."""
        if not self.config.authorization_endpoint:
            raise ConfigError("no authorization endpoint: pass --authorize-url or --metadata-url")
        verifier = secrets.token_urlsafe(48)  # 64 characters of [A-Za-z0-9_-] (RFC 7636 §4.1)
        state = secrets.token_urlsafe(24)
        scope = self.config.scope_separator.join(scopes if scopes is not None else self.config.scopes) or None
        with self._session() as session:
            url, state = session.create_authorization_url(
                self.config.authorization_endpoint,
                state=state,
                redirect_uri=redirect_uri,
                scope=scope,
                code_challenge=pkce_challenge(verifier, self.config.pkce_encoding),
                code_challenge_method="S256",
            )
        if self.config.client_id_param != "client_id":
            parts = urlsplit(url)
            query = [(self.config.client_id_param if k == "client_id" else k, v) for k, v in parse_qsl(parts.query)]
            url = urlunsplit(parts._replace(query=urlencode(query)))
        return AuthorizationRequest(url=url, state=state, code_verifier=SecretStr(verifier), redirect_uri=redirect_uri)

    def exchange_code(self, request: AuthorizationRequest, code: SecretStr | str) -> TokenSet:
        """Trade an authorization code for tokens (``grant_type=authorization_code`` + verifier).

        Raises:
            ReauthRequired: the code is invalid, used or expired, or the verifier does not match.
            ConfigError: the client was rejected. RetryableError: 429/5xx/unreachable.
        """
        raw_code = code.get_secret_value() if isinstance(code, SecretStr) else code
        verifier = request.code_verifier.get_secret_value()
        try:
            with self._session() as session:
                data = session.fetch_token(
                    self.config.token_endpoint,
                    grant_type="authorization_code",
                    code=raw_code,
                    redirect_uri=request.redirect_uri,
                    code_verifier=verifier,
                )
            return TokenSet.from_response(dict(data), account_field=self.config.account_field)
        except Exception as exc:
            raise self._map_error(exc, "exchanging the authorization code", [raw_code, verifier]) from None

    def refresh(self, refresh_token: SecretStr | str) -> TokenSet:
        """Use the refresh token (``grant_type=refresh_token``); keeps it when none comes back.

        The answer may carry a rotated refresh token: store what comes back, at once.

        Raises:
            ReauthRequired: invalid_grant or session_invalidated.
            ConfigError / RetryableError / FatalError: see the module docstring.
        """
        raw = refresh_token.get_secret_value() if isinstance(refresh_token, SecretStr) else refresh_token
        try:
            with self._session() as session:
                data = session.refresh_token(self.config.token_endpoint, refresh_token=raw)
            return TokenSet.from_response(dict(data), previous_refresh_token=raw, account_field=self.config.account_field)
        except Exception as exc:
            raise self._map_error(exc, "refreshing the token", [raw]) from None

    def revoke(self, token: SecretStr | str, token_type_hint: Literal["access_token", "refresh_token"]) -> bool:
        """RFC 7009: ask the server to revoke ``token``. True when the server said 200.

        200 also answers unknown or already-dead tokens, so it always means "done". A 400
        ``unsupported_token_type`` returns False (the server cannot revoke that kind).

        Raises:
            ConfigError: no revocation endpoint, or the client was rejected (400/401 other).
            RetryableError: 503 (with Retry-After), 429, 5xx or unreachable.
        """
        if not self.config.revocation_endpoint:
            raise ConfigError("no revocation endpoint for this credential; pass --revoke-url at login")
        raw = token.get_secret_value() if isinstance(token, SecretStr) else token
        url = self.config.revocation_endpoint
        try:
            with self._session() as session:
                response = session.revoke_token(url, token=raw, token_type_hint=token_type_hint)
        except Exception as exc:
            if isinstance(exc, httpx.HTTPError):
                raise RetryableError(f"revoking a token at {url} failed: {type(exc).__name__}") from None
            raise
        if response.status_code == 200:
            return True
        if response.status_code == 429 or response.status_code >= 500:
            raise RetryableError(f"revocation endpoint {url} answered {response.status_code}", retry_after=retry_after_seconds(response.headers.get("Retry-After")))
        error = _json_error(response)
        if response.status_code == 400 and error == "unsupported_token_type":
            return False
        raise ConfigError(f"revocation endpoint {url} answered {response.status_code} {error or ''}".rstrip())


    # -- what the provider says about the user ---------------------------------------------------

    def account_of(self, tokens: TokenSet) -> str | None:
        """The provider's id of the user: from the token answer, else the user-info endpoint.

        None when the provider declares neither (``account_field``, ``userinfo_endpoint``).

        Raises:
            RetryableError / ReauthRequired / FatalError: the user-info endpoint failed.
        """
        if tokens.account:
            return tokens.account
        if not self.config.userinfo_endpoint:
            return None
        return fetch_account(
            self.config.userinfo_endpoint,
            tokens.access_token.get_secret_value(),
            self.config.userinfo_account_field,
            timeout=self.timeout,
            http_options=self.http_options,
        )

    def access_end(self, access_token: SecretStr | str, *, account: str | None = None, url: str | None = None):
        """When the user's access ends, as the provider answers (None: nothing announced).

        ``url`` overrides the configured lookup (``access_expiry_url``), e.g. one the connector
        declared after the credential was stored.

        Raises:
            ConfigError: the provider declares no such lookup.
            RetryableError / ReauthRequired / FatalError: the lookup failed.
        """
        url = url or self.config.access_expiry_url
        if not url:
            raise ConfigError("this credential's provider declares no access-expiry lookup")
        raw = access_token.get_secret_value() if isinstance(access_token, SecretStr) else access_token
        return fetch_access_end(
            url,
            raw,
            self.config.access_expiry_field,
            account=account,
            timeout=self.timeout,
            http_options=self.http_options,
        )


def _json_error(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return str(body.get("error")) if isinstance(body, dict) and body.get("error") else None


def s256_challenge(verifier: str) -> str:
    """RFC 7636 S256: base64url-no-padding(SHA-256(verifier)), as Authlib computes it."""
    return create_s256_code_challenge(verifier)


def pkce_challenge(verifier: str, encoding: str = "base64url") -> str:
    """The S256 code challenge of ``verifier``: RFC 7636's base64url, or hex (TikTok desktop)."""
    if encoding == "hex":
        return hashlib.sha256(verifier.encode("ascii")).hexdigest()
    if encoding != "base64url":
        raise ConfigError(f"unknown PKCE encoding {encoding!r}; use one of {', '.join(PKCE_ENCODINGS)}")
    return s256_challenge(verifier)
