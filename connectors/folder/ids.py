"""Item ids of the folder source, and the older scheme kept for transfers that started with it.

Why a module of its own: ids are stored in ledgers (one row per item and scope), in sidecars
(``source_id``) and by destinations (idempotency keys), so changing them is a data migration,
not a refactoring. The rules live here, in one place.

The scheme (``id_scheme=kind``, the default): one file of the source can become two items, a
:class:`~connectors.models.File` in ``blobs`` and a :class:`~connectors.models.Photo` in
``photos``; one directory a :class:`~connectors.models.Folder` and a
:class:`~connectors.models.MediaAlbum`. Their ids must differ, or a lookup by id (the parents of
a page, "where did this item land") can answer with the other vertical's item: a photo put into
``files/<album>``. So:

=================  ==========================================  ===============================
item               id                                          why
=================  ==========================================  ===============================
Photo, Video       ``stable_id("folder", rel)``                unchanged: sidecars and
MediaAlbum         ``stable_id("folder", rel)``                ``album.json`` records name it
File               ``stable_id("folder", "file", rel)``        new: a blob names its kind
Folder             ``stable_id("folder", "folder", rel)``
=================  ==========================================  ===============================

Why the blobs changed and not the media: a folder or S3 destination recognises media by the
``source_id`` in their sidecar and album record, so a new media id would make every photo of an
existing destination look foreign (a second copy under a suffixed name). Blobs carry no record:
a destination recognises them by content (same size and hash, see
:mod:`connectors.folder.importer`), so a new blob id costs one comparison, never a copy.

``id_scheme=path`` gives every item ``stable_id("folder", rel)``, the ids of ferry before this
change. Only transfers that started under it need it: migration 0003 of the job store pins it on
recurring transfers and unfinished jobs whose source is a folder and whose destination is not
(a Generic Importer destination keys items by id, so new ids would send them again). Such a
transfer keeps its old ids, including the old overlap between photos and files; to move it to
the new ids, remove the option (``ferry recurring reset`` starts its ledger over).
"""

from __future__ import annotations

import enum

from ..models import stable_id

__all__ = ["IdScheme", "item_id"]


class IdScheme(enum.StrEnum):
    KIND = "kind"  # blobs name their kind (the default)
    PATH = "path"  # the relative path only, as ferry did before (kept for old transfers)


def item_id(kind: str, rel: str, scheme: IdScheme = IdScheme.KIND) -> str:
    """The id of the item of ``kind`` (``file``, ``folder``, ``photo``, ``video``, ``album``) at ``rel``."""
    if scheme == IdScheme.KIND and kind in ("file", "folder"):
        return stable_id("folder", kind, rel)
    return stable_id("folder", rel)
