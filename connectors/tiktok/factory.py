"""Build a :class:`TikTokExporter` from a :class:`~connectors.registry.ConnectorContext`.

Options: :class:`~connectors.tiktok.options.TikTokOptions` (``ferry connectors show tiktok``).
"""

from __future__ import annotations

from ..errors import ConfigError
from ..registry import ConnectorContext
from .api import DEFAULT_API_BASE, TikTokApi
from .exporter import TikTokExporter
from .options import TikTokOptions
from .scopes import check_granted
from .staging import Staging

__all__ = ["make_exporter"]


def make_exporter(ctx: ConnectorContext) -> TikTokExporter:
    """The registry's factory. Raises ConfigError before any HTTP call when the input is wrong."""
    options = TikTokOptions.of(ctx)
    lifecycle = options.lifecycle()
    granted = options.scopes or ctx.granted_scopes
    if granted:
        check_granted(lifecycle.categories, granted, ongoing=options.ongoing)
    if ctx.auth is None:
        raise ConfigError("the TikTok connector needs an authorization: authorize ferry with TikTok first")
    if not ctx.staging_url:
        raise ConfigError("the TikTok connector needs a staging area (staging_url) for the download")
    api = TikTokApi(ctx.auth, base_url=options.api_base or DEFAULT_API_BASE)
    staging = Staging(ctx.staging_url, ctx.storage_options)
    return TikTokExporter(
        api, staging, lifecycle, ctx.state, page_size=options.page_size, progress=ctx.progress, limits=options.read_limits()
    )
