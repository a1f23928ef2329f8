"""``ferry transfer`` into a destination that already holds foreign files, links out and a FIFO.

A real ``python -m ferry`` process under a time and memory bound (tests/hostile/bounded.py):
nothing already at the destination changes, nothing lands outside it, every source file arrives
(under a new name when its name is taken by different content), and the one file whose folder
leads outside is named with the path in ``ferry jobs show --errors``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.hostile.bounded import run_bounded
from tests.hostile.destinations import hostile_destination

FERRY = [sys.executable, "-m", "ferry"]
TIMEOUT = 300


@pytest.fixture
def env(tmp_path, prefect_api):
    return dict(os.environ, FERRY_DATA_DIR=str(tmp_path / "data"), PREFECT_API_URL=prefect_api, COLUMNS="200")


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}


def test_a_hostile_destination_loses_nothing_and_gets_nothing_written_outside(tmp_path, env):
    made = hostile_destination(tmp_path)
    outside_before = _tree(made.outside)
    run = run_bounded([*FERRY, "transfer", f"folder:{made.source}", f"folder:{made.destination}", "--no-progress", "--json"], env, TIMEOUT)
    assert "Traceback" not in run.stdout + run.stderr, run.stderr[-3000:]
    assert run.returncode == 1, run.stdout[-2000:] + run.stderr[-2000:]  # complete, one item failed
    assert run.peak_mib < 400

    assert _tree(made.outside) == outside_before, "something was written outside the destination"
    after = _tree(made.destination)
    for rel, data in made.untouched.items():
        assert after[rel] == data, f"{rel} was changed"
    assert (made.destination / "files/link.txt").is_symlink() and (made.destination / "files/fifo.txt").exists()
    arrived = sorted(data for rel, data in after.items() if rel.startswith("files/") and rel not in made.untouched)
    assert arrived == sorted(d for n, d in made.delivered.items() if n != "equal.txt"), after.keys()
    assert not [rel for rel in after if ".partial-" in rel]

    job = json.loads(run_bounded([*FERRY, "jobs", "list", "--json"], env, 120).stdout)[0]
    shown = json.loads(run_bounded([*FERRY, "jobs", "show", job["id"], "--errors", "--json"], env, 120).stdout)
    messages = " ".join(f"{e['item']} {e['message']}" for e in shown.get("errors", []))
    assert "inside.txt" in messages and str(made.destination / "files/escape") in messages and "outside the destination" in messages
