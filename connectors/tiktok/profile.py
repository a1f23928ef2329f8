"""Profile (no ferry vertical): ``Profile And Settings`` (current) or ``Profile`` (older) as blobs.

Written to ``/TikTok/Profile/<sub-section>.json`` (``Profile Info.json``, ``Following.json``...).
"""

from __future__ import annotations

from ..models import File
from .parse import Schema, TikTokExport
from .sections import ROOT, split_section

__all__ = ["SECTION_KEYS", "profile_files", "FOLDER"]

FOLDER = f"{ROOT}/Profile"
SECTION_KEYS = {Schema.CURRENT: "Profile And Settings", Schema.OLDER: "Profile"}


def profile_files(export: TikTokExport) -> list[File]:
    key = SECTION_KEYS.get(export.schema)
    return split_section(export, key, FOLDER) if key else []
