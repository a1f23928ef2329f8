"""DTP Generic Importer destination: ``generic:https://dest.example/dtp``.

Registration only; the parts live in ``wire.py`` (payloads), ``multipart.py`` (file bodies),
``client.py`` (the destination's headers and classification table on :mod:`connectors.http`; the engine retries) and ``importer.py`` (ordering, outcomes). See
docs/generic-importer.md.

Options (``ctx.options``; all optional):

    ==================== ========= ================================================================
    export_service       str       X-DTP-Export-Service value (default: the job's export service)
    timeout              float     seconds per network operation (default 60)
    lookup               str       ferry lookup extension: auto (ask the destination once, default),
                                   on, off
    idempotency_key      bool      ferry extension, default off: send ``Idempotency-Key: <item id>``
    concurrency          int       requests in flight at once (default 4; 1: one after another)
    spool_dir            str       temp dir for bytes of unknown size (default: system temp)
    ==================== ========= ================================================================

Credentials: OAuth 2.0 per destination. The endpoints are not fixed for this connector; the
OAuth client takes them from the destination's RFC 8414 metadata at
:func:`oauth_metadata_url` or from explicit options ``authorization_endpoint``/``token_endpoint``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ..errors import ConfigError
from ..models import Vertical
from ..options import float_option, flag_option, int_option
from ..registry import Capabilities, Connector, ConnectorContext, OAuthSpec

__all__ = ["CONNECTOR", "make_importer", "oauth_metadata_url", "parse_options"]



def parse_options(options: Mapping[str, Any]):
    """Turn ``ctx.options`` into HTTP settings plus the other settings; ConfigError names the key."""
    from ..http import HttpSettings

    from .importer import DEFAULT_CONCURRENCY

    concurrency = int_option(options, "concurrency", DEFAULT_CONCURRENCY, connector="generic")
    settings = HttpSettings(
        timeout=float_option(options, "timeout", 60.0, connector="generic"),
        connections=max(concurrency, 2),
        user_agent="ferry-generic-importer/0.1",
    )
    return settings, flag_option(options, "idempotency_key", connector="generic"), concurrency


def _check_base_url(location: str) -> str:
    parts = urlsplit(location)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"generic: {location!r} is not an http(s) base URL (e.g. generic:https://dest.example/dtp)")
    if parts.query or parts.fragment:
        raise ConfigError(f"generic: the base URL {location!r} must not have a query or fragment")
    return location


def oauth_metadata_url(base_url: str) -> str:
    """Where a destination publishes its OAuth metadata (RFC 8414, at the origin's root)."""
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}/.well-known/oauth-authorization-server"


def make_importer(ctx: ConnectorContext):
    """Build a :class:`~connectors.generic.importer.GenericImporter` for ``ctx.location``.

    Raises:
        ConfigError: the location is not an http(s) URL, an option is malformed, or no
            credential was given (``ctx.auth``).
    """
    from .client import GenericClient
    from .importer import GenericImporter

    base_url = _check_base_url(ctx.location)
    settings, idempotency_keys, concurrency = parse_options(ctx.options)
    if ctx.auth is None:
        raise ConfigError(f"generic: {base_url} needs a credential; authorize ferry with this destination first")
    client = GenericClient(base_url, ctx.auth, settings=settings, idempotency_keys=idempotency_keys)
    lookup = str(ctx.options.get("lookup", "auto")).lower()
    if lookup not in ("auto", "on", "off"):
        raise ConfigError(f"generic: option lookup={lookup!r} must be auto, on or off")
    return GenericImporter(
        client,
        export_service=ctx.options.get("export_service") or None,
        spool_dir=ctx.options.get("spool_dir") or None,
        lookup={"auto": None, "on": True, "off": False}[lookup],
        concurrency=concurrency,
    )


CONNECTOR = Connector(
    name="generic",
    title="DTP Generic Importer destination",
    services=("DTP Generic Importer",),
    capabilities=Capabilities(
        imports=frozenset(
            {Vertical.MEDIA, Vertical.PHOTOS, Vertical.VIDEOS, Vertical.BLOBS, Vertical.CALENDAR, Vertical.SOCIAL_POSTS}
        ),
    ),
    make_importer=make_importer,
    oauth=OAuthSpec(),
    priority=80,
    description="Pushes items to any destination that implements DTP's Generic Importer API "
    "(POST <base>/media, /blobs, /calendar, /social-posts), byte-compatible with DTP.",
)
