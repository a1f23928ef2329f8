"""ferry's background runner as a user meets it: reused between commands, stopped cleanly,
never outliving what it should (``kill -9`` of the command, of the runner).

The runner is on here (the suite runs flows in-process otherwise, see conftest.py). It uses the
session's Prefect server (``PREFECT_API_URL``) except in the test that kills it, which needs the
runner's own Prefect child to show that the child dies with it.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

FERRY = [sys.executable, "-m", "ferry"]


def ferry(args, env, timeout=300):
    return subprocess.run(FERRY + list(args), env=env, capture_output=True, text=True, timeout=timeout)


def write_source(root: Path, files: int, size: int = 20_000) -> None:
    for n in range(files):
        path = root / f"d{n % 5}" / f"f{n:04d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(n.to_bytes(4, "big") * (size // 4))


def query(data_dir: Path, sql: str):
    db = data_dir / "ferry.db"
    if not db.exists():
        return None
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as conn:
            return conn.execute(sql).fetchone()
    except sqlite3.OperationalError:
        return None


def delivered(data_dir: Path) -> int:
    row = query(data_dir, "SELECT count(*) FROM ferry_ledger WHERE kind = 'file' AND outcome = 'imported'")
    return row[0] if row else 0


def newest_job(data_dir: Path) -> tuple[str, str]:
    return query(data_dir, "SELECT id, state FROM ferry_job ORDER BY created_at DESC LIMIT 1")


def in_doubt(data_dir: Path) -> int:
    return query(data_dir, "SELECT count(*) FROM ferry_ledger WHERE outcome = 'sending'")[0]


def poll(predicate, *, timeout: float = 180.0, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def runner_state(data_dir: Path) -> dict:
    states = [json.loads(p.read_text()) for p in (data_dir / "runner").glob("*.json")]
    assert len(states) == 1, states
    return states[0]


def runner_env(data_dir: Path, prefect_api: str | None, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FERRY_")}
    env.pop("PREFECT_API_URL", None)
    env.update(FERRY_DATA_DIR=str(data_dir), FERRY_RUNNER="on", FERRY_RUNNER_IDLE_SECONDS="120", COLUMNS="200", **extra)
    if prefect_api:
        env["PREFECT_API_URL"] = prefect_api
    return env


@pytest.fixture
def started(tmp_path, prefect_api):
    """A runner started with `ferry server start`, stopped with `ferry server stop` afterwards."""
    data_dir = tmp_path / "data"
    env = runner_env(data_dir, prefect_api, FERRY_PAGE_SIZE="10")
    result = ferry(["server", "start"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    state = runner_state(data_dir)
    yield env, data_dir, state
    stopped = ferry(["server", "stop"], env)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    poll(lambda: not alive(state["pid"]), timeout=120, what="the runner to exit on `ferry server stop`")


def tree(root: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*.bin")}


def test_commands_reuse_one_runner_and_print_what_they_printed_before(started, tmp_path):
    env, data_dir, state = started
    src = tmp_path / "src"
    write_source(src, 12)
    first = ferry(["transfer", str(src), str(tmp_path / "out"), "--no-progress"], env)
    assert first.returncode == 0, first.stdout + first.stderr
    text = first.stdout.replace("\n", " ")
    assert "Job " in text and "COMPLETE" in text and "Your data is in:" in text
    second = ferry(["transfer", f"folder:{src}", f"folder:{tmp_path / 'out2'}", "--no-progress", "--json"], env)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["imported"] == 12 + 5  # files and their 5 folders
    assert runner_state(data_dir)["pid"] == state["pid"]  # the same runner served both
    assert tree(tmp_path / "out2") == tree(src)
    status = ferry(["server", "status"], env)
    assert str(state["pid"]) in status.stdout and "idle" in status.stdout
    # bad input never reaches the runner: exit 2 at once, no job
    bad = ferry(["transfer", str(tmp_path / "nope"), str(tmp_path / "o"), "-t", "blobs"], env)
    assert bad.returncode == 2 and "no such file or folder" in bad.stderr
    assert query(data_dir, "SELECT count(*) FROM ferry_job")[0] == 2


def test_kill_9_of_the_command_alone_stops_its_run_and_the_job_resumes_exactly_once(started, tmp_path):
    env, data_dir, state = started
    src, out = tmp_path / "src", tmp_path / "out"
    write_source(src, 400)
    proc = subprocess.Popen(FERRY + ["transfer", str(src), str(out), "--no-progress", "-o", "folder.transfers=1"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # same process group as pytest: kill it alone
    try:
        poll(lambda: delivered(data_dir) >= 30 or proc.poll() is not None, what="the transfer to get going")
        assert proc.poll() is None, f"the transfer ended before the kill: {proc.stderr.read()[-1500:]!r}"
        proc.kill()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    job_id, _ = newest_job(data_dir)
    poll(lambda: newest_job(data_dir)[1] != "RUNNING", timeout=120, what="the runner to stop the orphaned run")
    job_id, job_state = newest_job(data_dir)
    assert job_state == "PAUSED"
    stopped_at = delivered(data_dir)
    assert 30 <= stopped_at < 400, stopped_at
    time.sleep(2)
    assert delivered(data_dir) == stopped_at, "a run went on after its command was killed"
    assert in_doubt(data_dir) == 0  # a clean stop: nothing left in doubt
    assert alive(state["pid"])  # the runner itself stays for the next command
    resumed = ferry(["resume", job_id[:8], "--no-progress", "--json"], env)
    assert resumed.returncode == 0, resumed.stdout[-1500:] + resumed.stderr[-1500:]
    summary = json.loads(resumed.stdout)
    assert summary["state"] == "COMPLETE" and summary["imported"] == 400 + 5 and summary["skipped"] == 0  # 400 files + 5 folders
    assert tree(out) == tree(src) and len(list(out.rglob("*.bin"))) == 400  # each once


def test_ctrl_c_exits_130_with_the_resume_command_and_nothing_in_doubt(started, tmp_path):
    env, data_dir, state = started
    src = tmp_path / "src"
    write_source(src, 400)
    proc = subprocess.Popen(FERRY + ["transfer", str(src), str(tmp_path / "out"), "--no-progress"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    poll(lambda: delivered(data_dir) >= 30 or proc.poll() is not None, what="the transfer to get going")
    assert proc.poll() is None, "the transfer ended before Ctrl-C"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out[-1500:], err[-1500:])
    assert "Traceback" not in out + err
    text = out.replace("\n", " ")
    assert "interrupted" in text and "Resume with: ferry resume" in text
    assert "were being sent" not in text and in_doubt(data_dir) == 0
    job_id, job_state = newest_job(data_dir)
    assert job_state == "PAUSED" and delivered(data_dir) < 400
    resumed = ferry(["resume", job_id[:8], "--no-progress", "--json"], env)
    assert resumed.returncode == 0 and json.loads(resumed.stdout)["state"] == "COMPLETE"
    assert len(list((tmp_path / "out").rglob("*.bin"))) == 400


@pytest.mark.stack  # the runner starts its own Prefect server
def test_kill_9_of_the_runner_takes_its_prefect_server_with_it(tmp_path):
    data_dir = tmp_path / "data"
    env = runner_env(data_dir, None, FERRY_PAGE_SIZE="10")  # the runner starts its own Prefect server
    src = tmp_path / "src"
    write_source(src, 400)
    proc = subprocess.Popen(FERRY + ["transfer", str(src), str(tmp_path / "out"), "--no-progress", "-o", "folder.transfers=1"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        poll(lambda: delivered(data_dir) >= 30 or proc.poll() is not None, timeout=400, what="the transfer to get going")
        assert proc.poll() is None, "the transfer ended before the kill"
        state = runner_state(data_dir)
        prefect_pid = state["prefect_pid"]
        assert state["own_prefect_server"] and alive(prefect_pid)
        os.kill(state["pid"], signal.SIGKILL)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3, (out[-1500:], err[-1500:])
    assert "Traceback" not in out + err and "ferry resume" in err.replace("\n", " ")
    poll(lambda: not alive(prefect_pid), timeout=120, what="the Prefect server to die with its runner")
    job_id, job_state = newest_job(data_dir)
    assert job_state == "RUNNING"  # killed: its lease names a dead process, so resume takes it over
    resumed = ferry(["resume", job_id[:8], "--no-progress", "--json"], dict(env, FERRY_RUNNER_IDLE_SECONDS="0"), timeout=600)
    assert resumed.returncode == 0, resumed.stdout[-1500:] + resumed.stderr[-1500:]
    assert json.loads(resumed.stdout)["state"] == "COMPLETE"
    assert len(list((tmp_path / "out").rglob("*.bin"))) == 400
    # idle timeout 0: the new runner and its Prefect server leave once the command is done
    new = runner_state(data_dir) if list((data_dir / "runner").glob("*.json")) else None
    if new is not None:
        poll(lambda: not alive(new["pid"]) and not alive(new["prefect_pid"]), timeout=120, what="the idle runner to exit")


CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def _waiting_job(data_dir: Path, source: Path, destination: Path) -> str:
    """A folder job parked WAITING and due now, as a source that prepares data leaves it."""
    from datetime import timedelta

    from flows.context import open_context
    from flows.requests import create_job
    from flows.settings import load_settings
    from flows.store import JobState, utcnow

    ctx = open_context(load_settings(data_dir=data_dir))
    job = create_job(ctx, f"folder:{source}", f"folder:{destination}", ["blobs"])
    ctx.jobs.transition(job.id, JobState.RUNNING)
    ctx.jobs.transition(job.id, JobState.WAITING, "the source is preparing the data", wake_at=utcnow() - timedelta(seconds=1))
    return job.id


@pytest.mark.stack
def test_a_transfer_through_the_runner_shows_in_the_runners_prefect_ui(tmp_path):
    """The runner's own Prefect server serves the UI (on its own port, not :4200), `ferry server
    start|status` print where, and a transfer's flow run is listed there under its readable name.
    `ferry wake` resumes a due WAITING job through the same runner: its flow run is on the
    runner's server (run in the command's own process it would land on a temporary server)."""
    import httpx

    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    data_dir = tmp_path / "data"
    env = runner_env(data_dir, None)  # no PREFECT_API_URL: the runner starts its own server, with the UI
    src = tmp_path / "src"
    write_source(src, 6)
    started = ferry(["server", "start"], env, timeout=600)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        state = runner_state(data_dir)
        ui = state["ui_url"]
        assert ui and ui != "http://127.0.0.1:4200/" and ui in started.stdout and "started in" in started.stdout
        assert ui in ferry(["server", "status"], env).stdout
        done = ferry(["transfer", str(src), str(tmp_path / "out"), "--no-progress", "--json"], env)
        assert done.returncode == 0, done.stdout[-1500:] + done.stderr[-1500:]
        name = f"transfer folder→folder {json.loads(done.stdout)['job_id'][:8]}"
        waiting = _waiting_job(data_dir, src, tmp_path / "woken")
        woken = ferry(["wake"], env)
        assert woken.returncode == 0 and f"resumed {waiting[:8]}: COMPLETE" in woken.stdout, woken.stdout + woken.stderr
        assert tree(tmp_path / "woken") == tree(src)
        flow_run = query(data_dir, f"SELECT flow_run_id FROM ferry_job WHERE id = '{waiting}'")[0]
        on_runner = httpx.get(f"{state['api_url']}/flow_runs/{flow_run}", timeout=30)
        assert on_runner.status_code == 200 and on_runner.json()["name"] == f"transfer folder→folder {waiting[:8]}"
        assert runner_state(data_dir)["pid"] == state["pid"]
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"])
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                failed = []
                page.on("requestfailed", lambda request: failed.append(request.url))
                page.goto(ui + "runs")
                try:
                    page.get_by_text(name).first.wait_for(timeout=180_000)
                finally:
                    ARTIFACTS.mkdir(exist_ok=True)
                    page.screenshot(path=str(ARTIFACTS / "runner-ui-runs.png"), full_page=True)
                assert not [url for url in failed if ":4200" in url], failed  # the UI asks its own server
            finally:
                browser.close()
    finally:
        ferry(["server", "stop"], env)


def test_runs_without_a_heartbeat_see_it_off_and_leave_the_settings_as_they_were():
    """The runner's flow runs have Prefect's heartbeat off (settings built once, used per run)."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY

    from ferry.runner.service import TransferService

    before = PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value()
    service = TransferService(heartbeat=False)
    for _ in range(2):
        with service._heartbeat():
            assert PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value() is None
        assert PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value() == before
    with TransferService(heartbeat=True)._heartbeat():
        assert PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value() == before
