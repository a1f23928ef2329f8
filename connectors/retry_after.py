"""``Retry-After`` (RFC 9110 §10.2.3): how long a server asked us to wait.

One parser for every HTTP connector, since servers send either delta seconds ("120") or an HTTP
date ("Wed, 25 Nov 2026 07:28:00 GMT") and a client that reads only one form retries too early.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["retry_after_seconds"]


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait (never negative), or None when the header is absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
