"""``example``: the SDK's worked example, a "shoebox" of photo albums in a local folder.

Layout: ``<root>/<album>/<photo>.jpg`` (also ``.jpeg``, ``.png``, ``.gif``, ``.heic``). As a source it
exports the albums and their photos; as a destination it writes the same layout. Incremental:
each round of a recurring transfer lists only photos changed since the last one. Small on
purpose: docs/writing-a-connector.md walks through it line by line, and its whole kit test is
one line (tests/test_example_kit.py). Registration only here; the parts are in :mod:`.shoebox`.

    ferry transfer example:~/Pictures/shoebox example:~/backup/shoebox
"""

from __future__ import annotations

from pydantic import Field

from ..base import RepeatSafety
from ..locations import check_local
from ..models import Vertical
from ..options import ConnectorOptions
from ..registry import Capabilities, Connector, ConnectorContext

__all__ = ["CONNECTOR", "ShoeboxOptions"]


class ShoeboxOptions(ConnectorOptions):
    """What ``-o example.KEY=VALUE`` may say (shown by ``ferry connectors show example``)."""

    page_size: int = Field(100, ge=1, description="items per exported page (the engine passes its page_size setting)")


def _exporter(ctx: ConnectorContext):
    from .shoebox import ShoeboxExporter

    return ShoeboxExporter(ctx.location, page_size=ShoeboxOptions.of(ctx).page_size)


def _importer(ctx: ConnectorContext):
    from .shoebox import ShoeboxImporter

    return ShoeboxImporter(ctx.location)


CONNECTOR = Connector(
    name="example",
    title="Example: a shoebox of photo albums (the SDK's worked example)",
    capabilities=Capabilities(
        exports=frozenset({Vertical.PHOTOS}),
        imports=frozenset({Vertical.PHOTOS}),
        incremental=True,  # the last page carries a bookmark: the next round lists what changed since
        repeat_safety=RepeatSafety.RECOGNISES,  # a photo already there (same size) is SKIPPED
    ),
    options=ShoeboxOptions,
    make_exporter=_exporter,
    make_importer=_importer,
    check_location=check_local,
    description="Albums are folders, photos are the image files in them. See docs/writing-a-connector.md.",
)
