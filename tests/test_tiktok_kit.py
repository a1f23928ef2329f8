"""The TikTok exporter runs the shared connector kit (and what its registration declares), once
its download is staged."""

from __future__ import annotations

import pytest

from connectors.errors import SourceNotReady
from connectors.models import Vertical
from connectors.registry import ConnectorContext
from connectors.testing import kit_for
from connectors.tiktok import CONNECTOR
from tests.fakes.tiktok import FakeTikTok, FakeTokens


@pytest.fixture(scope="module")
def tiktok_staged(tmp_path_factory) -> ConnectorContext:
    """A context whose data request was made, got ready and was downloaded into staging."""
    with FakeTikTok(ready_after_checks=1) as fake:
        fake.add_posts(2, photo=True)  # photo posts beside the sample's two videos
        ctx = ConnectorContext(
            location="",
            options={"api_base": fake.base_url, "page_size": 2},
            auth=FakeTokens(fake, ("portability.all.single",)),
            staging_url=str(tmp_path_factory.mktemp("tiktok-kit")),
        )
        with CONNECTOR.make_exporter(ctx) as exporter:  # ask, wait (ready at the first check), stage
            cursor = None
            for _ in range(3):
                try:
                    exporter.list_page(Vertical.VIDEOS, cursor)
                    break
                except SourceNotReady as wait:
                    cursor = wait.cursor
        yield ctx  # fresh exporters share the job's staged request (its state slot)


TestTikTokKit = kit_for(CONNECTOR, source=lambda tiktok_staged: tiktok_staged)
