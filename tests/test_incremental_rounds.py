"""Incremental export across the rounds of a recurring transfer (Capabilities.incremental).

The example connector's bookmark (the newest change time it saw) is kept by the framework per
recurring transfer and vertical; the next round's export starts from it, so an unchanged source
lists (almost) nothing and a new photo is the only thing the next round moves. Engine without
Prefect (flows.engine.run_job with plain steps).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from connectors.models import BYTE_ITEM_KINDS
from tests.test_example_kit import write_photo


@pytest.fixture
def rounds(tmp_path, monkeypatch):
    from flows.context import open_context
    from flows.engine import PLAIN_STEPS, run_job
    from flows.recurring import create_recurring, job_for_run

    src, out = tmp_path / "shoebox", tmp_path / "backup"
    for n in range(6):
        write_photo(src / f"album{n % 2}" / f"p{n}.jpg", bytes([n]) * (500 + n))
    ctx = open_context(data_dir=tmp_path / "data")
    rec = create_recurring("shoebox", f"example:{src}", f"folder:{out}", ["photos"], ctx=ctx)
    listed: list[list[str]] = []

    def run_round():
        names: list[str] = []

        def export(job_id, vertical):
            page = PLAIN_STEPS.export(job_id, vertical)
            names.extend(item.display_name for item in page.items if item.kind in BYTE_ITEM_KINDS)
            return page

        job = job_for_run(ctx, rec)
        summary = run_job(ctx, job.id, replace(PLAIN_STEPS, export=export))
        assert summary.state == "COMPLETE", summary
        listed.append(names)
        return summary

    return src, out, run_round, listed


def test_each_round_lists_only_what_changed_since_the_last(rounds):
    src, out, run_round, listed = rounds
    first = run_round()
    assert first.imported == 2 + 6 and sorted(listed[0]) == [f"p{n}.jpg" for n in range(6)]

    second = run_round()  # nothing changed: only the newest photo is listed again, and not sent
    assert second.imported == 0 and listed[1] == ["p5.jpg"]

    write_photo(src / "album0" / "new.jpg", b"taken today")
    third = run_round()
    assert sorted(listed[2]) == ["new.jpg", "p5.jpg"] and third.imported == 1  # p5: still the bookmark's own
    assert sorted(p.name for p in out.rglob("*.jpg") if "new" in p.name) == ["new.jpg"]


def test_a_connector_that_does_not_declare_incremental_lists_everything_each_round(rounds, monkeypatch):
    from connectors import example, registry

    plain = replace(example.CONNECTOR, capabilities=replace(example.CONNECTOR.capabilities, incremental=False))
    registry.register(plain)
    try:
        src, out, run_round, listed = rounds
        run_round()
        run_round()
        assert len(listed[1]) == 6  # the ledger, not the export, keeps the second round from sending
    finally:
        registry.unregister("example")
