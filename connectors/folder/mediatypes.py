"""The media-type table moved to :mod:`connectors.mediatypes` (one MIME table for every connector)."""

from ..mediatypes import media_kind, mime_type

__all__ = ["media_kind", "mime_type"]
