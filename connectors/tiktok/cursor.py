"""The TikTok exporter's cursor: where a transfer stands in the data request's life.

A transfer goes ``(None) -> pending -> staged(offset 0) -> staged(offset n) -> done``:

* ``None``: nothing asked yet (or another vertical already asked: the job's state slot says).
* ``pending``: TikTok is preparing ``request_id``; ``checks`` counts Check calls (backoff).
  This is the cursor carried by :class:`~connectors.errors.SourceNotReady`: the framework saves
  it, frees the worker, and calls ``list_page(vertical, cursor)`` again after ``check_after``
  seconds or when the webhook for ``wake_key == str(request_id)`` arrives.
* ``staged``: the zip is in staging; ``offset`` items of this vertical were already returned.

``rerequests`` counts how often an expired request was replaced, so a loop of expiries stops.
"""

from __future__ import annotations

import enum

from ..base import Cursor

__all__ = ["Phase", "TikTokCursor"]


class Phase(enum.StrEnum):
    PENDING = "pending"  # asked; TikTok is collecting (or ready but not yet downloaded)
    STAGED = "staged"  # downloaded into staging; paging through items


class TikTokCursor(Cursor):
    """Typed, frozen, JSON-able; stored per vertical by the framework."""

    request_id: int
    phase: Phase = Phase.PENDING
    checks: int = 0
    rerequests: int = 0
    offset: int = 0
