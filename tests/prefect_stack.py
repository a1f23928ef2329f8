"""The real stack for deployment tests: Prefect server on PostgreSQL, process workers.

One stack per pytest session, shared by every module that asks (:func:`shared_stack`), because a
server takes seconds to start: a fresh PostgreSQL database for the Prefect server, another for
ferry's job store, ``prefect server start`` on a free port, the ``ferry-process`` work pool and
``prefect deploy --all`` from the repository root with the real prefect.yaml. Workers are started
per test (``stack.worker(name)``) in their own sessions so SIGTERM stops them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PREFECT = [sys.executable, "-m", "prefect"]
POOL = "ferry-process"
ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _admin(sql: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(sql))
    finally:
        engine.dispose()


class Stack:
    """A running Prefect server on PostgreSQL plus ferry settings for workers."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:8]
        self.tmp = Path(tempfile.mkdtemp(prefix="ferry-stack-"))
        self.prefect_db = f"ferry_prefect_{tag}"
        self.jobs_db = f"ferry_jobs_{tag}"
        self.port = _free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.ui_url = f"http://127.0.0.1:{self.port}"
        self.database_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.jobs_db}"
        self.data_dir = self.tmp / "data"
        self.server: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []

    # -- environment -----------------------------------------------------------------------------

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FERRY_")}
        env.update(
            PREFECT_API_URL=self.api_url,
            PREFECT_HOME=str(self.tmp / "prefect-home"),
            PREFECT_LOGGING_LEVEL="WARNING",
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            FERRY_DATABASE_URL=self.database_url,
            FERRY_DATA_DIR=str(self.data_dir),
            FERRY_SECRET_KEY=FERNET_KEY,
            PYTHONPATH=str(ROOT),
        )
        env.update(extra)
        return env

    def prefect(self, *args: str, timeout: float = 120) -> str:
        result = subprocess.run([*PREFECT, *args], cwd=ROOT, env=self.env(), capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"prefect {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result.stdout

    # -- life cycle ------------------------------------------------------------------------------

    def start(self) -> "Stack":
        from tests.conftest import wait_for_http

        _admin(f'CREATE DATABASE "{self.prefect_db}"')
        _admin(f'CREATE DATABASE "{self.jobs_db}"')
        env = self.env(
            PREFECT_SERVER_DATABASE_CONNECTION_URL=f"postgresql+asyncpg://postgres@127.0.0.1:5432/{self.prefect_db}",
            PREFECT_SERVER_LOGGING_LEVEL="CRITICAL",
            PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE="100",
            # the UI is on, calling this server's API (browser tests: what operators see)
            PREFECT_UI_ENABLED="true",
            PREFECT_SERVER_UI_API_URL=self.api_url,
        )
        env.pop("PREFECT_API_URL")
        self.server = subprocess.Popen(
            [*PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=self.tmp,
            env=env,
            stdout=open(self.tmp / "server.log", "wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for_http(self.api_url + "/health", proc=self.server)
        self.prefect("work-pool", "create", POOL, "--type", "process", "--overwrite")
        self.prefect("--no-prompt", "deploy", "--all")
        return self

    def worker(self, name: str, *, limit: int | None = None) -> subprocess.Popen:
        """Start a process worker on the pool (polling every second)."""
        args = [*PREFECT, "worker", "start", "--pool", POOL, "--name", name]
        if limit:
            args += ["--limit", str(limit)]
        proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=self.env(PREFECT_WORKER_QUERY_SECONDS="1", PREFECT_WORKER_PREFETCH_SECONDS="1"),
            stdout=open(self.tmp / f"worker-{name}.log", "ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.workers.append(proc)
        return proc

    def stop_worker(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if proc in self.workers:
            self.workers.remove(proc)

    def stop(self) -> None:
        for proc in list(self.workers):
            self.stop_worker(proc)
        if self.server is not None and self.server.poll() is None:
            os.killpg(self.server.pid, signal.SIGTERM)
            try:
                self.server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.server.pid, signal.SIGKILL)
                self.server.wait()
        from flows.store.engine import get_engine

        get_engine.cache_clear()
        for db in (self.prefect_db, self.jobs_db):
            try:
                _admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            except Exception:
                pass
        import shutil

        shutil.rmtree(self.tmp, ignore_errors=True)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}" for p in sorted(self.tmp.glob("*.log")))


#: A fixed test-only Fernet key (the job store's tokens are fake too).
FERNET_KEY = "x6mK2bq3Yk9mZ5u2p7oQ4iN1yZ8cV0rT3sW6eD9fH2g="

_stack: Stack | None = None


def shared_stack(config) -> Stack:
    """The session's stack, started on first use and stopped when pytest finishes."""
    import pytest

    global _stack
    if _stack is None:
        import socket

        try:
            socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
        except OSError:
            pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
        stack = Stack()
        try:
            stack.start()
        except Exception:
            logs = stack.logs()
            stack.stop()
            raise RuntimeError("could not start the Prefect stack\n" + logs)
        _stack = stack

        def stop() -> None:
            global _stack
            stack.stop()
            _stack = None

        config.add_cleanup(stop)
    return _stack


def wait_until(predicate, *, timeout: float = 600.0, interval: float = 0.5, what: str = "condition", stack: Stack | None = None):
    """Poll ``predicate`` until it returns something truthy (a deadline, not a timed assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"gave up waiting for {what}" + ("\n" + stack.logs() if stack else ""))
