"""The Meta archive source's options (``-o meta.KEY=VALUE``)."""

from __future__ import annotations

from pydantic import Field, field_validator

from ..models import Vertical
from ..readlimits import ReadLimitOptions

__all__ = ["MetaOptions"]


class MetaOptions(ReadLimitOptions):
    """How a Meta "Download Your Information" archive is read; the caps keep a hostile one bounded."""

    connector_name = "meta"

    page_size: int = Field(200, ge=1, description="items per exported page")
    verticals: frozenset[Vertical] | None = Field(
        None, description="the verticals the transfer moves, so files left out are listed as not selected (the engine passes them)"
    )

    @field_validator("verticals", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()] or None
        return value
