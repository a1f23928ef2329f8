"""The folder connector's defaults, kept apart from the code that uses them.

Why: the options model (:mod:`.options`) needs these values to declare its fields, and a request
is validated (``ferry transfer`` refusing bad input) by reading the options. Importing them from
the exporter, importer and writer loaded fsspec and the calendar writer (icalendar) for that,
about half of a bad command's start-up. Those modules import their defaults from here.
"""

from __future__ import annotations

import enum

__all__ = ["DEFAULT_PAGE_SIZE", "DEFAULT_TRANSFERS", "DEFAULT_CHUNK", "IcsLayout"]

#: Items per exported page.
DEFAULT_PAGE_SIZE = 500
#: Byte copies running at once (rclone's default ``--transfers``).
DEFAULT_TRANSFERS = 4
#: Copy buffer size: large enough to amortise per-call overhead, small enough for flat memory.
DEFAULT_CHUNK = 4 << 20


class IcsLayout(enum.StrEnum):
    CALENDAR = "calendar"  # one .ics per calendar (default)
    EVENT = "event"  # one .ics per event, in a folder per calendar
