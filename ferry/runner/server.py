"""The runner process: a Unix socket, one thread per request, one Prefect server child.

Start-up (``python -m ferry.runner --data-dir D --key K --idle S``, spawned by the CLI in a
session of its own, so a Ctrl-C in the terminal does not reach it):

1. take the runner's lock (``<data_dir>/runner/K.lock``); another runner holding it means this
   one is not needed, and it exits 0;
2. without ``PREFECT_API_URL``, open a listening TCP socket on 127.0.0.1 and start the Prefect
   server child on it (:mod:`.prefect_child`, which dies with this process), then wait for its
   health check; with ``PREFECT_API_URL``, use that server;
3. import the ``transfer`` flow (Prefect, once), bind the socket (0600, in a 0700 folder; every
   client's uid is checked with SO_PEERCRED), write the state file, serve.

It exits after ``--idle`` seconds without a request or a run, as soon as its data directory is
removed, on ``{"op": "shutdown"}`` (``ferry server stop``) and on SIGTERM/SIGINT: runs in flight
stop after their item in flight (resumable), the Prefect child is stopped, the socket and the
state file are removed. After ``kill -9`` the child dies by itself and the next command starts a
new runner (the lock died with the old one).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import logging
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

from .paths import RunnerPaths
from .protocol import ProtocolError, encode, read_message

log = logging.getLogger("ferry.runner")

#: How long a shutdown waits for runs to stop after their item in flight.
STOP_GRACE = 60.0
#: How long the Prefect child may take to answer its health check (a fresh database migrates).
PREFECT_START_TIMEOUT = 240.0


class PrefectChild:
    """The Prefect server this runner owns (when no PREFECT_API_URL was given), with its UI."""

    def __init__(self, home: Path, log_file):
        from .prefect_child import child_environment, ui_enabled

        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        #: a fresh data dir: Prefect creates its database (migrations) on this start, once
        self.new_database = not (home / "prefect.db").exists()
        env = child_environment(os.environ, str(home), self.port)
        self.ui_url = f"http://127.0.0.1:{self.port}/" if ui_enabled(env) else None
        # started from the main thread, which lives as long as the process: the parent-death
        # signal fires when the *thread* that forked the child ends
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ferry.runner.prefect_child", str(self.listener.fileno()), str(os.getpid())],
            pass_fds=(self.listener.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
            env=env,
        )

    def wait_ready(self, timeout: float = PREFECT_START_TIMEOUT) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the Prefect server exited with {self.proc.returncode} while starting")
            try:
                if httpx.get(self.api_url + "/health", timeout=2).status_code == 200:
                    self.listener.close()  # the child has its own copy
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the Prefect server did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        try:
            self.listener.close()
        except OSError:
            pass


class Runner:
    def __init__(self, paths: RunnerPaths, idle: float, api_url: str, child: PrefectChild | None, service, *, startup: dict | None = None):
        self.paths, self.idle, self.api_url, self.child, self.service = paths, idle, api_url, child, service
        #: where this runner's start went (seconds), for ``ferry server start|status`` and the bench
        self.startup = startup or {}
        self.stopping = threading.Event()
        self._active = 0
        self._active_lock = threading.Lock()
        self._last_activity = time.monotonic()
        self._threads: list[threading.Thread] = []
        self.sock: socket.socket | None = None

    # -- life cycle -------------------------------------------------------------------------

    def bind(self) -> None:
        path = self.paths.socket
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            sock.bind(str(path))
        finally:
            os.umask(old)
        os.chmod(path, 0o600)
        sock.listen(64)
        sock.settimeout(0.5)
        self.sock = sock
        state = {
            "pid": os.getpid(),
            "socket": str(path),
            "api_url": self.api_url,
            "ui_url": ui_url(self.api_url, self.child),
            "own_prefect_server": self.child is not None,
            "prefect_pid": self.child.proc.pid if self.child else None,
            "idle_seconds": self.idle,
            "started_at": time.time(),
            "startup": self.startup,
            "log": str(self.paths.log),
        }
        tmp = self.paths.state.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(self.paths.state)

    def serve(self) -> None:
        assert self.sock is not None
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                if self._idle_for() > self.idle or not self.paths.data_dir.exists() or (self.child and self.child.proc.poll() is not None):
                    break
                continue
            except OSError:
                if self.stopping.is_set():
                    break
                raise
            thread = threading.Thread(target=self._connection, args=(conn,), name="ferry-request", daemon=True)
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            thread.start()
        self.shutdown()

    def _idle_for(self) -> float:
        with self._active_lock:
            return 0.0 if self._active else time.monotonic() - self._last_activity

    def shutdown(self) -> None:
        """Stop runs after their item in flight, wait for them, stop Prefect, remove our files."""
        from flows.runtime import stop_all

        self.stopping.set()
        stop_all()
        deadline = time.monotonic() + STOP_GRACE
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        for path in (self.paths.socket, self.paths.state):
            try:
                if path == self.paths.socket or json.loads(path.read_text()).get("pid") == os.getpid():
                    path.unlink()
            except (OSError, ValueError):
                pass
        if self.sock is not None:
            self.sock.close()
        if self.child is not None:
            self.child.stop()

    # -- one connection ---------------------------------------------------------------------

    def _connection(self, conn: socket.socket) -> None:
        from .service import StopLink

        with self._active_lock:
            self._active += 1
        try:
            with conn:
                if not _same_user(conn):
                    return
                conn.settimeout(None)
                stream = conn.makefile("rb")
                send_lock = threading.Lock()
                link = StopLink()

                def emit(event: dict) -> None:
                    with send_lock:
                        try:
                            conn.sendall(encode(event))
                        except OSError:
                            link.stop()  # the client is gone: stop its run

                try:
                    request = read_message(stream)
                except (ProtocolError, OSError):
                    return
                if request is None:
                    return
                op = request.get("op")
                if op == "hello":
                    emit({"event": "hello", "pid": os.getpid(), "api_url": self.api_url, "running": self.service.running(), "idle_seconds": self.idle})
                    return
                if op == "shutdown":
                    emit({"event": "bye", "running": self.service.running()})
                    self.stopping.set()
                    return
                threading.Thread(target=_watch_client, args=(stream, link), name="ferry-client-watch", daemon=True).start()
                self.service.handle(request, emit, link)
        finally:
            with self._active_lock:
                self._active -= 1
                self._last_activity = time.monotonic()


def ui_url(api_url: str, child: PrefectChild | None) -> str | None:
    """Where a browser shows this runner's flow runs: its own server's UI, or the given server's
    (``PREFECT_UI_URL``, else the API URL without ``/api``)."""
    if child is not None:
        return child.ui_url
    given = os.environ.get("PREFECT_UI_URL")
    if given:
        return given
    return api_url.rstrip("/").removesuffix("/api") + "/" if api_url.rstrip("/").endswith("/api") else None


def _watch_client(stream, link) -> None:
    """Reads the client's messages during a run: ``stop``, or end of stream (it went away)."""
    while True:
        try:
            message = read_message(stream)
        except (ProtocolError, OSError, ValueError):
            message = None
        if message is None or message.get("op") == "stop":
            link.stop()
            if message is None:
                return


def _same_user(conn: socket.socket) -> bool:
    """Only processes of this user may talk to the runner (the socket is 0600 too)."""
    try:
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except (OSError, AttributeError):
        return True  # no SO_PEERCRED here: the socket's mode and folder protect it
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid == os.getuid()


def _take_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ferry.runner", description="ferry's background runner (started by the ferry CLI).")
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--key", required=True)
    parser.add_argument("--idle", type=float, default=300.0)
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    paths = RunnerPaths(args.data_dir.resolve(), args.key)
    lock = _take_lock(paths.lock)
    if lock is None:
        return 0  # a runner for this key is alive (or starting): the client will find it
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from ferry.prefect_env import quiet_prefect_defaults

    quiet_prefect_defaults(paths.data_dir / "prefect", log_level=args.log_level.upper())
    child = None
    stop_now = threading.Event()

    def on_signal(signum, _frame) -> None:
        stop_now.set()
        if runner is not None:
            runner.stopping.set()
        else:
            raise SystemExit(128 + signum)

    runner: Runner | None = None
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    began = time.perf_counter()
    startup: dict = {}
    try:
        api_url = os.environ.get("PREFECT_API_URL")
        if not api_url:
            # the server starts in its own process while this one imports Prefect's client and
            # the flow (both take seconds; on two cores they overlap)
            child = PrefectChild(paths.data_dir / "prefect", sys.stderr)
            api_url = child.api_url
            os.environ["PREFECT_API_URL"] = api_url
            startup["new_prefect_database"] = child.new_database
        import flows.transfer  # noqa: F401  (Prefect and the flow, imported once for every request)

        startup["flow_imported_s"] = round(time.perf_counter() - began, 2)
        if child is not None:
            child.wait_ready()
            startup["prefect_ready_s"] = round(time.perf_counter() - began, 2)
        from .service import TransferService

        heartbeat = "PREFECT_FLOWS_HEARTBEAT_FREQUENCY" in os.environ
        startup["total_s"] = round(time.perf_counter() - began, 2)
        print(f"ferry.runner: started in {startup['total_s']:.1f} s: {json.dumps(startup)}", file=sys.stderr, flush=True)
        runner = Runner(paths, args.idle, api_url, child, TransferService(heartbeat=heartbeat), startup=startup)
        runner.bind()
        if stop_now.is_set():
            runner.stopping.set()
        runner.serve()
        return 0
    except SystemExit:
        raise
    except Exception:
        log.exception("the runner could not start")
        return 1
    finally:
        if runner is None and child is not None:
            child.stop()
        lock.close()
