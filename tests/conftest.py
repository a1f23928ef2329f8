"""Session-wide test fixtures: real local servers, started once per session.

* ``prefect_api``: one ``prefect server start`` subprocess (SQLite in a temp PREFECT_HOME) for the
  whole session, or the server named by an existing ``PREFECT_API_URL``.
* ``s3_server`` / ``s3_bucket``: moto in server mode on 127.0.0.1 (what s3fs's own tests use).
* ``pg_url``: the PostgreSQL on 127.0.0.1:5432 (database ``test``), skipped when unreachable.

Markers (pyproject.toml): a test that needs the Prefect server, a browser, moto or PostgreSQL is marked ``stack``
here, from the fixtures it uses (:data:`STACK_FIXTURES`), so ``pytest -m "not stack"`` is the
quick run developers make often; a module whose tests start such a stack themselves says
``pytestmark = pytest.mark.stack``. What the fixture rule cannot see is marked where it happens:
a parameter that asks for ``s3_bucket`` at run time (``pytest.param("s3", marks=pytest.mark.stack)``),
a connector kit on S3, and a test whose code makes Prefect start its temporary server (no
``prefect_api``: a resume or reconnect through the Prefect API, in-process or in a ``ferry`` process).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ferry.prefect_env import quiet_prefect_defaults  # noqa: E402

_SESSION_TMP = Path(tempfile.mkdtemp(prefix="ferry-tests-"))
# ferry's default data and config directories (platformdirs) must never be the developer's own.
os.environ["XDG_DATA_HOME"] = str(_SESSION_TMP / "xdg-data")
os.environ["XDG_CONFIG_HOME"] = str(_SESSION_TMP / "xdg-config")
quiet_prefect_defaults(_SESSION_TMP / "prefect-home")
# s3fs/botocore must never see real credentials or a CA bundle meant for the real AWS.
for _var in ("AWS_CA_BUNDLE", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
    os.environ.pop(_var, None)
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, timeout: float = 240.0, proc: subprocess.Popen | None = None) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server for {url} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


@pytest.fixture(autouse=True)
def clean_ferry_environ(monkeypatch):
    """Library code must not depend on the developer's FERRY_* settings."""
    for key in list(os.environ):
        if key.startswith("FERRY_"):
            monkeypatch.delenv(key)
    # `ferry` subprocesses run their flows in-process (on the session's Prefect server) unless a
    # test asks for the background runner (tests/test_runner.py): a runner per test's data dir
    # would start and linger once per test.
    monkeypatch.setenv("FERRY_RUNNER", "off")
    yield


@pytest.fixture(scope="session")
def session_tmp() -> Path:
    return _SESSION_TMP


@pytest.fixture(scope="session")
def prefect_api():
    """URL of a Prefect API server shared by the whole session (in-process and subprocess runs)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    given = os.environ.get("PREFECT_API_URL")
    proc = None
    if not given:
        port = free_port()
        env = dict(os.environ, PREFECT_HOME=str(_SESSION_TMP / "prefect-server"))
        log = open(_SESSION_TMP / "prefect-server.log", "wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        given = f"http://127.0.0.1:{port}/api"
        try:
            wait_for_http(given + "/health", proc=proc)
        except BaseException:  # never leave a server behind when it did not come up in time
            proc.kill()
            proc.wait()
            raise
        os.environ["PREFECT_API_URL"] = given
    with temporary_settings(updates={PREFECT_API_URL: given}):
        yield given
    if proc is not None:
        os.environ.pop("PREFECT_API_URL", None)
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def no_flow_heartbeat():
    """Removes the 1 s floor per sync flow run (heartbeat thread join)."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


@pytest.fixture(scope="session")
def s3_server():
    """Endpoint URL of a moto S3 server in server mode on 127.0.0.1."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    wait_for_http(endpoint + "/moto-api/")
    yield endpoint
    server.stop()


@pytest.fixture
def s3_bucket(s3_server):
    """A fresh bucket: yields ``(bucket_name, storage_options)`` for fsspec/s3fs."""
    import s3fs

    options = {
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": s3_server},
        "use_listings_cache": False,
    }
    name = f"ferry-{uuid.uuid4().hex[:12]}"
    fs = s3fs.S3FileSystem(**options, skip_instance_cache=True)
    fs.mkdir(name)
    s3fs.S3FileSystem.clear_instance_cache()
    yield name, options
    s3fs.S3FileSystem.clear_instance_cache()


def _pg_reachable(host: str = "127.0.0.1", port: int = 5432) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def pg_admin_url():
    if not _pg_reachable():
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    return "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture
def pg_url(pg_admin_url):
    """A fresh, empty PostgreSQL schema for one test, as a SQLAlchemy URL."""
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # reachable but not usable (auth): skip with the reason
        pytest.skip(f"PostgreSQL not usable: {exc}")
    yield f"{pg_admin_url}?options=-csearch_path%3D{schema}"
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


#: Fixtures that bring up the full stack: the session's Prefect server, a browser, the moto S3
#: server, PostgreSQL. ``-m "not stack"`` leaves them out (the in-process and SQLite tests stay).
STACK_FIXTURES = frozenset({"prefect_api", "browser", "chromium_path", "s3_server", "s3_bucket", "pg_admin_url", "pg_url"})


def pytest_collection_modifyitems(config, items):
    for item in items:
        if STACK_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.stack)


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_SESSION_TMP, ignore_errors=True)
