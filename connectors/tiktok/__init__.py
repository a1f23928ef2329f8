"""TikTok Data Portability API source (EEA and UK accounts): registration only.

Modules: ``api`` (HTTP client), ``wire`` (DTOs), ``scopes`` (scope model), ``cursor``, ``state``
(the job's request, in the framework's state slot), ``staging`` + ``lifecycle`` (the asynchronous
data request), ``parse`` (the bounded read of the download), ``entries`` (posts and their content
ids), ``media`` (photo or video, by the bytes; media inside the zip), ``links`` (signed media
links), one module per part of the download (``posts``, ``profile``, ``activity``, ``messages``,
``sections``, ``blobs``), ``webhooks`` (signature check and event parsing), ``exporter``, ``factory``.
"""

from __future__ import annotations

from ..models import Vertical
from ..registry import Capabilities, Connector, ConnectorContext, OAuthSpec
from .options import TikTokOptions

__all__ = ["CONNECTOR"]


def _make_exporter(ctx: ConnectorContext):
    from .factory import make_exporter

    return make_exporter(ctx)


def _revoke_when_done(granted: tuple[str, ...]) -> bool:
    """Only a ``.single`` grant is revoked after its transfer: an ``.ongoing`` one serves the next."""
    from .scopes import revoke_after_transfer

    return revoke_after_transfer(granted)


CONNECTOR = Connector(
    name="tiktok",
    title="TikTok Data Portability API",
    services=("TikTok",),
    capabilities=Capabilities(
        exports=frozenset({Vertical.PHOTOS, Vertical.VIDEOS, Vertical.SOCIAL_POSTS, Vertical.BLOBS}),
        ephemeral_bytes=True,
        cancels_requests=True,
        reports_problems=True,
    ),
    make_exporter=_make_exporter,
    options=TikTokOptions,
    revoke_when_done=_revoke_when_done,
    oauth=OAuthSpec(
        authorization_endpoint="https://www.tiktok.com/v2/auth/authorize/",
        token_endpoint="https://open.tiktokapis.com/v2/oauth/token/",
        revocation_endpoint="https://open.tiktokapis.com/v2/oauth/revoke/",
        # The default one-off transfer of everything; use scopes.required_scopes(categories,
        # ongoing) to ask for exactly what a given transfer needs.
        scopes=("portability.all.single",),
        client_id_param="client_key",
        scope_separator=",",
        pkce_encoding="hex",  # Login Kit for desktop: hex(SHA-256(verifier)), method S256
        account_field="open_id",  # the token answer names the user; webhooks name them by it
    ),
    description="Asks TikTok for a data request, waits durably while it is prepared, downloads "
    "the zip into staging and exports photos, videos, posts and every other section as JSON files.",
)
