"""The CLI's side of the runner: find it (or start it), send a request, read the events.

Imports neither Prefect nor a database driver: a command that talks to a warm runner costs the
CLI's own start-up (Typer, Rich, the connector registry) and one socket round trip.

Starting: a command that finds no runner for its key (:mod:`.paths`) spawns
``python -m ferry.runner`` in a new session, with its output in the runner's log, and polls the
socket until it answers (a cold start imports Prefect and starts its server: seconds, once). Two
commands starting at once spawn two runners; the lock lets one live and the other exit.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .paths import RunnerPaths, code_roots
from .protocol import ProtocolError, encode, read_message

__all__ = ["RunnerError", "RunnerGone", "RunnerConnection", "connect", "runner_status", "stop_runners", "START_TIMEOUT"]

#: How long a command waits for a runner it started (a fresh Prefect database migrates first).
START_TIMEOUT = 300.0


class RunnerError(Exception):
    """The runner could not be started or reached; the message says where its log is."""


class RunnerGone(RunnerError):
    """The runner went away in the middle of a request (killed, crashed)."""


class RunnerConnection:
    """One request's connection: send the request, read events, send a stop."""

    def __init__(self, sock: socket.socket, paths: RunnerPaths):
        self.sock, self.paths = sock, paths
        self._stream = sock.makefile("rb")

    def send(self, message: dict[str, Any]) -> None:
        self.sock.sendall(encode(message))

    def stop(self) -> None:
        """Ask the run to stop after the item in flight (Ctrl-C)."""
        try:
            self.send({"op": "stop"})
        except OSError:
            pass

    def events(self) -> Iterator[dict[str, Any]]:
        """Events until ``done`` or ``error`` (included); RunnerGone if the runner vanishes."""
        while True:
            try:
                event = read_message(self._stream)
            except (ProtocolError, OSError) as exc:
                raise RunnerGone(f"lost ferry's runner: {exc} (its log: {self.paths.log})") from None
            if event is None:
                raise RunnerGone(f"ferry's runner stopped before answering (its log: {self.paths.log})")
            yield event
            if event.get("event") in ("done", "error", "hello", "bye"):
                return

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            self.sock.close()


def _dial(path: Path) -> socket.socket | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(path))
    except (FileNotFoundError, ConnectionRefusedError):
        sock.close()
        return None
    except OSError:
        sock.close()
        raise
    return sock


def _lock_is_held(path: Path) -> bool:
    try:
        with open(path, "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False
    except OSError:
        return False


def _spawn(paths: RunnerPaths, idle: float, log_level: str) -> subprocess.Popen:
    paths.folder.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    # the runner must import this very code, from any directory
    roots = [str(root.parent) for root in code_roots()]
    given = [str(Path(p).resolve()) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(roots + given))
    with open(paths.log, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "ferry.runner", "--data-dir", str(paths.data_dir), "--key", paths.key, "--idle", str(idle), "--log-level", log_level],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            cwd="/",
            env=env,
            start_new_session=True,  # a Ctrl-C in the terminal is for the command, not the runner
            close_fds=True,
        )


def connect(settings, *, start: bool = True, announce: Callable[[str], None] | None = None, timeout: float = START_TIMEOUT) -> RunnerConnection:
    """A connection to the runner for this command's data dir and environment.

    Starts the runner when there is none (``start``); ``announce`` hears one line when the
    command has to wait for that. Raises RunnerError with the log's path when it cannot.
    """
    paths = RunnerPaths.of(settings.data_dir)
    sock = _dial(paths.socket)
    if sock is not None:
        return RunnerConnection(sock, paths)
    if not start:
        raise RunnerError("ferry's runner is not running")
    if announce is not None:
        announce("starting ferry's runner in the background (Prefect and its server start once; later commands reuse them)…")
    proc = _spawn(paths, settings.runner_idle_seconds, settings.log_level)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock = _dial(paths.socket)
        if sock is not None:
            return RunnerConnection(sock, paths)
        if proc.poll() is not None and not _lock_is_held(paths.lock):
            sock = _dial(paths.socket)
            if sock is not None:
                return RunnerConnection(sock, paths)
            raise RunnerError(f"ferry's runner could not start; see {paths.log} (or set FERRY_RUNNER=off)")
        time.sleep(0.05)
    raise RunnerError(f"ferry's runner did not answer within {timeout:.0f} s; see {paths.log}")


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped by whoever spawned it) is not alive
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def runner_status(data_dir: Path) -> list[dict[str, Any]]:
    """Every runner of ``data_dir`` that left a state file: alive or not, its API and jobs."""
    found = []
    for paths in RunnerPaths.all_in(data_dir):
        try:
            state = json.loads(paths.state.read_text())
        except (OSError, ValueError):
            continue
        state["key"] = paths.key
        state["alive"] = _pid_alive(int(state.get("pid", 0) or 0))
        state["running"] = []
        if state["alive"]:
            sock = _dial(Path(state["socket"]))
            if sock is not None:
                conn = RunnerConnection(sock, paths)
                try:
                    conn.send({"op": "hello"})
                    for event in conn.events():
                        state["running"] = event.get("running", [])
                except RunnerError:
                    pass
                finally:
                    conn.close()
        found.append(state)
    return found


def stop_runners(data_dir: Path, *, timeout: float = 120.0) -> list[dict[str, Any]]:
    """Ask every live runner of ``data_dir`` to stop (runs stop after the item in flight)."""
    stopped = []
    for state in runner_status(data_dir):
        if not state["alive"]:
            try:
                Path(data_dir).joinpath("runner", f"{state['key']}.json").unlink()
            except OSError:
                pass
            continue
        pid = int(state["pid"])
        sock = _dial(Path(state["socket"]))
        if sock is not None:
            conn = RunnerConnection(sock, RunnerPaths(Path(data_dir), state["key"]))
            try:
                conn.send({"op": "shutdown"})
                list(conn.events())
            except RunnerError:
                pass
            finally:
                conn.close()
        else:
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        stopped.append(state)
    return stopped
