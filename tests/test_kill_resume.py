"""kill -9 a real `ferry transfer` at random points, `ferry resume`, and compare with a clean run.

Every item must arrive exactly once: the destination tree after crash + resume must equal the
tree of an uninterrupted transfer, byte for byte, with no partial files left behind.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from connectors.meta.sample import write_sample_archive

FERRY = [sys.executable, "-m", "ferry"]


def tree(root: Path) -> dict[str, str]:
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def ferry_env(data_dir: Path, prefect_api: str) -> dict:
    env = dict(os.environ)
    env.update(FERRY_DATA_DIR=str(data_dir), FERRY_PAGE_SIZE="4", PREFECT_API_URL=prefect_api)
    return env


def run_ferry(args, env, timeout=240) -> subprocess.CompletedProcess:
    return subprocess.run(FERRY + args, env=env, capture_output=True, text=True, timeout=timeout)


def jobs_in(data_dir: Path):
    from flows.store import JobStore, get_engine

    if not (data_dir / "ferry.db").exists():
        return []
    return JobStore(get_engine(f"sqlite:///{(data_dir / 'ferry.db').resolve()}")).list()


def only_job_id(data_dir: Path) -> str:
    jobs = jobs_in(data_dir)
    assert len(jobs) == 1
    return jobs[0].id


def wait_until_running(data_dir: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    """Kill points are drawn from the transfer's own working time, not the interpreter start-up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        jobs = jobs_in(data_dir)
        if jobs and jobs[0].state.value == "RUNNING":
            return
        time.sleep(0.05)


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("archive") / "facebook-sample.zip"
    write_sample_archive(path, photos=24, videos=2, posts=8, events=4, albums=3, size_mb=3, seed=11)
    return path


@pytest.fixture(scope="module")
def reference(archive, tmp_path_factory, prefect_api):
    """An uninterrupted transfer: the tree every crashed-and-resumed transfer must reproduce."""
    base = tmp_path_factory.mktemp("reference")
    result = run_ferry(["transfer", f"meta:{archive}", f"folder:{base / 'out'}", "--no-progress", "--json"], ferry_env(base / "data", prefect_api))
    assert result.returncode in (0, 1), result.stdout[-2000:] + result.stderr[-2000:]
    job = jobs_in(base / "data")[0]
    working_time = (job.finished_at - job.started_at).total_seconds()
    return tree(base / "out"), working_time


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill_9_then_resume_delivers_every_item_exactly_once(seed, archive, reference, tmp_path, prefect_api):
    expected, duration = reference
    rng = random.Random(seed)
    env = ferry_env(tmp_path / "data", prefect_api)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        FERRY + ["transfer", f"meta:{archive}", f"folder:{out}", "--no-progress", "--json"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    wait_until_running(tmp_path / "data", proc)
    time.sleep(rng.uniform(0.05, 0.95) * duration)
    killed = proc.poll() is None
    if killed:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    job_id = only_job_id(tmp_path / "data")
    # A second crash, this time during the resume, on odd seeds.
    if killed and seed % 2:
        proc = subprocess.Popen(FERRY + ["resume", job_id, "--no-progress", "--json"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_until_running(tmp_path / "data", proc)
        time.sleep(rng.uniform(0.05, 0.5) * duration)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    result = run_ferry(["resume", job_id, "--no-progress", "--json"], env)
    assert result.returncode in (0, 1), result.stdout[-2000:] + result.stderr[-2000:]
    got = tree(out)
    assert not [name for name in got if ".partial" in name], "a partial file was left visible"
    assert got == expected
