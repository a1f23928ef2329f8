"""The job store's schema is owned by Alembic revisions: old stores upgrade, newer ones are refused."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from flows.store import HEAD, JobState, JobStore, Ledger, SchemaTooNew, StoreUnavailable, get_engine

FIXTURE = Path(__file__).with_name("fixtures") / "store-v0.sql"
FERRY = [sys.executable, "-m", "ferry"]


def old_store(path: Path) -> Path:
    """A job store written by ferry 0.1 (create_all, no version table): the dump in fixtures/."""
    with sqlite3.connect(path) as conn:
        conn.executescript(FIXTURE.read_text())
    return path


def test_head_is_alembics_head_and_the_migrated_schema_equals_the_models(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from alembic.config import Config
    from sqlmodel import SQLModel

    import flows.store.migrations as migrations

    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD
    engine = get_engine(f"sqlite:///{tmp_path / 'fresh.db'}", create=True)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"version_table": migrations.VERSION_TABLE}), SQLModel.metadata)
    assert diffs == []


def test_a_store_written_before_migrations_is_stamped_and_upgraded_keeping_its_data(tmp_path):
    db = old_store(tmp_path / "ferry.db")
    engine = get_engine(f"sqlite:///{db}")
    job = JobStore(engine).list()[0]
    assert job.state == JobState.FAILED and job.state_reason == "disk full"
    ledger = Ledger(engine)
    figures = ledger.figures(job.id)
    assert (figures.total.imported, figures.total.failed, figures.total.bytes) == (2, 1, 1234)
    assert [(r.item_id, r.error) for r in ledger.failures(job.id)] == [("p2", "missing file p2.jpg")]
    assert ledger.cursor(job.id, "photos").cursor_json == '{"unit":1}'
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT version_num FROM ferry_schema_version").fetchone() == (HEAD,)
        assert conn.execute("SELECT count(*) FROM ferry_recurring").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM ferry_credential").fetchone() == (1,)


def test_the_same_upgrade_on_postgresql(pg_url):
    engine = create_engine(pg_url)
    from alembic import command

    import flows.store.migrations as migrations

    with engine.begin() as conn:
        command.upgrade(migrations._config(conn), "0001")  # the baseline: today's 0.1 schema
    engine.dispose()
    upgraded = get_engine(pg_url)
    job = JobStore(upgraded).create(source="a", destination="b", types=["photos"])
    JobStore(upgraded).transition(job.id, JobState.RUNNING)
    JobStore(upgraded).transition(job.id, JobState.WAITING, "preparing")  # a state 0.1 did not have
    assert JobStore(upgraded).get(job.id).state == JobState.WAITING


def test_a_store_from_a_newer_ferry_is_refused_in_one_line(tmp_path):
    db = tmp_path / "ferry.db"
    get_engine(f"sqlite:///{db}", create=True)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE ferry_schema_version SET version_num = '0099'")
    with pytest.raises(SchemaTooNew, match="schema 0099, newer than this ferry knows"):
        get_engine.__wrapped__(f"sqlite:///{db}")


def test_unusable_stores_are_one_clear_line(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreUnavailable, match="not a ferry job store"):
        get_engine(f"sqlite:///{junk}")
    with pytest.raises(StoreUnavailable, match="no job store at .*typo.db"):
        get_engine(f"sqlite:///{tmp_path / 'typo.db'}")
    assert not (tmp_path / "typo.db").exists()  # a typo never creates an empty store
    with pytest.raises(StoreUnavailable, match="is not a database URL"):
        get_engine("nonsense")
    with pytest.raises(StoreUnavailable, match="does not know the database 'nosuchdb'"):
        get_engine("nosuchdb://x/y")


def test_cli_db_commands_and_an_unreachable_database(tmp_path):
    env = {"FERRY_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin", "COLUMNS": "300"}
    db = old_store(tmp_path / "old.db")
    env_old = dict(env, FERRY_DATABASE_URL=f"sqlite:///{db}")
    current = subprocess.run(FERRY + ["db", "current"], env=env_old, capture_output=True, text=True, timeout=60)
    assert current.returncode == 0 and "schema none" in current.stdout, current.stderr
    upgraded = subprocess.run(FERRY + ["db", "upgrade"], env=env_old, capture_output=True, text=True, timeout=60)
    assert upgraded.returncode == 0 and f"schema {HEAD} (was empty)" in upgraded.stdout, upgraded.stderr
    with socket_closed() as port:
        unreachable = dict(env, FERRY_DATABASE_URL=f"postgresql+psycopg://nobody@127.0.0.1:{port}/nothing")
        result = subprocess.run(FERRY + ["jobs", "list"], env=unreachable, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "cannot open the job store postgresql+psycopg://nobody@127.0.0.1" in result.stderr and "FERRY_DATABASE_URL" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def socket_closed():
    """A port nobody listens on: bound here, never listening (127.0.0.1:9 may be taken)."""
    import contextlib
    import socket

    @contextlib.contextmanager
    def held():
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            yield sock.getsockname()[1]

    return held()


# -- two processes upgrading one store at once -------------------------------------------------

RACER = """
import sys
from sqlalchemy import create_engine
from flows.store.migrations import ensure_schema
import alembic.command, flows.store.tables  # imported before the race, so both reach the lock
engine = create_engine(sys.argv[1])
print("result", ensure_schema(engine, where="race"), flush=True)
"""


def _race(url: str, blocked_waiters, hold_lock) -> list[str]:
    """Start two upgrading processes while the test holds the migration lock, wait until both wait
    for it (so both saw the old schema), release it, and return what each process did."""
    import os
    import time

    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    with hold_lock():
        procs = [subprocess.Popen([sys.executable, "-c", RACER, url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
        try:
            deadline = time.monotonic() + 240
            while blocked_waiters(procs) < 2:
                assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
                assert time.monotonic() < deadline, "the two upgrades never both waited for the lock"
                time.sleep(0.05)
        except BaseException:
            for p in procs:
                p.kill()
            raise
    outputs = [p.communicate(timeout=240) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    return sorted(out.strip().splitlines()[-1] for out, _ in outputs)


def test_two_processes_upgrading_an_old_sqlite_store_at_once(tmp_path):
    """Both processes pass the unlocked version check; the lock file lets one upgrade, the other
    finds the work done after waiting (proved by the kernel's list of blocked flock waiters)."""
    import contextlib
    import fcntl
    import re

    db = old_store(tmp_path / "ferry.db")

    @contextlib.contextmanager
    def hold_lock():
        with open(f"{db}.migrate-lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def blocked(procs) -> int:
        pids = {str(p.pid) for p in procs}
        waiting = re.findall(r"->\s+FLOCK\s+\S+\s+\S+\s+(\d+)", Path("/proc/locks").read_text())
        return len(pids & set(waiting))

    results = _race(f"sqlite:///{db}", blocked, hold_lock)
    assert results == ["result ('0001', '%s')" % HEAD, "result None"], results
    engine = get_engine(f"sqlite:///{db}")
    assert JobStore(engine).list()[0].state_reason == "disk full"  # the data survived, upgraded once
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT version_num FROM ferry_schema_version").fetchall() == [(HEAD,)]


def test_two_processes_upgrading_an_old_postgresql_store_at_once(pg_url):
    import contextlib
    import uuid

    from alembic import command
    from sqlalchemy import text

    import flows.store.migrations as migrations

    engine = create_engine(pg_url)
    with engine.begin() as conn:
        command.upgrade(migrations._config(conn), "0001")
    name = f"ferry-race-{uuid.uuid4().hex[:8]}"

    @contextlib.contextmanager
    def hold_lock():
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": migrations._ADVISORY_KEY})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": migrations._ADVISORY_KEY})

    def blocked(procs) -> int:
        with engine.connect() as conn:
            return conn.execute(
                text("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                     " WHERE l.locktype = 'advisory' AND NOT l.granted AND a.application_name = :name"),
                {"name": name},
            ).scalar()

    results = _race(f"{pg_url}&application_name={name}", blocked, hold_lock)
    assert results == ["result ('0001', '%s')" % HEAD, "result None"], results
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT version_num FROM {migrations.VERSION_TABLE}")).fetchall() == [(HEAD,)]
    engine.dispose()
