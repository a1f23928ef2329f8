"""The terminal's progress bars tell the truth: per-vertical totals, a resumed job starts where it
stopped, a count never passes its total, and no ETA before there is a total and a rate.

The engine runs a real transfer (a sample Meta archive into a folder, the engine's plain steps, no
Prefect) while :class:`ferry.cli.run_view.ProgressView` listens to its progress events, as the
CLI's bars do; the job is stopped part-way (the same per-job stop Ctrl-C uses) and resumed.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from connectors.meta.sample import write_sample_archive
from ferry.cli.run_view import EtaColumn, ProgressView


class Watch(ProgressView):
    """A ProgressView that also records, after every event, what its items bar shows."""

    def __init__(self, job_id: str, *, stop_after: int | None = None):
        super().__init__(job_id, enabled=False)
        self.shown: list[tuple[str, int, int | None]] = []
        self.stop_after = stop_after
        self.items_seen = 0

    def __call__(self, job_id, kind, value):
        super().__call__(job_id, kind, value)
        task = self.progress.tasks[self.items_task]
        self.shown.append((task.description, int(task.completed), None if task.total is None else int(task.total)))
        if kind == "items":
            self.items_seen += int(value)
            if self.stop_after is not None and self.items_seen >= self.stop_after:
                from flows.runtime import request_stop

                request_stop(job_id)

    def last(self) -> dict[str, tuple[int, int | None]]:
        out = {}
        for vertical, done, total in self.shown:
            out[vertical] = (done, total)
        return out


@pytest.fixture
def ctx(tmp_path):
    from flows.context import open_context

    return open_context(data_dir=tmp_path / "data")


def _run(ctx, job_id, view):
    from flows.engine import run_job
    from flows.progress import subscribe, unsubscribe
    from flows.runtime import clear_stop

    subscribe(view)
    try:
        return run_job(ctx, job_id)
    finally:
        unsubscribe(view)
        clear_stop(job_id)


def test_a_resumed_job_starts_where_it_stopped_and_never_passes_its_total(ctx, tmp_path):
    from flows.requests import create_job

    archive = tmp_path / "facebook.zip"
    sample = write_sample_archive(archive, photos=30, videos=2, posts=12, events=6, albums=3, size_mb=0.3, video_mb=0.02, seed=5)
    job = create_job(ctx, f"meta:{archive}", str(tmp_path / "out"), options={"meta": {"page_size": "5"}})

    first = Watch(job.id, stop_after=18)
    assert _run(ctx, job.id, first).state == "PAUSED"
    stopped_in, done_then, _ = first.shown[-1]
    assert 0 < done_then < sample.items_per_vertical()[stopped_in]

    second = Watch(job.id)
    assert _run(ctx, job.id, second).state == "COMPLETE"
    starts = [(d, done, total) for d, done, total in second.shown]
    resumed = next(entry for entry in starts if entry[0] == stopped_in)
    assert resumed[1] >= done_then - 5  # starts near where it stopped (at most one redone page less), not at 0
    for vertical, done, total in first.shown + second.shown:
        assert total is None or done <= total, (vertical, done, total)
    figures = ctx.ledger.figures(job.id).per_vertical
    for vertical, (done, total) in second.last().items():
        if vertical in figures:
            moved = figures[vertical]
            assert done == moved.imported + moved.skipped + moved.failed == total, (vertical, done, total)


def test_each_vertical_gets_its_own_total_in_a_fresh_run(ctx, tmp_path):
    from flows.requests import create_job

    archive = tmp_path / "facebook.zip"
    sample = write_sample_archive(archive, photos=8, videos=1, posts=5, events=4, albums=2, size_mb=0.1, video_mb=0.02, seed=9)
    job = create_job(ctx, f"meta:{archive}", str(tmp_path / "out"), options={"meta": {"page_size": "3"}})
    view = Watch(job.id)
    assert _run(ctx, job.id, view).state in ("COMPLETE",)
    assert view.last() == {vertical: (count, count) for vertical, count in sample.items_per_vertical().items()}


def test_events_for_one_vertical_never_land_on_another():
    view = Watch("job")
    view("job", "vertical_start", ["photos", 10, 0])
    view("job", "vertical", "photos")
    view("job", "items", 10)
    view("job", "vertical_start", ["calendar", 4, 3])  # resumed: 3 of 4 done before this run
    assert view.shown[-1] == ("calendar", 3, 4)
    view("job", "vertical", "calendar")
    view("job", "items", 1)
    assert view.last() == {"photos": (10, 10), "calendar": (4, 4)}
    view("job", "items", 2)  # a source's estimate was low: the total grows with the count
    assert view.shown[-1] == ("calendar", 6, 6)
    view("other-job", "items", 50)
    assert view.shown[-1] == ("calendar", 6, 6)


def test_no_eta_without_a_total_and_a_rate():
    column = EtaColumn()
    assert column.render(SimpleNamespace(total=None, speed=3.0, finished=False)).plain == ""
    assert column.render(SimpleNamespace(total=100, speed=None, finished=False)).plain == ""
    starting = ProgressView("job", enabled=False)
    assert column.render(starting.progress.tasks[starting.items_task]).plain == ""
