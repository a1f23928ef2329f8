"""Bad input answers at once: exit 2, the real reason, no job created, Prefect never imported."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from connectors.meta.sample import write_sample_archive

FERRY = [sys.executable, "-X", "importtime", "-m", "ferry"]


@pytest.fixture
def env(tmp_path):
    return dict(os.environ, FERRY_DATA_DIR=str(tmp_path / "data"), COLUMNS="300")


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    path = tmp_path_factory.mktemp("a") / "facebook.zip"
    write_sample_archive(path, photos=2, videos=0, posts=0, events=0, albums=1, size_mb=0.05)
    return path


def jobs(tmp_path) -> int:
    db = tmp_path / "data" / "ferry.db"
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM ferry_job").fetchone()[0]


def refused(args, env, needle):
    result = subprocess.run(FERRY + args, env=env, capture_output=True, text=True, timeout=120)
    errors = [line for line in result.stderr.splitlines() if not line.startswith("import time:")]
    assert result.returncode == 2, (result.returncode, result.stdout, errors)
    assert needle in " ".join(errors), errors
    assert "Traceback" not in result.stderr
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert not {m for m in imported if m == "prefect" or m.startswith("prefect.")}, "bad input must not wait for Prefect"
    return result


def test_every_kind_of_bad_request_is_refused_before_a_job_exists(tmp_path, env, archive):
    out = tmp_path / "out"
    cases = [
        (["transfer", str(tmp_path / "nope.zip"), str(out)], f"no such file or folder: {tmp_path / 'nope.zip'}"),
        (["transfer", f"meta:{tmp_path / 'fb.zip'}", str(out)], f"no such file or folder: {tmp_path / 'fb.zip'}"),
        (["transfer", f"meta:{archive}", f"folder:{archive}"], f"the destination {archive} is a file, not a folder"),
        (["transfer", f"meta:{archive}", str(out), "-t", "fotos"], "unknown data type 'fotos'"),
        (["transfer", f"nosuch:{archive}", str(out)], "no connector can use"),
        (["transfer", "generic:https://dest.example/dtp", str(out)], "connector 'generic' cannot be a source"),
        (["transfer", "tiktok:", str(out)], "tiktok needs a credential: run `ferry auth login tiktok`"),
        (["transfer", "tiktok:", str(out), "--source-credential", "0123abcd"], "no credential '0123abcd'"),
        (["transfer", f"meta:{archive}", str(out), "-o", "gneric.timeout=5"], "option for 'gneric'"),
    ]
    for args, needle in cases:
        refused(args, env, needle)
    assert jobs(tmp_path) == 0
    assert not out.exists()


def test_a_dead_credential_is_refused_with_the_command_that_fixes_it(tmp_path, env):
    from flows.context import open_context
    from flows.store import Credential, CredentialStatus
    from sqlmodel import Session

    ctx = open_context(data_dir=tmp_path / "data")
    with Session(ctx.engine) as session:  # a credential whose refresh failed for good
        row = Credential(connector="tiktok", token_ciphertext="x", status=CredentialStatus.NEEDS_REAUTH, status_reason="invalid_grant")
        session.add(row)
        session.commit()
        credential_id = row.id
    refused(["transfer", "tiktok:", str(tmp_path / "out"), "--source-credential", credential_id[:8]], env, f"run `ferry reconnect {credential_id[:8]}`")
    assert jobs(tmp_path) == 0


def test_an_invalid_setting_is_one_line_naming_it(tmp_path, env):
    result = refused(["jobs", "list"], dict(env, FERRY_LOG_LEVEL="LOUD"), "log_level (FERRY_LOG_LEVEL): 'LOUD' is not a log level")
    assert len([line for line in result.stderr.splitlines() if not line.startswith("import time:")]) == 1


@pytest.mark.parametrize(
    ("setup", "needle"),
    [
        ({"ferry.toml": "data_dir = [\n"}, "ferry.toml is not valid TOML: Invalid value"),
        ({"ferry.toml": 'datbase_url = "sqlite:///x.db"\n'}, "unknown setting 'datbase_url'"),
        ({"ferry.toml": 'log_level = "LOUD"\n'}, "log_level (FERRY_LOG_LEVEL, set in "),
        ({"FERRY_STORAGE_OPTIONS": "{not json"}, "storage_options (FERRY_STORAGE_OPTIONS): not valid JSON"),
        ({"FERRY_OAUTH_REDIRECT_URIS": "http://x/cb"}, "oauth_redirect_uris (FERRY_OAUTH_REDIRECT_URIS): not valid JSON"),
        ({"FERRY_CONFIG": "missing.toml"}, "FERRY_CONFIG names missing.toml, which does not exist"),
    ],
    ids=["toml-syntax", "toml-unknown-key", "toml-log-level", "env-json", "env-json-list", "config-missing"],
)
def test_a_broken_configuration_is_one_line_naming_it(tmp_path, env, setup, needle):
    """A malformed ferry.toml, a FERRY_* variable that does not parse and a FERRY_CONFIG that
    points nowhere each stop ferry with one line naming the file or variable, exit 2."""
    env = dict(env)
    for key, value in setup.items():
        if key == "ferry.toml":
            (tmp_path / "ferry.toml").write_text(value)
            env["FERRY_CONFIG"] = str(tmp_path / "ferry.toml")
        else:
            env[key] = value
    result = subprocess.run(FERRY + ["jobs", "list"], env=dict(env, COLUMNS="80"), capture_output=True, text=True, timeout=120, cwd=tmp_path)
    errors = [line for line in result.stderr.splitlines() if not line.startswith("import time:")]
    assert result.returncode == 2 and "Traceback" not in result.stderr, (result.returncode, errors)
    assert len(errors) == 1 and needle in errors[0], errors


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("postgresql+psycopg://ferry@127.0.0.1:5432/ferry", "needs the psycopg driver, which is not installed: pip install 'ferry[postgres]'"),
        ("postgresql://ferry@127.0.0.1:5432/ferry", "write the URL as postgresql+psycopg://... and pip install 'ferry[postgres]'"),
    ],
)
def test_postgresql_without_its_driver_names_the_extra_to_install(tmp_path, env, url, needle):
    """The base install has no PostgreSQL driver: one line saying to install ``ferry[postgres]``
    (the driver is hidden from this process, as on a machine without the extra)."""
    hide = "import sys; sys.modules['psycopg'] = sys.modules['psycopg2'] = None; from ferry.cli import app; app()"
    result = subprocess.run([sys.executable, "-c", hide, "jobs", "list"], env=dict(env, FERRY_DATABASE_URL=url, COLUMNS="80"),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.stderr.count("\n") == 1 and needle in result.stderr, result.stderr


def test_the_postgres_extra_is_declared():
    import tomllib
    from pathlib import Path

    extras = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(dep.startswith("psycopg[binary]") for dep in extras["postgres"])
