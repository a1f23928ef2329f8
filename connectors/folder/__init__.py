"""The ``folder`` connector: any fsspec folder (local path, ``s3://``, ``memory://``, ...).

As a source it walks the folder in sorted order, filtered by ``--include``/``--exclude``
(:mod:`.exporter`, :mod:`.filters`); as a destination it writes photos and videos with JSON
sidecars, posts, one ``.ics`` per calendar and files, atomically, verified, never over someone
else's file or outside the root (:mod:`.importer`, :mod:`.tree`, :mod:`.atomic`,
:mod:`.localcopy`, :mod:`.s3upload`). The overview for users: docs/folder.md. This module only
registers it.
"""

from ..base import RepeatSafety
from ..models import Vertical
from ..locations import check_local
from ..registry import Capabilities, Connector
from .factory import make_exporter, make_importer, sniff_destination, sniff_source
from .options import FolderOptions

__all__ = ["CONNECTOR"]

CONNECTOR = Connector(
    name="folder",
    title="Any fsspec folder (local, s3://, memory://, ...)",
    services=("Local files", "Amazon S3", "Backblaze B2"),
    capabilities=Capabilities(
        exports=frozenset({Vertical.BLOBS, Vertical.PHOTOS, Vertical.VIDEOS, Vertical.MEDIA}),
        imports=frozenset(
            {Vertical.PHOTOS, Vertical.VIDEOS, Vertical.MEDIA, Vertical.SOCIAL_POSTS, Vertical.CALENDAR, Vertical.BLOBS}
        ),
        repeat_safety=RepeatSafety.RECOGNISES,  # an item already there yields SKIPPED (importer.py)
        reports_problems=True,
        default_exports=frozenset({Vertical.BLOBS}),
    ),
    options=FolderOptions,
    make_exporter=make_exporter,
    make_importer=make_importer,
    sniff_source=sniff_source,
    sniff_destination=sniff_destination,
    priority=90,
    check_location=check_local,
    description="Reads or writes plain files under a local path or any fsspec URL; S3 options come from storage_options.",
)
