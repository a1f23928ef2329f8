"""Migration 0003: transfers from a folder that began under the old ids keep them (id_scheme=path)."""

from __future__ import annotations

import json
import sqlite3

from sqlalchemy import create_engine

import flows.store.migrations as migrations
from flows.store import get_engine


def _store_at_0002(path):
    from alembic import command

    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        command.upgrade(migrations._config(conn), "0002")
    engine.dispose()


def _insert(conn, table, row_id, source, destination, state, options=None):
    now = "2024-01-01 00:00:00"
    if table == "ferry_recurring":
        conn.execute(
            "INSERT INTO ferry_recurring (id, name, source, destination, types, options, state, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
            (row_id, row_id, source, destination, '["blobs"]', json.dumps(options or {}), state, now, now),
        )
    else:
        conn.execute(
            "INSERT INTO ferry_job (id, source, destination, types, options, ledger_scope, state, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
            (row_id, source, destination, '["blobs"]', json.dumps(options or {}), row_id, state, now, now),
        )


def test_old_folder_transfers_to_id_keyed_destinations_keep_their_ids(tmp_path):
    db = tmp_path / "ferry.db"
    _store_at_0002(db)
    src = tmp_path / "src"
    src.mkdir()
    with sqlite3.connect(db) as conn:
        _insert(conn, "ferry_recurring", "r-generic", f"folder:{src}", "generic:https://dest.example/dtp", "ACTIVE")
        _insert(conn, "ferry_recurring", "r-bare", str(src), "generic:https://dest.example/dtp", "PAUSED", {"generic": {"timeout": "5"}})
        _insert(conn, "ferry_recurring", "r-folder", f"folder:{src}", str(tmp_path / "out"), "ACTIVE")  # recognises content: no pin
        _insert(conn, "ferry_recurring", "r-gone", str(tmp_path / "gone"), "generic:https://dest.example/dtp", "ACTIVE")  # cannot tell
        _insert(conn, "ferry_recurring", "r-set", f"folder:{src}", "generic:https://dest.example/dtp", "ACTIVE", {"folder": {"id_scheme": "kind"}})
        _insert(conn, "ferry_job", "j-paused", f"folder:{src}", "generic:https://dest.example/dtp", "PAUSED")
        _insert(conn, "ferry_job", "j-done", f"folder:{src}", "generic:https://dest.example/dtp", "COMPLETE")
    get_engine(f"sqlite:///{db}")  # upgrades to head
    with sqlite3.connect(db) as conn:
        recurring = {r: json.loads(o) for r, o in conn.execute("SELECT id, options FROM ferry_recurring")}
        jobs = {r: json.loads(o) for r, o in conn.execute("SELECT id, options FROM ferry_job")}
    assert recurring["r-generic"] == {"folder": {"id_scheme": "path"}}
    assert recurring["r-bare"] == {"generic": {"timeout": "5"}, "folder": {"id_scheme": "path"}}
    assert recurring["r-folder"] == {} and recurring["r-gone"] == {}
    assert recurring["r-set"] == {"folder": {"id_scheme": "kind"}}
    assert jobs == {"j-paused": {"folder": {"id_scheme": "path"}}, "j-done": {}}
