"""The one exception tree of ferry, sorted by what the caller should do.

    FerryError                       base; every message names the file, field or item
    ├── ConfigError                  bad input from the user (URL, option, missing key): fix and re-run
    ├── ItemError                    this item cannot move: record it, skip it, carry on
    │   └── RetryableItemError       ... but trying the same item later may work (5xx, timeout)
    ├── RetryableError               the whole call may work later; ``retry_after`` seconds if known
    ├── ReauthRequired               the credential is dead: job goes to NEEDS_REAUTH, resumable
    ├── DestinationFull              the destination has no room: job goes to PAUSED, resumable
    ├── SourceNotReady               the source is still preparing data: wait durably, resume later
    └── FatalError                   systemic failure (unreadable archive, unwritable destination):
                                     stop the job in a resumable state

Secrets never appear in ``str(exc)``: connectors pass item ids and file names, not tokens.
"""

from __future__ import annotations

__all__ = [
    "FerryError",
    "ConfigError",
    "ItemError",
    "RetryableItemError",
    "RetryableError",
    "ReauthRequired",
    "DestinationFull",
    "FatalError",
    "SourceNotReady",
]


class FerryError(Exception):
    """Base of every error ferry raises on purpose."""


class ConfigError(FerryError):
    """The user's input is wrong (unknown URL scheme, bad option, missing key file)."""


class ItemError(FerryError):
    """One item cannot be transferred; the transfer records it and goes on.

    Args:
        item_id: the idempotent id of the item.
        message: what is wrong, naming the file or field.
        retryable: whether a later attempt at the same item may succeed.
    """

    retryable = False

    def __init__(self, item_id: str, message: str, *, retryable: bool | None = None):
        super().__init__(f"{message} (item {item_id})")
        self.item_id = item_id
        self.reason = message
        if retryable is not None:
            self.retryable = retryable


class RetryableItemError(ItemError):
    """An item failed for a reason that may pass (server error, timeout)."""

    retryable = True


class RetryableError(FerryError):
    """A call failed in a way that may pass; wait ``retry_after`` seconds when given."""

    def __init__(self, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class ReauthRequired(FerryError):
    """The credential can no longer be refreshed; the user must authorize again."""


class DestinationFull(FerryError):
    """The destination refused more data because it is full; resume after freeing space."""


class FatalError(FerryError):
    """A systemic failure: the job stops, resumable, with this message shown to the user."""


class SourceNotReady(FerryError):
    """The source is preparing the data (TikTok's asynchronous export); come back later.

    The framework saves ``cursor`` (which records e.g. the request id), marks the job PAUSED
    with the reason "waiting for source", frees the worker and resumes after ``check_after``
    seconds or when a webhook says the data is ready (``wake_key``).
    """

    def __init__(self, message: str, *, cursor, check_after: float = 60.0, wake_key: str | None = None):
        super().__init__(message)
        self.cursor = cursor
        self.check_after = check_after
        self.wake_key = wake_key
