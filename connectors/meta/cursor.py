"""The Meta exporter's typed cursor: a position in one vertical's sorted work list.

A vertical's work list is the sorted list of JSON members (units) that yield its items; each unit
gives a deterministic item list. The cursor says which unit (``unit`` index, cross-checked by
``unit_key``) and how many of its items (``offset``) were already handed out.
"""

from __future__ import annotations

from pydantic import Field

from ..base import Cursor

__all__ = ["MetaCursor"]


class MetaCursor(Cursor):
    """Where the next page starts. Frozen and JSON-serialisable like every cursor."""

    unit: int = Field(ge=0, description="Index of the unit in the vertical's work list.")
    unit_key: str = Field(description="Key of that unit (kind:member), checked on resume.")
    offset: int = Field(ge=0, description="Items of the unit already returned.")
