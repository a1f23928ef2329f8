"""Building the folder exporter and importer from a ConnectorContext, and claiming bare locations.

Options (``ConnectorContext.options``, strings from the command line are accepted):

``page_size``   items per exported page (default 500).
``id_scheme``   ``kind`` (default) or ``path``: how source ids are made (:mod:`.ids`; ``path`` keeps
                the ids of transfers that began under an older ferry).
``chunk_size``  copy buffer in bytes for the importer (default 4 MiB, one per copy thread).
``transfers``   byte copies the importer runs at once (default 4, like rclone's ``--transfers``;
                1 copies one file at a time).
``ics``         ``calendar`` (default: one ``.ics`` per calendar) or ``event`` (one per event).
``fsync``       ``true``: flush every local file to disk before it counts as written (survives a
                power loss; slower). Default false, like cp and rclone (see :mod:`.atomic`).

Storage options (endpoint URL, keys) come from ``ConnectorContext.storage_options`` and go to
fsspec unchanged; they never appear in messages.
"""

from __future__ import annotations

import os

from ..options import flag_option, int_option
from ..registry import ConnectorContext
from .atomic import DEFAULT_CHUNK
from .exporter import DEFAULT_PAGE_SIZE, FolderExporter
from .fs import known_protocols, open_folder
from .ids import IdScheme, parse_id_scheme
from .importer import DEFAULT_TRANSFERS, FolderImporter, IcsLayout, parse_ics_layout

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
    location = open_folder(ctx.location, ctx.storage_options)
    return FolderExporter(
        location,
        page_size=int_option(ctx.options, "page_size", DEFAULT_PAGE_SIZE, connector="folder"),
        id_scheme=parse_id_scheme(ctx.options.get("id_scheme", IdScheme.KIND)),
    )


def make_importer(ctx: ConnectorContext) -> FolderImporter:
    """A folder destination at ``ctx.location``. Raises ConfigError for bad URLs."""
    location = open_folder(ctx.location, ctx.storage_options)
    return FolderImporter(
        location,
        chunk_size=int_option(ctx.options, "chunk_size", DEFAULT_CHUNK, connector="folder"),
        transfers=int_option(ctx.options, "transfers", DEFAULT_TRANSFERS, connector="folder"),
        ics=parse_ics_layout(ctx.options.get("ics", IcsLayout.CALENDAR)),
        fsync=flag_option(ctx.options, "fsync", False, connector="folder"),
    )


def _remote_protocol(text: str) -> str | None:
    scheme, sep, _ = text.partition("://")
    return scheme.lower() if sep else None


def sniff_source(text: str) -> bool:
    """Claim an existing local directory or a URL of a storage protocol fsspec knows."""
    protocol = _remote_protocol(text)
    if protocol is not None:
        return protocol not in _NOT_FOLDERS and protocol in known_protocols()
    return os.path.isdir(os.path.expanduser(text))


def sniff_destination(text: str) -> bool:
    """Claim any local path that is not an existing file, or a storage URL fsspec knows."""
    protocol = _remote_protocol(text)
    if protocol is not None:
        return protocol not in _NOT_FOLDERS and protocol in known_protocols()
    return bool(text.strip()) and not os.path.isfile(os.path.expanduser(text))
