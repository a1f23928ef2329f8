"""What the CLI prints, as a person reads it: tables at 80 columns, names as data, ``recurring reset``.

The store is a real SQLite job store in a temporary data directory, filled through the stores'
own methods (the ledger is the only source of counts); commands run as ``python -m ferry`` with
``COLUMNS=80`` the way a terminal of that width runs them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from flows.store import JobState, JobStore, Ledger, LedgerRecord, Outcome, RecurringStore, RecurringTransfer, get_engine

FERRY = [sys.executable, "-m", "ferry"]
LONG_SOURCE = "meta:/home/someone/Downloads/facebook-export-2024-11-23-with-a-long-name-part-1.zip"
LONG_DESTINATION = "folder:/media/backup/very/long/path/to/the/ferry-output-folder"
#: names a source or a service may hand ferry: markup, a link, ANSI colour, a cursor move, a bell
HOSTILE = ["[/]x.jpg", "[link=https://evil.example]click me[/link].jpg", "\x1b[31mred\x1b[0m.jpg", "a\x1b[2Jb\x07.jpg"]


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def engine(data_dir):
    data_dir.mkdir()
    return get_engine(f"sqlite:///{(data_dir / 'ferry.db').resolve()}", create=True)


def ferry(args, data_dir, *, columns=80, force_terminal=False, stdin=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FERRY_")}
    env.update(FERRY_DATA_DIR=str(data_dir), COLUMNS=str(columns), PYTHONPATH=os.getcwd())
    env.pop("FORCE_COLOR", None)
    if force_terminal:  # Rich then emits colours and links, as in a real terminal
        env["FORCE_COLOR"] = "1"
    return subprocess.run(FERRY + list(args), env=env, capture_output=True, text=True, timeout=120, input=stdin)


def _job(store: JobStore, *, source=LONG_SOURCE, destination=LONG_DESTINATION, imported=3, failed=(), state=JobState.COMPLETE, recurring_id=None):
    job = store.create(source=source, destination=destination, types=["photos", "videos", "social-posts"], recurring_id=recurring_id)
    records = [LedgerRecord("photo", f"{job.id}-ok-{n}", "h", Outcome.IMPORTED, item_name=f"ok-{n}.jpg", bytes=1_500_000) for n in range(imported)]
    records += [LedgerRecord("photo", f"{job.id}-bad-{n}", "h", Outcome.FAILED, item_name=name, error=f"could not read {name}") for n, name in enumerate(failed)]
    Ledger(store.engine).record(job_id=job.id, scope=job.ledger_scope, vertical="photos", records=records)
    store.transition(job.id, JobState.RUNNING)
    if state != JobState.RUNNING:
        store.transition(job.id, state, "stopped [/] on purpose" if state != JobState.COMPLETE else None)
    return job


def _words(text: str) -> set[str]:
    return set(text.split())


def _headers_whole(text: str, *headers: str) -> None:
    """Every word of every header is printed whole (a header may wrap between words, never inside one)."""
    for header in headers:
        assert set(header.split()) <= _words(text), header


def _fits(result, width=80) -> list[str]:
    assert result.returncode in (0, 1), (result.returncode, result.stdout[-2000:], result.stderr[-2000:])
    lines = result.stdout.splitlines()
    too_wide = [line for line in lines if len(line) > width]
    assert not too_wide, too_wide
    return lines


def test_tables_fit_80_columns_with_ids_and_headers_whole(engine, data_dir):
    store = JobStore(engine)
    jobs = [_job(store, failed=["a-photo-with-a-rather-long-file-name-from-an-archive.jpg"]), _job(store, imported=12)]
    rec = RecurringStore(engine).add(RecurringTransfer(name="nightly-nas", source=LONG_SOURCE, destination=LONG_DESTINATION, types=["photos"], schedule="cron: 0 2 * * *"))
    _job(store, recurring_id=rec.id, state=JobState.FAILED)

    listed = "\n".join(_fits(ferry(["jobs", "list"], data_dir)))
    for job in jobs:
        assert job.id[:8] in listed  # the id on one line, never split
    _headers_whole(listed, "job", "state", "source → destination", "items", "bytes", "updated (UTC)")
    assert "1 failed" in listed and "12 imported" in listed and "18.0 MB" in listed

    report = "\n".join(_fits(ferry(["report"], data_dir)))
    _headers_whole(report, "source → destination", "jobs", "items", "success", "failure", "bytes")
    assert "meta → folder" in report and "ABOVE 1%" in report

    recurring = "\n".join(_fits(ferry(["recurring", "list"], data_dir)))
    assert rec.id[:8] in recurring and "nightly-nas" in recurring and "cron 0 2 * * * UTC" in recurring
    shown = "\n".join(_fits(ferry(["recurring", "show", rec.name], data_dir)))
    _headers_whole(shown, "job", "state", "items", "bytes", "started / finished (UTC)", "reason")
    assert "stopped [/]" in shown
    details = "\n".join(_fits(ferry(["jobs", "show", jobs[0].id[:8], "--errors"], data_dir)))
    _headers_whole(details, "item", "type", "error")
    assert jobs[0].id in details


@pytest.mark.parametrize("force_terminal", [False, True], ids=["pipe", "terminal"])
def test_names_from_sources_are_printed_as_data(engine, data_dir, force_terminal):
    """Markup in names is shown literally, a link is not planted and no escape sequence of the
    data reaches the terminal, through every command that shows names."""
    store = JobStore(engine)
    job = _job(store, source="folder:/tmp/[bold]in[/bold]", destination="folder:/tmp/out[/]", failed=HOSTILE)
    listed = data_dir.parent / "listed"
    listed.mkdir()
    for name in ("[bold]in[/bold]" , "x[link=https:evil.example]click me.jpg", "\x1b[31mred.txt"):
        (listed / name.replace("/", "_")).write_text("x")
    outputs = []
    for args in (["jobs", "list"], ["jobs", "show", job.id[:8], "--errors"], ["report"], ["ls", f"folder:{listed}"]):
        result = ferry(args, data_dir, columns=200, force_terminal=force_terminal)
        assert result.returncode == 0 and "Traceback" not in result.stderr, (args, result.stderr[-2000:])
        outputs.append(result.stdout)
    shown = "\n".join(outputs)
    assert "[bold]in[/bold]" in shown and "out[/]" in shown
    assert "[/]x.jpg" in shown and "[link=https://evil.example]click me[/link].jpg" in shown
    assert "\x1b]8;" not in shown  # no hyperlink
    for raw in ("\x1b[31mred", "\x1b[2J", "\x07"):  # the data's own sequences (ferry's colours may be there)
        assert raw not in shown
    assert "red" in shown and "could not read" in shown
    assert "[bold]in[_bold]" in shown and "x[link=https:evil.example]click me.jpg" in shown  # ls names files as data


def test_a_recurring_transfer_named_with_markup_is_created_and_listed(data_dir, tmp_path):
    (tmp_path / "src").mkdir()
    name = "[/]x [link=https://evil.example]y[/link]"
    created = ferry(["recurring", "create", name, f"folder:{tmp_path / 'src'}", f"folder:{tmp_path / 'dst'}", "--every", "1d"], data_dir)
    assert created.returncode == 0 and "Traceback" not in created.stderr, created.stderr[-2000:]
    assert name in created.stdout.replace("\n", "")
    for args in (["recurring", "list"], ["recurring", "show", name], ["recurring", "pause", name], ["recurring", "resume", name]):
        result = ferry(args, data_dir, columns=200)
        assert result.returncode == 0 and "Traceback" not in result.stderr, (args, result.stderr[-2000:])
        assert name in result.stdout or "[/]x" in result.stdout, (args, result.stdout)


def test_recurring_reset_forgets_the_ledger_and_cancels_the_unfinished_round(engine, data_dir):
    recurring = RecurringStore(engine)
    store = JobStore(engine)
    rec = recurring.add(RecurringTransfer(name="nightly", source=LONG_SOURCE, destination=LONG_DESTINATION, types=["photos"], schedule="interval: 86400"))
    other = recurring.add(RecurringTransfer(name="other", source=LONG_SOURCE, destination=LONG_DESTINATION, types=["photos"], schedule="interval: 86400"))
    _job(store, recurring_id=rec.id, imported=5)
    stopped = _job(store, recurring_id=rec.id, imported=2, state=JobState.PAUSED)
    _job(store, recurring_id=other.id, imported=4)
    ledger = Ledger(engine)
    ledger.save_bookmark(rec.id, "photos", '{"after": 1}')

    refused = ferry(["recurring", "reset", "nightly"], data_dir, stdin="n\n")
    assert refused.returncode == 1 and len(ledger.entries(rec.id)) == 7  # asked, and nothing happened

    done = ferry(["recurring", "reset", "nightly", "--yes"], data_dir)
    assert done.returncode == 0, done.stderr
    assert "7 delivered item(s) forgotten" in done.stdout and stopped.id[:8] in done.stdout
    assert ledger.entries(rec.id) == [] and ledger.bookmark(rec.id, "photos") is None
    assert store.get(stopped.id).state == JobState.CANCELED
    assert len(ledger.entries(other.id)) == 4  # another recurring transfer's ledger is untouched

    running = _job(store, recurring_id=rec.id, state=JobState.RUNNING)
    store.claim(running.id, owner="elsewhere:1")  # another host's runner holds a live lease
    busy = ferry(["recurring", "reset", "nightly", "--yes"], data_dir)
    assert busy.returncode == 2 and f"is running (job {running.id[:8]})" in busy.stderr
    assert len(ledger.entries(rec.id)) == 3


def test_jobs_list_json_is_unchanged_by_the_table_layout(engine, data_dir):
    _job(JobStore(engine), imported=2, failed=["x.jpg"])
    rows = json.loads(ferry(["jobs", "list", "--json"], data_dir).stdout)
    assert rows[0]["imported"] == 2 and rows[0]["failed"] == 1


def _age(engine, job_id: str, days: float) -> None:
    """Make a job look last changed ``days`` ago (what time does; the test says so)."""
    from datetime import timedelta

    from sqlalchemy import update
    from sqlmodel import Session

    from flows.store import Job, utcnow

    with Session(engine) as session:
        session.exec(update(Job).where(Job.id == job_id).values(updated_at=utcnow() - timedelta(days=days)))
        session.commit()


def test_jobs_prune_keeps_running_waiting_and_recurring_ledgers(engine, data_dir):
    from flows.store import ProblemRecord

    store, ledger = JobStore(engine), Ledger(engine)
    rec = RecurringStore(engine).add(RecurringTransfer(name="nightly", source=LONG_SOURCE, destination=LONG_DESTINATION, types=["photos"], schedule="interval: 86400"))
    old_once = _job(store, imported=4)
    ledger.add_problems(old_once.id, "photos", [ProblemRecord("a.json", "unreadable", "failed")])
    ledger.save_cursor(old_once.id, "photos", '{"after": 1}')
    old_round = _job(store, recurring_id=rec.id, imported=3)
    running = _job(store, state=JobState.RUNNING)
    store.claim(running.id, owner="elsewhere:1")
    waiting = _job(store, state=JobState.WAITING)
    failed = _job(store, state=JobState.FAILED)
    recent = _job(store)
    for job in (old_once, old_round, running, waiting, failed):
        _age(engine, job.id, 40)

    preview = ferry(["jobs", "prune", "--older-than", "30d", "--dry-run"], data_dir)
    assert preview.returncode == 0 and "Would prune 2 job(s)" in preview.stdout and "4 ledger row(s)" in " ".join(preview.stdout.split())
    assert len(store.list(limit=100)) == 6
    done = ferry(["jobs", "prune", "--older-than", "30d"], data_dir)
    assert done.returncode == 0 and "Pruned 2 job(s)" in done.stdout, done.stdout
    left = {job.id for job in store.list(limit=100)}
    assert left == {running.id, waiting.id, failed.id, recent.id}
    assert ledger.entries(old_once.id) == [] and len(ledger.entries(rec.id)) == 3  # the recurring scope stays
    assert ledger.problems(old_once.id) == [] and ledger.cursors(old_once.id) == []
    assert ledger.figures(recent.id).total.imported == 3

    stopped = json.loads(ferry(["jobs", "prune", "--older-than", "30d", "--include-stopped", "--json"], data_dir).stdout)
    assert stopped["jobs"] == [failed.id]
    assert {job.id for job in store.list(limit=100)} == {running.id, waiting.id, recent.id}


def test_an_album_that_lands_under_another_name_is_explained(tmp_path):
    """A folder of the album's name already holds someone else's files: the album lands beside it
    with its id added, and the summary says which and why."""
    from connectors.meta.sample import write_sample_archive
    from connectors.names import safe_segment
    from ferry.cli._common import console
    from ferry.cli.run_view import print_summary
    from flows.context import open_context
    from flows.engine import run_job
    from flows.requests import create_job
    from flows.summary import summarize

    sample = write_sample_archive(tmp_path / "fb.zip", photos=4, videos=0, posts=0, events=0, albums=2, size_mb=0.05, seed=3)
    album = sample.album_names[0]
    out = tmp_path / "out"
    (out / "photos" / safe_segment(album)).mkdir(parents=True)
    (out / "photos" / safe_segment(album) / "notes.txt").write_text("not ferry's")
    ctx = open_context(data_dir=tmp_path / "data")
    job = create_job(ctx, f"meta:{sample.path}", str(out), ["photos"])
    run_job(ctx, job.id)
    summary = summarize(ctx, job.id)
    assert [(r.kind, r.item) for r in summary.renamed] == [("album", album)] and summary.renamed_count == 1
    with console.capture() as captured:
        print_summary(summary)
    text = " ".join(captured.get().split())
    assert "1 item(s) got their id added to their name" in text and f"album {album} → photos/{safe_segment(album)} (" in text
    assert (out / "photos" / safe_segment(album) / "notes.txt").read_text() == "not ferry's"
