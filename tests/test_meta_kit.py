"""The meta exporter runs the shared connector kit (determinism, resume, streaming, parent order)."""

from __future__ import annotations

import pytest

from connectors.meta import MetaArchiveExporter
from connectors.meta.sample import write_sample_archive
from connectors.models import Vertical

ExporterKit = pytest.importorskip("connectors.testing").ExporterKit


class TestMetaExporterKit(ExporterKit):
    verticals = (Vertical.PHOTOS, Vertical.VIDEOS, Vertical.SOCIAL_POSTS, Vertical.CALENDAR)

    @pytest.fixture(scope="class")
    def sample_path(self, tmp_path_factory):
        # posts=0: no post references the deliberately missing file (the kit streams every item);
        # Instagram posts keep the social-posts vertical non-empty.
        out = tmp_path_factory.mktemp("meta-kit") / "parts"
        return write_sample_archive(out, photos=16, videos=3, posts=0, events=4, albums=2, size_mb=0.1, parts=2).path

    @pytest.fixture
    def exporter_factory(self, sample_path):
        return lambda: MetaArchiveExporter(sample_path, page_size=1)
