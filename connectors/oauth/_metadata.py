"""RFC 8414 authorization server metadata discovery, with the OpenID Connect fallback.

Where the document lives (RFC 8414 §3.1): for an issuer with a path, the well-known segment is
*inserted* between host and path — ``https://as.example/tenant1`` has its metadata at
``https://as.example/.well-known/oauth-authorization-server/tenant1``, never at
``.../tenant1/.well-known/...``. Many servers serve only OpenID Connect discovery, so
:func:`metadata_urls` lists, in order: the RFC 8414 URL, the OIDC URL with the same insertion,
and the OIDC URL appended after the path (OIDC Discovery §4).

Why the issuer check (RFC 8414 §3.3): the ``issuer`` in the document must equal the issuer the
URL was built from, or an attacker who can serve one document could redirect every endpoint.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from ..retry_after import retry_after_seconds
from ..errors import ConfigError, RetryableError

__all__ = ["ServerMetadata", "discover", "metadata_urls", "issuer_of_metadata_url"]

_OAUTH = "/.well-known/oauth-authorization-server"
_OIDC = "/.well-known/openid-configuration"


class ServerMetadata(BaseModel):
    """The fields of RFC 8414 §2 ferry uses (others are kept in ``model_extra``)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    issuer: str
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    revocation_endpoint: str | None = None
    userinfo_endpoint: str | None = None  # OpenID Connect: who the user is
    scopes_supported: list[str] | None = None
    response_types_supported: list[str] | None = None
    grant_types_supported: list[str] | None = None
    code_challenge_methods_supported: list[str] | None = None
    token_endpoint_auth_methods_supported: list[str] | None = None
    revocation_endpoint_auth_methods_supported: list[str] | None = None


def _strip(issuer: str) -> str:
    return issuer.rstrip("/")


def metadata_urls(issuer: str) -> list[str]:
    """Candidate metadata URLs for ``issuer``, most specific first (see module docstring)."""
    parts = urlsplit(issuer)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"issuer {issuer!r} is not an http(s) URL")
    if parts.query or parts.fragment:
        raise ConfigError(f"issuer {issuer!r} must not have a query or fragment (RFC 8414 §2)")
    base = f"{parts.scheme}://{parts.netloc}"
    path = parts.path.rstrip("/")
    urls = [f"{base}{_OAUTH}{path}", f"{base}{_OIDC}{path}"]
    if path:
        urls.append(f"{base}{path}{_OIDC}")
    return urls


def issuer_of_metadata_url(url: str) -> str | None:
    """The issuer a well-known URL was built from, or None when ``url`` is not a well-known URL."""
    parts = urlsplit(url)
    base = f"{parts.scheme}://{parts.netloc}"
    path = parts.path
    for segment in (_OAUTH, _OIDC):
        if path.startswith(segment):  # inserted form: /.well-known/x/<issuer path>
            return _strip(base + path[len(segment) :])
        if path.endswith(segment):  # appended OIDC form: <issuer path>/.well-known/x
            return _strip(base + path[: -len(segment)])
    return None


def discover(
    url: str,
    *,
    expected_issuer: str | None = None,
    client: httpx.Client | None = None,
    timeout: float = 15.0,
) -> ServerMetadata:
    """Fetch and check an authorization server's metadata.

    Args:
        url: either a well-known metadata URL (used as is) or an issuer URL (the candidates of
            :func:`metadata_urls` are tried in order until one answers 200).
        expected_issuer: the issuer the document must name; default: the issuer ``url``
            denotes. A trailing slash is not significant.
        client: an httpx client to reuse (tests, proxies); default a short-lived one.
        timeout: seconds per request when ``client`` is not given.

    Raises:
        ConfigError: nothing found at any candidate, the document is not valid metadata, or
            its issuer differs from the expected one.
        RetryableError: the server answered 5xx/429 or could not be reached.
    """
    derived = issuer_of_metadata_url(url)
    candidates = [url] if derived is not None else metadata_urls(url)
    expected = _strip(expected_issuer or derived or url)
    own = client is None
    http = client or httpx.Client(timeout=timeout, follow_redirects=False)
    tried: list[str] = []
    try:
        for candidate in candidates:
            try:
                response = http.get(candidate, headers={"Accept": "application/json"})
            except httpx.HTTPError as exc:
                raise RetryableError(f"cannot reach authorization server metadata at {candidate}: {type(exc).__name__}") from exc
            if response.status_code == 429 or response.status_code >= 500:
                raise RetryableError(
                    f"authorization server metadata at {candidate} answered {response.status_code}",
                    retry_after=retry_after_seconds(response.headers.get("Retry-After")),
                )
            if response.status_code != 200:
                tried.append(f"{candidate} ({response.status_code})")
                continue
            return _validate(response, candidate, expected)
    finally:
        if own:
            http.close()
    raise ConfigError("no authorization server metadata found; tried " + ", ".join(tried))


def _validate(response: httpx.Response, url: str, expected: str) -> ServerMetadata:
    try:
        metadata = ServerMetadata.model_validate(response.json())
    except (ValueError, ValidationError) as exc:
        raise ConfigError(f"{url} is not RFC 8414 metadata: {exc.__class__.__name__}") from None
    if _strip(metadata.issuer) != expected:
        raise ConfigError(
            f"metadata at {url} names issuer {metadata.issuer!r} but {expected!r} was expected "
            "(RFC 8414 §3.3); refusing to use it"
        )
    for field in ("authorization_endpoint", "token_endpoint"):
        if not getattr(metadata, field):
            raise ConfigError(f"metadata at {url} has no {field!r}")
    return metadata


