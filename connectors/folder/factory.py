"""Building the folder exporter and importer from a ConnectorContext, and claiming bare locations.

Options: :class:`~connectors.folder.options.FolderOptions` (``ferry connectors show folder``).

Storage options (endpoint URL, keys) come from ``ConnectorContext.storage_options`` and go to
fsspec unchanged; they never appear in messages.

The exporter, importer and fsspec are imported when one is made (or a URL is sniffed), not when
the connector registers: validating a request (a bare path, options) must not load them.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..registry import ConnectorContext
from .filters import PathFilter
from .options import FolderOptions

if TYPE_CHECKING:
    from .exporter import FolderExporter
    from .importer import FolderImporter

__all__ = ["make_exporter", "make_importer", "sniff_source", "sniff_destination"]

# Protocols that are archives, caches, read-only web sources or wrappers, not folders to claim
# from a bare location (they still work with an explicit ``folder:`` prefix).
_NOT_FOLDERS = {
    "http", "https", "zip", "tar", "libarchive", "data", "reference", "github", "gist", "git",
    "cached", "simplecache", "filecache", "blockcache", "dir", "generic", "async_wrapper",
    "asyncwrapper", "jupyter", "jlab", "pyscript", "dask", "dvc", "hf", "wandb",
}  # fmt: skip


def make_exporter(ctx: ConnectorContext) -> FolderExporter:
    """A folder source at ``ctx.location`` (path or fsspec URL). Raises ConfigError for bad URLs."""
    from .exporter import FolderExporter
    from .fs import open_folder

    options = FolderOptions.of(ctx)
    location = open_folder(ctx.location, ctx.storage_options)
    return FolderExporter(
        location,
        page_size=options.page_size,
        id_scheme=options.id_scheme,
        filters=PathFilter.of(options.include, options.exclude),
    )


def make_importer(ctx: ConnectorContext) -> FolderImporter:
    """A folder destination at ``ctx.location``. Raises ConfigError for bad URLs."""
    from .fs import open_folder
    from .importer import FolderImporter

    options = FolderOptions.of(ctx)
    location = open_folder(ctx.location, ctx.storage_options)
    return FolderImporter(
        location, chunk_size=options.chunk_size, transfers=options.transfers, ics=options.ics, fsync=options.fsync
    )


def _remote_protocol(text: str) -> str | None:
    scheme, sep, _ = text.partition("://")
    return scheme.lower() if sep else None


def _known_protocols() -> set[str]:
    from .fs import known_protocols

    return set(known_protocols())


def sniff_source(text: str) -> bool:
    """Claim an existing local directory or a URL of a storage protocol fsspec knows."""
    protocol = _remote_protocol(text)
    if protocol is not None:
        return protocol not in _NOT_FOLDERS and protocol in _known_protocols()
    return os.path.isdir(os.path.expanduser(text))


def sniff_destination(text: str) -> bool:
    """Claim any local path that is not an existing file, or a storage URL fsspec knows."""
    protocol = _remote_protocol(text)
    if protocol is not None:
        return protocol not in _NOT_FOLDERS and protocol in _known_protocols()
    return bool(text.strip()) and not os.path.isfile(os.path.expanduser(text))
