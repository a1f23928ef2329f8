"""What the TikTok exporter remembers for the whole job, kept in the job's state slot.

Why not in the cursor: the framework keeps one cursor per vertical, but TikTok may allow a single
Add call per consent (``.single``), so every vertical of a job must share one data request. The
first vertical to start records ``request_id`` here, at once (the Add call is not idempotent);
the others, and a restarted ferry whose verticals have no cursor yet, pick it up instead of
asking again. The framework keeps the value in its job store (:mod:`connectors.state`), so no
file of ferry's own lies in staging and canceling the job forgets it.
"""

from __future__ import annotations

from pydantic import Field

from ..state import State
from .media import MediaType

__all__ = ["TikTokState"]


class TikTokState(State):
    """The job's one data request and how far it got.

    Attributes:
        request_id: the data request every vertical of the job reads.
        staged: its zip is in staging (and passed the zip check).
        size: the zip's byte count.
        downloads: how often it was downloaded (a download for fresh media links is the next).
        rerequests: how often an expired request was replaced.
        checks: Check calls answered "pending" (the poll back-off).
        malformed: downloads in a row that failed the same way (a malformed export).
        malformed_reason: what was wrong with them.
        media: per post's media id, what its link serves (told from its bytes; None: no photo
            or video); each link is probed once per job, and the answer keeps pages the same
            in every process.
    """

    request_id: int
    staged: bool = False
    size: int | None = None
    downloads: int = 0
    rerequests: int = 0
    checks: int = 0
    malformed: int = 0
    malformed_reason: str | None = None
    media: dict[str, MediaType | None] = Field(default_factory=dict)
