"""The `ferry` command as a person meets it: one-line errors naming what to fix, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from connectors.meta.sample import write_sample_archive

FERRY = [sys.executable, "-m", "ferry"]


@pytest.fixture
def env(tmp_path, prefect_api):
    return dict(os.environ, FERRY_DATA_DIR=str(tmp_path / "data"), PREFECT_API_URL=prefect_api, COLUMNS="200")


def ferry(args, env, timeout=180):
    return subprocess.run(FERRY + list(args), env=env, capture_output=True, text=True, timeout=timeout)


def assert_clean_error(result, code: int, *needles: str) -> None:
    assert result.returncode == code, (result.returncode, result.stdout[-1500:], result.stderr[-1500:])
    text = (result.stdout + result.stderr).replace("\n", "")  # Rich wraps long lines
    assert "Traceback" not in text
    for needle in needles:
        assert needle in text, text[-1500:]


def test_help_lists_the_commands(env):
    result = ferry(["--help"], env)
    assert result.returncode == 0
    for command in ("transfer", "resume", "cancel", "jobs", "connectors", "demo", "sample-archive", "catalog", "auth"):
        assert command in result.stdout


def test_the_command_index_says_what_the_commands_say():
    """`ferry --help` lists commands from ferry.cli.COMMAND_INDEX without importing their modules
    (ferry/cli/_lazy.py); the index must name every command, its module and its help as shown."""
    import typer
    from typer.core import TyperGroup

    from ferry.cli import COMMAND_INDEX, COMMAND_MODULES
    from ferry.cli._lazy import module_commands

    real: dict[str, tuple[str, str]] = {}
    groups: dict[str, tuple[str, str]] = {}
    for module in COMMAND_MODULES:
        for name, command in module_commands(module).commands.items():
            entry = (module, " ".join((command.help or "").split("\n\n")[0].split()))
            (groups if isinstance(command, TyperGroup) else real)[name] = entry
    real.update(groups)  # Typer lists plain commands before groups
    assert list(COMMAND_INDEX.items()) == list(real.items())
    assert typer.main.get_command(__import__("ferry.cli", fromlist=["app"]).app).list_commands(None) == list(real)


def test_help_and_a_bad_request_load_only_what_they_need():
    """`ferry --help` builds no command; `ferry transfer <missing>` loads its own module only, and
    neither the folder connector's writer (icalendar), fsspec, nor the settings loader."""
    probe = (
        "import sys\n"
        "from ferry.cli import app\n"
        "try:\n    app(prog_name='ferry', args=sys.argv[1:])\n"
        "except SystemExit as done:\n    code = done.code\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('ferry.cli.', 'icalendar', 'fsspec', 'pydantic_settings', 'prefect')))\n"
        "print('LOADED', code, ' '.join(loaded), file=sys.stderr)\n"
    )
    helped = subprocess.run([sys.executable, "-c", probe, "--help"], capture_output=True, text=True, timeout=120)
    assert "Move data from SOURCE to DESTINATION" in helped.stdout
    assert helped.stderr.split("LOADED", 1)[1].split() == ["0", "ferry.cli._lazy"], helped.stderr
    bad = subprocess.run([sys.executable, "-c", probe, "transfer", "/no/such/place", "/tmp/x"], capture_output=True, text=True, timeout=120)
    assert "no such file or folder: /no/such/place" in bad.stderr
    code, *loaded = bad.stderr.split("LOADED", 1)[1].split()
    assert code == "2" and set(loaded) <= {"ferry.cli._common", "ferry.cli._lazy", "ferry.cli._safe_text", "ferry.cli.transfer"}, loaded


def test_corrupt_archive_names_the_file(tmp_path, env):
    broken = tmp_path / "facebook-broken.zip"
    broken.write_bytes(b"PK\x03\x04 this is not really a zip")
    result = ferry(["transfer", f"meta:{broken}", str(tmp_path / "out"), "--no-progress"], env)
    assert_clean_error(result, 3, "facebook-broken.zip", "ferry resume")


def test_unknown_type_and_protocol_are_usage_errors(tmp_path, env):
    archive = tmp_path / "facebook-x.zip"
    write_sample_archive(archive, photos=2, videos=0, posts=0, events=0, albums=1, size_mb=0.1)
    assert_clean_error(ferry(["transfer", f"meta:{archive}", str(tmp_path / "o"), "-t", "fotos"], env), 2, "unknown data type 'fotos'")
    assert_clean_error(ferry(["transfer", f"meta:{archive}", "nosuchproto://bucket/x", "-t", "photos"], env), 2, "nosuchproto://bucket/x")
    assert_clean_error(ferry(["jobs", "show", "deadbeef"], env), 2, "no job 'deadbeef'")


def test_unwritable_destination_stops_resumable_then_resumes(tmp_path, env):
    archive = tmp_path / "facebook-x.zip"
    write_sample_archive(archive, photos=4, videos=0, posts=0, events=0, albums=1, size_mb=0.2)
    out = tmp_path / "out"
    out.write_text("a file where the destination folder should be")
    # a destination that is a file is bad input: refused at once, no job created
    assert_clean_error(ferry(["transfer", f"meta:{archive}", f"folder:{out}", "-t", "photos", "--no-progress"], env), 2, f"the destination {out} is a file")
    assert json.loads(ferry(["jobs", "list", "--json"], env).stdout) == []
    out.unlink()
    out.mkdir()
    (out / "photos").write_text("a file where a folder must go")  # found only while writing: unwritable, even for root
    result = ferry(["transfer", f"meta:{archive}", f"folder:{out}", "-t", "photos", "--no-progress"], env)
    assert_clean_error(result, 3, "a file is in the way", "ferry resume")
    jobs = json.loads(ferry(["jobs", "list", "--json"], env).stdout)
    assert jobs[0]["state"] == "FAILED"
    (out / "photos").unlink()
    resumed = ferry(["resume", jobs[0]["id"][:8], "--no-progress", "--json"], env)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    summary = json.loads(resumed.stdout)
    assert summary["state"] == "COMPLETE" and summary["imported"] >= 4


def test_demo_runs_end_to_end_and_says_where_the_data_is(tmp_path, env):
    result = subprocess.run(FERRY + ["demo", "--photos", "6", "--size-mb", "1", "--no-progress", "--out", str(tmp_path / "demo-out")],
                            env=env, capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Your data is in:" in result.stdout and str(tmp_path / "demo-out") in result.stdout.replace("\n", "")
    assert "COMPLETE" in result.stdout
    assert any((tmp_path / "demo-out" / "photos").rglob("*.jpg"))
    listing = ferry(["jobs", "list"], dict(env, FERRY_DATA_DIR=str(tmp_path / "data")))
    assert listing.returncode == 0 and "COMPLETE" in listing.stdout
    # the header's count per type equals the summary table's (imported + already there + failed)
    import re

    announced = {m.group(1): int(m.group(2)) for m in re.finditer(r"(photos|videos|social-posts|calendar) (\d+) \(", result.stdout)}
    table = {m.group(1): sum(map(int, m.group(2, 3, 4))) for m in re.finditer(r"│ (photos|videos|social-posts|calendar)\s*│\s*(\d+) │\s*(\d+) │\s*(\d+) │", result.stdout)}
    assert announced and announced == table, (announced, table)


def test_ctrl_c_stops_cleanly_exits_130_and_the_job_resumes(tmp_path, env):
    import signal
    import sqlite3
    import time

    src = tmp_path / "src"
    for n in range(300):
        (src / f"d{n % 5}").mkdir(parents=True, exist_ok=True)
        (src / f"d{n % 5}" / f"f{n:03d}.bin").write_bytes(bytes([n % 256]) * 20_000)
    env = dict(env, FERRY_PAGE_SIZE="10")
    proc = subprocess.Popen(FERRY + ["transfer", f"folder:{src}", f"folder:{tmp_path / 'out'}", "--no-progress"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    db = tmp_path / "data" / "ferry.db"

    def delivered() -> int:
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
                return conn.execute("SELECT count(*) FROM ferry_ledger WHERE outcome = 'imported' AND kind = 'file'").fetchone()[0]
        except sqlite3.OperationalError:
            return 0

    deadline = time.monotonic() + 240
    while delivered() < 20 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "the transfer ended before Ctrl-C"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out[-1500:], err[-1500:])
    assert "Traceback" not in out + err
    text = out.replace("\n", " ")
    assert "interrupted" in text and "Resume with: ferry resume" in text
    assert "were being sent" not in text  # a clean stop leaves nothing in doubt
    job = json.loads(ferry(["jobs", "list", "--json"], env).stdout)[0]
    assert job["state"] == "PAUSED" and job["imported"] < 305  # stopped early, resumable
    resumed = ferry(["resume", job["id"][:8], "--no-progress", "--json"], env)
    assert resumed.returncode == 0, resumed.stderr[-1500:]
    assert json.loads(resumed.stdout)["state"] == "COMPLETE"
    assert len(list((tmp_path / "out").rglob("*.bin"))) == 300


def test_a_completed_summary_prints_names_as_data_and_explains_an_added_id(tmp_path, env):
    """A source path holding ``[/]`` (Rich's closing tag) and a file whose name is a link and
    ANSI colour, landing next to a foreign file of that name: the summary names both literally
    (no markup error, no link, no escape codes) and says why the file's name got its id added."""
    name = "[link=https:evil.example]y[bold] \x1b[31mred.txt"
    src, out = tmp_path / "[" / "]src", tmp_path / "out"
    (src / "album").mkdir(parents=True)
    (src / "album" / name).write_text("ours")
    landed = "[link=https_evil.example]y[bold] _[31mred.txt"  # the name made safe for any disk
    (out / "files" / "album").mkdir(parents=True)
    (out / "files" / "album" / landed).write_text("someone else's file with the same name")
    result = ferry(["transfer", f"folder:{src}", f"folder:{out}", "--no-progress"], dict(env, FORCE_COLOR="1"))
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stdout[-3000:] + result.stderr[-3000:]
    text = result.stdout
    assert "\x1b]8;" not in text and "\x1b[31mred" not in text
    assert "[/]src" in text and "got their id added to their name" in text and "[link=https:evil.example]y[bold]" in text
    kept = sorted(p.name for p in (out / "files" / "album").iterdir())
    assert len(kept) == 2 and (out / "files" / "album" / landed).read_text() == "someone else's file with the same name"
