"""The TikTok exporter runs the shared connector kit, once its download is staged."""

from __future__ import annotations

import pytest

from connectors.errors import SourceNotReady
from connectors.models import Vertical
from connectors.registry import ConnectorContext
from connectors.tiktok.factory import make_exporter
from tests.fakes.tiktok import FakeTikTok, FakeTokens

ExporterKit = pytest.importorskip("connectors.testing").ExporterKit


class TestTikTokExporterKit(ExporterKit):
    verticals = (Vertical.VIDEOS, Vertical.SOCIAL_POSTS, Vertical.BLOBS)

    @pytest.fixture(scope="class")
    def fake(self):
        with FakeTikTok(ready_after_checks=1) as service:
            yield service

    @pytest.fixture(scope="class")
    def context(self, fake, tmp_path_factory):
        ctx = ConnectorContext(
            location="",
            options={"api_base": fake.base_url, "page_size": 2},
            auth=FakeTokens(fake, ("portability.all.single",)),
            staging_url=str(tmp_path_factory.mktemp("tiktok-kit")),
        )
        with make_exporter(ctx) as exp:  # ask, wait (the fake is ready at the first Check), stage
            cursor = None
            for _ in range(3):
                try:
                    exp.list_page(Vertical.VIDEOS, cursor)
                    break
                except SourceNotReady as wait:
                    cursor = wait.cursor
        return ctx

    @pytest.fixture
    def exporter_factory(self, context):
        return lambda: make_exporter(context)  # fresh exporters share the job's staged request
