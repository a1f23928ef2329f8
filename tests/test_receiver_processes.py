"""The receivers as the user runs them (``ferry serve-*`` subprocesses): memory under 50 MB bodies, clean exit.

Figures come from /proc: the server's peak RSS (VmHWM) before and after eight 50 MB bodies at
once (four announced by Content-Length and streamed anyway, four chunked). Before the bounded
receivers, four such bodies took ``ferry serve-webhooks`` to 514 MB.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port, wait_for_http
from tests.hostile.requests import MB, chunked, request_head, send_raw, zeros

ROOT = Path(__file__).resolve().parents[1]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "FERRY_", "DO_NOT_TRACK"))}
    env.update(FERRY_DATA_DIR=str(tmp_path / "data"), PYTHONUNBUFFERED="1", **extra)
    return env


def _status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} for {pid}")


COMMANDS = {
    "serve-webhooks": (["serve-webhooks", "--client-key", "ck", "--client-secret", "cs"], "/healthz", "/webhooks/tiktok", {}, {}),
    "serve-expiry-notices": (["serve-expiry-notices"], "/health", "/notices/expiry", {"FERRY_NOTICE_SECRET": "n0tice"}, {"Authorization": "Bearer n0tice"}),
    "serve-destination": (["serve-destination", "{tmp}/dest"], "/", "/dtp/social-posts", {}, {"Authorization": "Bearer x"}),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_fifty_megabyte_bodies_do_not_grow_the_server(command, tmp_path):
    args, health, path, extra, auth = COMMANDS[command]
    port = free_port()
    argv = [sys.executable, "-m", "ferry", *(a.format(tmp=tmp_path) for a in args), "--port", str(port)]
    proc = subprocess.Popen(argv, env=_env(tmp_path, **extra), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_http(f"http://127.0.0.1:{port}{health}", timeout=60, proc=proc)
        before = _status(proc.pid, "VmHWM")
        answers = []
        head = lambda **h: request_head("POST", path, f"127.0.0.1:{port}", {"Content-Type": "application/json", **auth, **h})  # noqa: E731

        def announced() -> None:
            answers.append(send_raw(("127.0.0.1", port), head(**{"Content-Length": str(50 * MB)}), zeros(50 * MB)))

        def streamed() -> None:
            answers.append(send_raw(("127.0.0.1", port), head(**{"Transfer-Encoding": "chunked"}), chunked(zeros(50 * MB))))

        threads = [threading.Thread(target=t) for t in [announced] * 4 + [streamed] * 4]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        after = _status(proc.pid, "VmHWM")
        assert proc.poll() is None, "the server died"
        assert sorted(a.status for a in answers) == [413] * 8, [a.raw[:120] for a in answers]
        sent = sum(a.body_bytes_sent for a in answers)
        growth = after - before
        print(f"{command}: peak RSS {before / MB:.0f} MB -> {after / MB:.0f} MB for 8 x 50 MB bodies ({sent / MB:.0f} MB left the clients)")
        assert growth < 30 * MB, f"peak RSS grew by {growth / MB:.0f} MB"
        assert httpx.get(f"http://127.0.0.1:{port}{health}").status_code == 200  # still serving
    finally:
        proc.terminate()
        proc.wait(30)


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.mark.stack  # the resume starts a temporary Prefect server
def test_serve_webhooks_sends_no_telemetry_and_leaves_no_prefect_server_after_sigterm(tmp_path):
    """A webhook wakes a waiting job; resuming it without a Prefect API starts a temporary server; SIGTERM stops both."""
    from connectors.tiktok.webhooks import signature_header
    from flows.store import JobState, JobStore, get_engine

    data = tmp_path / "data"
    store = JobStore(get_engine(f"sqlite:///{data / 'ferry.db'}", create=True))
    job = store.create(source="tiktok:", destination=f"folder:{tmp_path / 'out'}", types=["videos"])
    store.transition(job.id, JobState.RUNNING)
    store.transition(job.id, JobState.WAITING, "the export is being prepared", wake_key="42")
    port = free_port()
    argv = [sys.executable, "-m", "ferry", "serve-webhooks", "--port", str(port), "--client-key", "ck", "--client-secret", "cs"]
    proc = subprocess.Popen(argv, env=_env(tmp_path), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    servers: list[int] = []
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout=60, proc=proc)
        now = int(time.time())
        body = json.dumps({"client_key": "ck", "event": "portability.download.ready", "create_time": now, "content": json.dumps({"request_id": 42})}).encode()
        answer = httpx.post(f"http://127.0.0.1:{port}/webhooks/tiktok", content=body, headers={"TikTok-Signature": signature_header(body, "cs", now)})
        assert answer.json() == {"status": "accepted"}
        deadline = time.monotonic() + 180
        while not servers:
            assert time.monotonic() < deadline and proc.poll() is None, "the resume never started a Prefect server"
            servers = [p for p in _children(proc.pid) if "prefect.server" in _cmdline(p)]
            time.sleep(0.2)
        environ = Path(f"/proc/{servers[0]}/environ").read_bytes().split(b"\0")
        assert b"DO_NOT_TRACK=1" in environ
        assert any(v.lower() == b"prefect_server_analytics_enabled=false" for v in environ)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 128 + signal.SIGTERM
        deadline = time.monotonic() + 60
        while any(Path(f"/proc/{p}").exists() and "prefect.server" in _cmdline(p) for p in servers):
            assert time.monotonic() < deadline, "the temporary Prefect server outlived ferry serve-webhooks"
            time.sleep(0.2)
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in servers:  # only the server this test's ferry started
            if Path(f"/proc/{pid}").exists() and "prefect.server" in _cmdline(pid):
                os.kill(pid, signal.SIGKILL)
