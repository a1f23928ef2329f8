"""BLOBS vertical: everything in the download as files, so nothing asked for is dropped.

Order (parents first): folders, then profile, activity and direct-message files, then every other
top-level section split per sub-section (``/TikTok/<section>/<sub>.json``, including ``Post``,
``Comment`` and ``Likes and Favorites``), then every other zip member as it is (``zip:`` refs; with
``data_format=text`` that is every ``.txt`` file), with its MIME type told from its bytes or its
name. Media members paired with a post are the post's Photo or Video, not blobs: each file of the
download is delivered once.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from ..models import File, Folder, stable_id
from .activity import SECTION_KEYS as ACTIVITY_KEYS
from .activity import activity_files
from .media import member_mime
from .messages import PATHS as DM_PATHS
from .messages import dm_files
from .parse import TikTokExport, ZipMember
from .posts import ZIP_PREFIX
from .profile import SECTION_KEYS as PROFILE_KEYS
from .profile import profile_files
from ..names import safe_segment
from .sections import ROOT, section_file_stem, split_section

__all__ = ["blob_items"]


def _member_files(export: TikTokExport, paired: Collection[str], head_of: Callable[[ZipMember], bytes]) -> list[File]:
    files = []
    for member in export.members:
        if member.name in paired:
            continue
        parts = [safe_segment(p) for p in member.path.split("/")]
        files.append(
            File(
                id=stable_id("tiktok", "member", member.path, member.crc, member.size),
                folder="/".join([ROOT, *parts[:-1]]),
                name=parts[-1],
                mime_type=member_mime(member.name, head_of(member)),
                size=member.size,
                ref=ZIP_PREFIX + member.name,
            )
        )
    return files


def blob_items(export: TikTokExport, *, paired: Collection[str] = (), head_of: Callable[[ZipMember], bytes] = lambda m: b"") -> list[Folder | File]:
    """Folders first, then section files, then the members not paired with a post.

    Args:
        export: the read download.
        paired: names of members that are a post's media (delivered as Photo/Video).
        head_of: the first bytes of a member (its MIME type is told from them).
    """
    claimed = {PROFILE_KEYS.get(export.schema), ACTIVITY_KEYS.get(export.schema)}
    claimed.add(DM_PATHS.get(export.schema, (None,))[0])
    files: list[File] = [*profile_files(export), *activity_files(export), *dm_files(export)]
    for key in export.keys():
        if key not in claimed:
            files.extend(split_section(export, key, f"{ROOT}/{section_file_stem(key)}"))
    files.extend(_member_files(export, paired, head_of))
    folders: set[str] = set()
    for f in files:
        path = f.folder
        while path and path != "/":
            folders.add(path)
            path = path.rsplit("/", 1)[0]
    folder_items = [Folder(id=stable_id("tiktok", "folder", p), path=p) for p in sorted(folders)]
    return [*folder_items, *files]
