"""BLOBS vertical: everything in the download as files, so nothing asked for is dropped.

Order (parents first): folders, then profile, activity and direct-message files, then every other
top-level section split per sub-section (``/TikTok/<section>/<sub>.json``, including ``Post``,
``Comment`` and ``Likes and Favorites``), then any other zip member as it is (``zip:`` refs; with
``data_format=text`` that is every ``.txt`` file).
"""

from __future__ import annotations

from ..models import File, Folder, stable_id
from .activity import SECTION_KEYS as ACTIVITY_KEYS
from .activity import activity_files
from .messages import PATHS as DM_PATHS
from .messages import dm_files
from .parse import TikTokExport
from .profile import SECTION_KEYS as PROFILE_KEYS
from .profile import profile_files
from .sections import ROOT, safe_name, split_section

__all__ = ["blob_items", "ZIP_PREFIX"]

ZIP_PREFIX = "zip:"


def _member_files(export: TikTokExport) -> list[File]:
    files = []
    for info in export.other_members:
        parts = [safe_name(p) for p in info.filename.split("/") if p]
        folder = "/".join([ROOT, *parts[:-1]])
        files.append(
            File(
                id=stable_id("tiktok", "member", info.filename, info.CRC, info.file_size),
                folder=folder,
                name=parts[-1],
                mime_type="application/json" if info.filename.lower().endswith(".json") else "text/plain",
                size=info.file_size,
                ref=ZIP_PREFIX + info.filename,
            )
        )
    return files


def blob_items(export: TikTokExport) -> list[Folder | File]:
    claimed = {PROFILE_KEYS.get(export.schema), ACTIVITY_KEYS.get(export.schema)}
    claimed.add(DM_PATHS.get(export.schema, (None,))[0])
    files: list[File] = [*profile_files(export), *activity_files(export), *dm_files(export)]
    for key in export.doc:
        if key not in claimed:
            files.extend(split_section(export, key, f"{ROOT}/{safe_name(key)}"))
    files.extend(_member_files(export))
    folders: set[str] = set()
    for f in files:
        path = f.folder
        while path and path != "/":
            folders.add(path)
            path = path.rsplit("/", 1)[0]
    folder_items = [Folder(id=stable_id("tiktok", "folder", p), path=p) for p in sorted(folders)]
    return [*folder_items, *files]
