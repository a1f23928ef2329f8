"""``ferry transfer`` on hostile archives and folders, end to end, under a memory and time bound.

Each run is a real ``python -m ferry`` process (measured alone, see ``tests/hostile/bounded.py``):
it must finish well inside the timeout (a hang fails), peak well under 500 MB, name the bad file
or entry in ``ferry jobs show --errors``, write nothing outside the destination and deliver every
good photo.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.hostile import archives as hostile
from tests.hostile.bounded import run_bounded
from tests.hostile.folders import special_files

FERRY = [sys.executable, "-m", "ferry"]
MiB = 1 << 20
PEAK_MIB = 400  # the bound is 500 MB; ferry with Prefect loaded idles near 150-250 MB
TIMEOUT = 300


@pytest.fixture
def env(tmp_path, prefect_api):
    return dict(os.environ, FERRY_DATA_DIR=str(tmp_path / "data"), PREFECT_API_URL=prefect_api, COLUMNS="200")


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def transfer(source: str, out: Path, env: dict, *options: str):
    run = run_bounded([*FERRY, "transfer", source, f"folder:{out}", "-t", "photos", *options, "--no-progress", "--json"], env, TIMEOUT)
    assert "Traceback" not in run.stdout + run.stderr, run.stderr[-3000:]
    jobs = json.loads(run_bounded([*FERRY, "jobs", "list", "--json"], env, 120).stdout)
    shown = run_bounded([*FERRY, "jobs", "show", jobs[0]["id"], "--errors", "--json"], env, 120)
    shown = json.loads(shown.stdout)
    # failed items, and what the source held that did not become an item (unreadable or left out)
    errors = shown.get("errors", []) + [{"item": p["subject"], "message": p["message"]} for p in shown.get("problems", [])]
    return run, errors


def assert_named(errors: list[dict], expect: dict[str, str]) -> None:
    """Every expected subject (a member path, or a media file name) is named with its reason."""
    for subject, fragment in expect.items():
        hits = [e for e in errors if subject in f"{e['item']} {e['message']}" and fragment in e["message"]]
        assert hits, (subject, fragment, errors)


def outside(tmp_path: Path) -> set[str]:
    """Files under the test's folder other than the destination and ferry's own data."""
    return {f for f in _files(tmp_path) if not f.startswith(("out/", "data/"))}


@pytest.mark.parametrize(
    "build",
    [
        lambda d: hostile.ratio_bomb(d),
        lambda d: hostile.lying_header_bomb(d),
        lambda d: hostile.huge_json_string(d),
        lambda d: hostile.hostile_entries(d),
    ],
    ids=["ratio-bomb-2.2GB", "lying-headers-2.2GB", "json-string-200MB", "bad-entries"],
)
def test_hostile_archive_transfer_is_bounded_and_delivers_the_good_items(build, tmp_path, env):
    made = build(tmp_path / "in")
    before = outside(tmp_path)
    out = tmp_path / "out"
    run, errors = transfer(f"meta:{made.path}", out, env, "-o", "meta.verticals=photos")
    assert run.returncode in (0, 1), run.stderr[-3000:]
    print(f"\n{made.note}: ferry transfer peak {run.peak_mib:.0f} MiB in {run.seconds:.1f} s")  # figures with -s
    assert run.peak_mib < PEAK_MIB, f"{made.note}: peak {run.peak_mib:.0f} MiB"
    delivered = [f for f in _files(out) if f.endswith(".jpg")]
    assert len(delivered) == made.good_photos, (delivered, errors)
    assert_named(errors, made.expect)
    assert outside(tmp_path) == before  # nothing written outside the destination


def test_too_many_members_stops_with_one_line(tmp_path, env):
    made = hostile.too_many_members(tmp_path / "in")
    run = run_bounded([*FERRY, "transfer", f"meta:{made.path}", f"folder:{tmp_path / 'out'}", "-t", "photos", "--no-progress"], env, TIMEOUT)
    text = (run.stdout + run.stderr).replace("\n", "")
    assert run.returncode != 0 and "Traceback" not in text
    assert "more than 250,000 files" in text and made.path.name in text
    assert run.peak_mib < PEAK_MIB


def test_hostile_folder_transfer_skips_special_files_without_hanging(tmp_path, env):
    made = special_files(tmp_path / "src", tmp_path / "outside")
    before = {f for f in _files(tmp_path) if not f.startswith(("out/", "data/"))}
    try:
        out = tmp_path / "out"
        run, errors = transfer(f"folder:{made.root}", out, env)
    finally:
        made.close()
    assert run.returncode in (0, 1), run.stderr[-3000:]
    assert run.peak_mib < PEAK_MIB
    assert sorted(p.name for p in out.rglob("*.jpg") if p.is_file()) == sorted(Path(g).name for g in made.good)
    assert not any(b"secret" in p.read_bytes() for p in out.rglob("*") if p.is_file())
    assert outside(tmp_path) == before
    failed = {e["item"].rsplit("/", 1)[-1] for e in errors}
    assert {"fifo.jpg", "sock.jpg"} <= failed, errors
