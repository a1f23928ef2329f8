"""Build a :class:`TikTokExporter` from a :class:`~connectors.registry.ConnectorContext`.

Options (``ctx.options``, all optional; strings are accepted as they come from a command line):

==================  ===========================================================================
``categories``      comma list of all_data, activity, video, profile, direct_message (all_data)
``data_format``     ``json`` (parsed into verticals) or ``text`` (every file a blob); json
``ongoing``         true for a recurring transfer: requires ``.ongoing`` scopes; false
``scopes``          the scopes the stored credential was granted (comma list). When known (here
                    or as ``ctx.auth.scopes``), a category without its scope is a ConfigError
                    raised here, before any HTTP call.
``api_base``        API host; https://open.tiktokapis.com
``poll_interval``   first wait (s) while TikTok prepares; doubles up to ``max_poll_interval``; 60
``max_poll_interval`` ceiling of the wait (s); 3600
``webhook``         true when ``ferry serve-webhooks`` receives TikTok's callbacks: polling then
                    waits ``max_poll_interval`` as the fallback; false
``max_rerequests``  how often an expired request is asked again; 3
``page_size``       items per page; 200
``max_json_mb``     biggest JSON document read from the download, in MB (10^6 bytes); 64
``max_ratio``       biggest decompression ratio of a zip member; 200
``max_members``     most files the download may hold; 250000
==================  ===========================================================================
"""

from __future__ import annotations

from ..errors import ConfigError
from ..options import flag_option, float_option, int_option
from ..readlimits import limits_from_options
from ..registry import ConnectorContext
from .api import DEFAULT_API_BASE, TikTokApi
from .exporter import TikTokExporter
from .lifecycle import LifecycleOptions
from .scopes import check_granted, parse_categories
from .staging import Staging

__all__ = ["make_exporter", "lifecycle_options"]

_FORMATS = ("json", "text")


def lifecycle_options(options) -> LifecycleOptions:
    """Validate the request-related options (ConfigError naming the option)."""
    data_format = str(options.get("data_format", "json")).lower()
    if data_format not in _FORMATS:
        raise ConfigError(f"TikTok option 'data_format' must be json or text, not {data_format!r}")
    return LifecycleOptions(
        categories=tuple(c.value for c in parse_categories(options.get("categories"))),
        data_format=data_format,
        poll_interval=float_option(options, "poll_interval", 60.0, connector="tiktok"),
        max_poll_interval=float_option(options, "max_poll_interval", 3600.0, connector="tiktok"),
        webhook=flag_option(options, "webhook", connector="tiktok"),
        max_rerequests=int_option(options, "max_rerequests", 3, connector="tiktok", minimum=0),
    )


def make_exporter(ctx: ConnectorContext) -> TikTokExporter:
    """The registry's factory. Raises ConfigError before any HTTP call when the input is wrong."""
    options = ctx.options or {}
    lifecycle = lifecycle_options(options)
    granted = options.get("scopes") or getattr(ctx.auth, "scopes", None)
    if granted:
        check_granted(lifecycle.categories, granted, ongoing=flag_option(options, "ongoing", connector="tiktok"))
    if ctx.auth is None:
        raise ConfigError("the TikTok connector needs an authorization: authorize ferry with TikTok first")
    if not ctx.staging_url:
        raise ConfigError("the TikTok connector needs a staging area (staging_url) for the download")
    page_size = int_option(options, "page_size", 200, connector="tiktok")
    api = TikTokApi(ctx.auth, base_url=str(options.get("api_base") or DEFAULT_API_BASE))
    staging = Staging(ctx.staging_url, ctx.storage_options)
    limits = limits_from_options(options, connector="tiktok")
    return TikTokExporter(api, staging, lifecycle, ctx.state, page_size=page_size, progress=ctx.progress, limits=limits)
