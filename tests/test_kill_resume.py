"""``kill -9`` a real ``ferry transfer`` again and again, ``ferry resume``: every item exactly once.

Three destinations, each against something that counts what it receives:

* the project's reference DTP Generic Importer (in this process), which records every request
  and counts repeats: it must see each item once, and ferry must report them as imported;
* a local folder and an S3 bucket (moto): exactly one object per item, byte-identical to an
  uninterrupted transfer, no partial files, and every item imported (not "already there").

Each kill lands at a random point of the transfer's own progress (counted at the destination or
in the ledger), and the test asserts that it happened mid-transfer: after this run delivered
something new (progress strictly grew since the previous kill, so a kill that overshot its
target cannot make the next one land at start-up) and before the end. A kill that never hit a
running transfer would prove nothing.

Repeats are counted where the bytes land, not only in ferry's own figures:

* the Generic Importer counts every item it received more than once;
* the folder destination: every file's inode and ctime are recorded after each kill; ferry
  writes a new file under a temporary name and renames it over, so a file written twice
  changes inode (a second copy under another name would also show as an extra file);
* S3 (moto, in this process): every PUT the server answered is counted per key from its request
  log; each object must have been PUT exactly once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

FERRY = [sys.executable, "-m", "ferry"]
KILLS = 10


def ferry_env(data_dir: Path, prefect_api: str, **extra) -> dict:
    env = dict(os.environ)
    # FERRY_RUNNER=off: the killed `ferry` process is the one that sends (tests/test_runner.py
    # kills the command and the runner separately)
    env.update(FERRY_DATA_DIR=str(data_dir), FERRY_PAGE_SIZE="15", PREFECT_API_URL=prefect_api, FERRY_RUNNER="off", **extra)
    return env


def write_source(root: Path, files: int, size: int) -> None:
    rng = random.Random(7)
    for n in range(files):
        path = root / f"d{n % 6}" / f"f{n:03d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(size))


def ledger_rows(data_dir: Path) -> int:
    """Items the ledger has seen (intents and outcomes), read as a second process would."""
    db = data_dir / "ferry.db"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM ferry_ledger WHERE kind = 'file' AND outcome != 'sending'").fetchone()[0]
    except sqlite3.OperationalError:  # the schema is being created
        return 0


def only_job(data_dir: Path) -> dict:
    with sqlite3.connect(f"file:{data_dir / 'ferry.db'}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT id, state FROM ferry_job").fetchall()
    assert len(rows) == 1
    return {"id": rows[0][0], "state": rows[0][1]}


def kill_at(args: list[str], env: dict, progress, target: int, total: int, before: int) -> int:
    """Start ``ferry ARGS``, SIGKILL its process group once ``progress() >= target``.

    ``before`` is the progress when this run starts: the kill waits for this run to deliver
    something (target > before). Returns the progress seen at the kill; fails the test if the
    transfer ended first, or if the kill did not land mid-transfer.
    """
    assert before < target < total
    proc = subprocess.Popen(FERRY + args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and proc.poll() is None and progress() < target:
            time.sleep(0.01)
        assert proc.poll() is None, f"ferry ended before the kill point ({target}/{total}): {proc.stderr.read()[-1500:]!r}"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        seen = progress()
        assert before < seen < total, f"the kill did not land mid-transfer: {before} -> {seen} of {total}"
        return seen
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def crash_and_resume(transfer_args: list[str], env: dict, data_dir: Path, progress, total: int, seed: int, after_kill=None) -> dict:
    """One transfer killed at KILLS random, increasing points of its progress, then resumed.

    Targets are spread over the first 80% of the transfer (one random point in each of KILLS
    equal stretches: outcomes of destinations that can tell what they hold are committed in
    groups, so progress jumps, and the last kill needs room before the end), and each is at
    least one item past what the previous run reached: a kill that overshot never makes the next
    one fire at start-up. ``after_kill()`` inspects the destination after each kill.
    """
    rng = random.Random(seed)
    stretch = int(total * 0.8) / KILLS
    planned = [1 + int(stretch * n + rng.random() * stretch) for n in range(KILLS)]
    seen: list[int] = []
    for n, target in enumerate(planned):
        before = seen[-1] if seen else progress()
        target = min(max(target, before + 1), total - 1)
        args = ["transfer", *transfer_args, "--no-progress"] if n == 0 else ["resume", only_job(data_dir)["id"], "--no-progress"]
        seen.append(kill_at(args, env, progress, target, total, before))
        assert only_job(data_dir)["state"] != "COMPLETE"
        if after_kill is not None:
            after_kill()
    assert all(b > a for a, b in zip(seen, seen[1:])), f"progress must grow from kill to kill: {seen}"
    done = subprocess.run(FERRY + ["resume", only_job(data_dir)["id"], "--no-progress", "--json"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    summary = json.loads(done.stdout)
    summary["kill_points"] = seen
    print(f"kill points (items delivered when killed, of {total}): {seen}")
    return summary


class InodeWatch:
    """Files of a folder destination and the inode + ctime each had when first seen.

    ferry writes ``<name>.partial-*`` and renames it over the final name, so writing a file a
    second time gives it a new inode: :attr:`rewritten` lists every file that changed."""

    def __init__(self, root: Path):
        self.root = root
        self.first: dict[str, tuple[int, int]] = {}
        self.rewritten: set[str] = set()

    def __call__(self) -> None:
        for path in self.root.rglob("*"):
            if path.is_file() and ".partial-" not in path.name:
                st = path.stat()
                key = str(path.relative_to(self.root))
                stamp = (st.st_ino, st.st_ctime_ns)
                if self.first.setdefault(key, stamp) != stamp:
                    self.rewritten.add(key)


class PutCounter(logging.Handler):
    """Counts the PUTs the in-process moto server answered with 200, per object key (from its
    request log: werkzeug logs one line per request)."""

    _LINE = re.compile(r'"PUT (/[^ ?]+)(\?[^ ]*)? HTTP/[\d.]+" 200')

    def __init__(self):
        super().__init__(logging.INFO)
        self.puts: dict[str, int] = {}
        self._lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        match = self._LINE.search(record.getMessage())
        if match and "partNumber=" not in (match.group(2) or ""):  # parts of a multipart upload are not objects
            with self._lock:
                self.puts[match.group(1)] = self.puts.get(match.group(1), 0) + 1

    def __enter__(self) -> "PutCounter":
        logger = logging.getLogger("werkzeug")
        self._level = logger.level
        logger.setLevel(logging.INFO)
        logger.addHandler(self)
        return self

    def __exit__(self, *exc) -> None:
        logger = logging.getLogger("werkzeug")
        logger.removeHandler(self)
        logger.setLevel(self._level)


def tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("source")
    write_source(root, files=120, size=40_000)
    return root


@pytest.fixture(scope="module")
def many_files(tmp_path_factory) -> Path:
    """A larger source for the local folder destination, the fastest one.

    Small local copies run at well over a thousand files a second, and their outcomes are committed
    in groups of up to 8. Between the poll that sees a kill point and the kill itself, a run can
    deliver a few dozen files. With 120 files, the overshoot of the ninth kill once left the tenth
    no room before the end (114 -> 120 of 120). With 400 files, every kill lands mid-transfer.
    """
    root = tmp_path_factory.mktemp("many")
    write_source(root, files=400, size=20_000)
    return root


def test_generic_importer_receives_each_item_once_across_ten_kills(source, tmp_path, prefect_api):
    from ferry.servers.destination.app import create_app
    from ferry.servers.threaded import ThreadedServer
    from ferry.servers.destination.tokens import TokenRegistry
    from flows.context import open_context
    from connectors.oauth import build_client_config, discover

    files = len(list(source.rglob("*.bin")))
    registry = TokenRegistry(access_lifetime=3600)
    app = create_app(str(tmp_path / "received"), registry=registry, client_id="ferry", client_secret="s3cret")
    data_dir = tmp_path / "data"
    with ThreadedServer(app) as server:
        ctx = open_context(data_dir=data_dir)
        client = build_client_config(client_id="ferry", client_secret="s3cret", metadata=discover(server.url))
        credential = ctx.credentials.create("generic", {**registry.issue("alice", client_id="ferry"), "token_type": "Bearer"}, client).id
        api = app.state.importer
        created = lambda: sum(1 for r in api.received if r.status == 201 and r.payload_type == "File")  # noqa: E731
        env = ferry_env(data_dir, prefect_api)
        transfer = [f"folder:{source}", f"generic:{server.url}/dtp", "--destination-credential", credential]
        summary = crash_and_resume(transfer, env, data_dir, created, files, seed=11)
        assert api.repeats == [], f"the destination received {len(api.repeats)} item(s) twice"
        assert created() == files  # every file arrived
        assert summary["state"] == "COMPLETE" and summary["failed"] == 0
        assert summary["per_vertical"]["blobs"]["imported"] >= files and summary["skipped"] == 0


def test_folder_destination_holds_each_item_once_across_ten_kills(many_files, tmp_path, prefect_api):
    source = many_files
    files = len(list(source.rglob("*.bin")))
    data_dir, out = tmp_path / "data", tmp_path / "out"
    watch = InodeWatch(out)
    summary = crash_and_resume([f"folder:{source}", f"folder:{out}"], ferry_env(data_dir, prefect_api), data_dir, lambda: ledger_rows(data_dir), files, seed=5, after_kill=watch)
    watch()
    assert watch.rewritten == set(), f"files written more than once: {sorted(watch.rewritten)}"
    assert len(watch.first) == files
    got = tree(out)
    assert not [name for name in got if ".partial" in name], "a partial file was left visible"
    assert {Path(name).name: digest for name, digest in got.items()} == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in source.rglob("*.bin")}
    assert len(got) == files  # one copy each, none under a second name
    assert summary["state"] == "COMPLETE" and summary["imported"] >= files and summary["skipped"] == 0


def test_s3_destination_holds_each_item_once_across_ten_kills(source, tmp_path, prefect_api, s3_bucket):
    import s3fs

    bucket, options = s3_bucket
    files = len(list(source.rglob("*.bin")))
    data_dir = tmp_path / "data"
    env = ferry_env(data_dir, prefect_api, FERRY_STORAGE_OPTIONS=json.dumps(options))
    with PutCounter() as counter:
        summary = crash_and_resume([f"folder:{source}", f"s3://{bucket}/backup"], env, data_dir, lambda: ledger_rows(data_dir), files, seed=9)
    repeats = {key: n for key, n in counter.puts.items() if n > 1}
    assert repeats == {}, f"objects PUT more than once: {repeats}"
    # (each run's check first writes and removes a probe under a temporary name: not an item)
    assert len([k for k in counter.puts if k.startswith(f"/{bucket}/backup/") and ".partial-" not in k]) == files
    fs = s3fs.S3FileSystem(**options, skip_instance_cache=True)
    stored = [p for p in fs.find(f"{bucket}/backup")]
    assert not [p for p in stored if ".partial" in p]
    assert len(stored) == files
    assert sorted(Path(p).name for p in stored) == sorted(p.name for p in source.rglob("*.bin"))
    assert summary["state"] == "COMPLETE" and summary["imported"] >= files and summary["skipped"] == 0
