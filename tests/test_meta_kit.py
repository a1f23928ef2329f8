"""The meta exporter runs the shared connector kit (determinism, resume, streaming, parent order,
and what its registration declares)."""

from __future__ import annotations

from connectors.meta import CONNECTOR
from connectors.meta.sample import write_sample_archive
from connectors.registry import ConnectorContext
from connectors.testing import kit_for


def meta_archive(tmp_path_factory) -> ConnectorContext:
    # posts=0: no post references the deliberately missing file (the kit streams every item);
    # Instagram posts keep the social-posts vertical non-empty.
    out = tmp_path_factory.mktemp("meta-kit") / "parts"
    sample = write_sample_archive(out, photos=16, videos=3, posts=0, events=4, albums=2, size_mb=0.1, parts=2)
    return ConnectorContext(location=str(sample.path), options={"page_size": 1})


TestMetaKit = kit_for(CONNECTOR, source=meta_archive)
