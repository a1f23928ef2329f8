"""Per-destination limits on Prefect's global concurrency limits (shared by every worker).

Why Prefect's limits and not a local semaphore: transfers run on several workers, and what must
be bounded is the load on one destination service as a whole. An operator creates, for
connector ``generic``::

    prefect gcl create ferry-dest-generic --limit 4                            # at most 4 pages at once
    prefect gcl create ferry-dest-generic --limit 4 --slot-decay-per-second 1  # ...and a rate

Each import task holds one slot of ``ferry-dest-<connector>`` while it imports a page. A name with
no limit is not throttled (checked once per process, so the worker does not log Prefect's
"limit does not exist" warning for every page).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

__all__ = ["destination_limit_name", "destination_slot", "recurring_lock_name", "ensure_limit"]

#: How long a "limit exists?" answer is trusted (limits created later are picked up after this).
CHECK_TTL = 60.0

_known: dict[str, tuple[bool, float]] = {}
_lock = threading.Lock()


def destination_limit_name(connector: str) -> str:
    return f"ferry-dest-{connector}"


def recurring_lock_name(recurring_id: str) -> str:
    return f"ferry-recurring-{recurring_id}"


def _limit_exists(name: str) -> bool:
    now = time.monotonic()
    with _lock:
        cached = _known.get(name)
        if cached and now - cached[1] < CHECK_TTL:
            return cached[0]
    exists = False
    try:
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            limit = client.read_global_concurrency_limit_by_name(name)
            exists = bool(limit.active)
    except Exception:  # ObjectNotFound, or no API: run unthrottled
        exists = False
    with _lock:
        _known[name] = (exists, now)
    return exists


@contextlib.contextmanager
def destination_slot(connector: str) -> Iterator[None]:
    """Hold one slot of the destination's limit while the body runs (no-op without a limit)."""
    name = destination_limit_name(connector)
    if not _limit_exists(name):
        yield
        return
    from prefect.concurrency.sync import concurrency

    with concurrency(name, occupy=1, strict=False):
        yield


def ensure_limit(name: str, limit: int, slot_decay_per_second: float | None = None) -> None:
    """Create or update a global concurrency limit (idempotent; safe from several workers)."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        client.upsert_global_concurrency_limit_by_name(name, limit, slot_decay_per_second=slot_decay_per_second)
    with _lock:
        _known.pop(name, None)
