"""Activity (no ferry vertical): ``Your Activity`` (current) or ``Activity`` (older) as blobs.

Watch history, searches, login history, shares; in the older schema also likes and favorites.
Written to ``/TikTok/Activity/<sub-section>.json``.
"""

from __future__ import annotations

from ..models import File
from .parse import Schema, TikTokExport
from .sections import ROOT, split_section

__all__ = ["SECTION_KEYS", "activity_files", "FOLDER"]

FOLDER = f"{ROOT}/Activity"
SECTION_KEYS = {Schema.CURRENT: "Your Activity", Schema.OLDER: "Activity"}


def activity_files(export: TikTokExport) -> list[File]:
    key = SECTION_KEYS.get(export.schema)
    return split_section(export, key, FOLDER) if key else []
