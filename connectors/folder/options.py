"""The folder connector's options (``-o folder.KEY=VALUE``).

Storage options (endpoint URL, keys) are not options: they come from the ``storage_options``
setting and go to fsspec unchanged; they never appear in messages.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from ..options import ConnectorOptions
from .defaults import DEFAULT_CHUNK, DEFAULT_PAGE_SIZE, DEFAULT_TRANSFERS, IcsLayout
from .filters import parse_patterns
from .ids import IdScheme

__all__ = ["FolderOptions"]


class FolderOptions(ConnectorOptions):
    """How a folder is read (as a source) and written (as a destination)."""

    connector_name = "folder"

    page_size: int = Field(DEFAULT_PAGE_SIZE, ge=1, description="items per exported page")
    include: tuple[str, ...] = Field(
        (), description="source: transfer only files matching these rclone-style globs (*.jpg, 2020/**, /top.txt, {a,b}); "
        "a list, or one string with newlines between patterns; ferry transfer --include"
    )
    exclude: tuple[str, ...] = Field(
        (), description="source: leave out files matching these globs (a folder ending in /: all of it); an exclude always wins; "
        "ferry transfer --exclude"
    )
    id_scheme: IdScheme = Field(
        IdScheme.KIND, description="how source ids are made: kind, or path (the ids of transfers begun under an older ferry)"
    )
    transfers: int = Field(
        DEFAULT_TRANSFERS, ge=1, le=64, description="byte copies the importer runs at once, like rclone's --transfers (1: one at a time)"
    )
    chunk_size: int = Field(DEFAULT_CHUNK, ge=64 * 1024, description="copy buffer in bytes, one per copy thread")
    ics: IcsLayout = Field(IcsLayout.CALENDAR, description="calendar: one .ics per calendar; event: one .ics per event")
    fsync: bool = Field(
        False, description="flush every local file to disk before it counts as written (survives a power loss; slower)"
    )

    @field_validator("include", "exclude", mode="before")
    @classmethod
    def _patterns(cls, value: object, info) -> tuple[str, ...]:
        return parse_patterns(value, info.field_name)  # a bad glob: ConfigError naming it

    @field_validator("id_scheme", "ics", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value
