"""DTP Generic Importer destination: ``generic:https://dest.example/dtp``.

Registration only; the parts live in ``wire.py`` (payloads), ``multipart.py`` (file bodies),
``client.py`` (the destination's headers and classification table on :mod:`connectors.http`; the
engine retries), ``importer.py`` (ordering, outcomes) and ``options.py``. See
docs/generic-importer.md.

Options: :class:`~connectors.generic.options.GenericOptions` (``ferry connectors show generic``).

Credentials: OAuth 2.0 per destination. The endpoints are not fixed for this connector; the
OAuth client takes them from the destination's RFC 8414 metadata at
:func:`oauth_metadata_url`, or from ``ferry auth login generic --authorize-url/--token-url``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ..base import RepeatSafety
from ..errors import ConfigError
from ..models import Vertical
from ..registry import Capabilities, Connector, ConnectorContext, OAuthSpec
from .options import GenericOptions

__all__ = ["CONNECTOR", "GenericOptions", "make_importer", "oauth_metadata_url"]


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
    from ..http import HttpSettings
    from .client import GenericClient
    from .importer import GenericImporter

    base_url = _check_base_url(ctx.location)
    options = GenericOptions.of(ctx)
    if ctx.auth is None:
        raise ConfigError(f"generic: {base_url} needs a credential; authorize ferry with this destination first")
    settings = HttpSettings(timeout=options.timeout, connections=max(options.concurrency, 2), user_agent="ferry-generic-importer/0.1")
    client = GenericClient(base_url, ctx.auth, settings=settings, idempotency_keys=options.idempotency_key)
    return GenericImporter(
        client,
        export_service=options.export_service or None,
        spool_dir=options.spool_dir or None,
        lookup={"auto": None, "on": True, "off": False}[options.lookup],
        concurrency=options.concurrency,
    )


CONNECTOR = Connector(
    name="generic",
    title="DTP Generic Importer destination",
    services=("DTP Generic Importer",),
    capabilities=Capabilities(
        imports=frozenset(
            {Vertical.MEDIA, Vertical.PHOTOS, Vertical.VIDEOS, Vertical.BLOBS, Vertical.CALENDAR, Vertical.SOCIAL_POSTS}
        ),
        repeat_safety=RepeatSafety.FINDS,  # through ferry's lookup extension, when the destination offers it
    ),
    make_importer=make_importer,
    options=GenericOptions,
    oauth=OAuthSpec(),
    priority=80,
    description="Pushes items to any destination that implements DTP's Generic Importer API "
    "(POST <base>/media, /blobs, /calendar, /social-posts), byte-compatible with DTP.",
)
