"""Meta "Download Your Information" archives (Facebook and Instagram, JSON) as a ferry source.

Registration only; the exporter lives in :mod:`connectors.meta.exporter` and the sample-archive
generator in :mod:`connectors.meta.sample`. Location: a ``.zip``, an extracted folder, or a
folder holding the zip parts of a split export.

Options: :class:`~connectors.meta.options.MetaOptions` (``ferry connectors show meta``).

The exporter is imported when one is made (``MetaArchiveExporter`` here is loaded on first use):
validating a request must not load the archive readers.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from ..models import Vertical
from ..locations import check_local
from ..readlimits import DEFAULT_MAX_MEMBERS
from ..registry import Capabilities, Connector, ConnectorContext
from ..zipsafety import zip_entry_count
from .options import MetaOptions

if TYPE_CHECKING:
    from .exporter import MetaArchiveExporter

__all__ = ["CONNECTOR", "MetaArchiveExporter", "MetaOptions", "make_exporter", "sniff_source"]

_PART_PREFIXES = ("facebook-", "instagram-", "meta-")
_MARKERS = (
    "your_facebook_activity/", "your_activity_across_facebook/", "your_instagram_activity/",
    "photos_and_videos/", "posts/your_posts", "content/posts_", "events/your_event_responses",
)


def __getattr__(name: str):
    if name == "MetaArchiveExporter":
        from .exporter import MetaArchiveExporter

        return MetaArchiveExporter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _path(location: str) -> Path:
    return Path(location.removeprefix("file://")).expanduser()


def make_exporter(ctx: ConnectorContext) -> MetaArchiveExporter:
    """Build the exporter for ``ctx.location`` (opened lazily; errors surface on first page)."""
    from .exporter import MetaArchiveExporter

    options = MetaOptions.of(ctx)
    selected = ctx.verticals or options.verticals
    return MetaArchiveExporter(_path(ctx.location), page_size=options.page_size, limits=options.read_limits(), selected=selected)


def _has_marker(names: list[str]) -> bool:
    return any(name.startswith(m) or f"/{m}" in name for name in names for m in _MARKERS)


def sniff_source(location: str) -> bool:
    """Claim a local ``.zip`` or folder that looks like a Meta export (never raises)."""
    try:
        path = _path(location)
        if "://" in location.removeprefix("file://"):
            return False
        if path.is_file() and path.suffix.lower() == ".zip":
            if path.name.lower().startswith(_PART_PREFIXES):
                return True  # even a corrupt one: the meta connector gives the better error
            declared = zip_entry_count(path)
            if declared is not None and declared > DEFAULT_MAX_MEMBERS:
                return True  # never index millions of members to sniff; the exporter refuses it by name
            with zipfile.ZipFile(path) as zf:
                return _has_marker(zf.namelist()[:5000])
        if path.is_dir():
            if any(p.name.lower().startswith(_PART_PREFIXES) and p.suffix.lower() == ".zip" for p in path.iterdir()):
                return True
            return _has_marker([p.name + "/" for p in path.iterdir() if p.is_dir()] + [
                f"{d}/{f.name}" for d in ("posts", "content", "events") if (path / d).is_dir() for f in (path / d).iterdir()
            ])
    except (OSError, zipfile.BadZipFile, ValueError):
        return False
    return False


CONNECTOR = Connector(
    name="meta",
    title="Meta 'Download Your Information' archive",
    services=("Facebook", "Instagram"),
    capabilities=Capabilities(
        exports=frozenset({Vertical.PHOTOS, Vertical.VIDEOS, Vertical.SOCIAL_POSTS, Vertical.CALENDAR}),
        reports_problems=True,
    ),
    make_exporter=make_exporter,
    options=MetaOptions,
    sniff_source=sniff_source,
    priority=10,
    check_location=check_local,
    description="Reads a Facebook or Instagram JSON export (zip, folder, or folder of zip parts) in place.",
)
