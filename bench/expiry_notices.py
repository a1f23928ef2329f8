"""How fast `ferry serve-expiry-notices` answers Meta's webhook, as a user runs it: figures, not assertions.

Starts the real command (a subprocess on SQLite, or the store named by FERRY_DATABASE_URL) over a
job store holding ``--credentials`` credentials with provider user ids, then posts ``--deliveries``
signed Meta Webhooks envelopes (``--changes`` migration_expire_time changes each, half of them
naming users ferry does not know, every tenth one a repeat) from ``--clients`` threads, and
prints deliveries per second, answer latency (p50/p95/max) and the server's peak RSS. Meta asks
for a quick 200; repeats and unknown users must be 200 too.

    .venv/bin/python bench/expiry_notices.py --credentials 200 --deliveries 400 --changes 5 --clients 4
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

APP_SECRET = "bench-app-secret"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rss_peak(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` (robust to a machine shared with other work)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--credentials", type=int, default=200)
    parser.add_argument("--deliveries", type=int, default=400)
    parser.add_argument("--changes", type=int, default=5, help="changes per delivery")
    parser.add_argument("--clients", type=int, default=4, help="delivering threads")
    args = parser.parse_args()

    import httpx
    from cryptography.fernet import Fernet

    from connectors.meta.webhooks import SIGNATURE_HEADER, signature_header
    from connectors.oauth import build_client_config
    from flows.context import open_context

    tmp = Path(tempfile.mkdtemp(prefix="ferry-bench-notices-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FERRY_", "PREFECT_API_URL"))}
    env.update(FERRY_DATA_DIR=str(tmp / "data"), FERRY_SECRET_KEY=Fernet.generate_key().decode(), FERRY_META_APP_SECRET=APP_SECRET,
               FERRY_META_VERIFY_TOKEN="v", PYTHONPATH=str(ROOT))
    if os.environ.get("FERRY_DATABASE_URL"):
        env["FERRY_DATABASE_URL"] = os.environ["FERRY_DATABASE_URL"]
    overrides = {"database_url": env["FERRY_DATABASE_URL"]} if "FERRY_DATABASE_URL" in env else {}
    ctx = open_context(data_dir=tmp / "data", secret_key=env["FERRY_SECRET_KEY"], **overrides)
    config = build_client_config(client_id="meta-app", client_secret="s", token_endpoint="http://127.0.0.1:9/token")
    for n in range(args.credentials):
        ctx.credentials.create("meta-graph", {"access_token": f"token-{n:06d}"}, config, account=f"{4_000_000_000 + n}")

    port = _free_port()
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "ferry", "serve-expiry-notices", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/notices/expiry"
    try:
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.perf_counter() - started > 120:
                raise SystemExit("serve-expiry-notices did not start")
            time.sleep(0.05)
        ready = time.perf_counter() - started
        rss_idle = _rss_peak(proc.pid)

        base = datetime.now(timezone.utc) + timedelta(days=20)
        bodies = []
        for d in range(args.deliveries):
            if d % 10 == 9:
                bodies.append(bodies[-1])  # a repeated delivery
                continue
            changes = []
            for c in range(args.changes):
                known = (d * args.changes + c) % 2 == 0
                user = f"{4_000_000_000 + (d * args.changes + c) % args.credentials}" if known else f"{9_000_000_000 + d * args.changes + c}"
                when = (base + timedelta(minutes=d)).strftime("%Y-%m-%dT%H:%M:%SZ")
                changes.append({"field": "migration_expire_time", "value": {"user_id": user, "migration_expire_time": when}})
            bodies.append(json.dumps({"object": "user", "entry": [{"id": "0", "time": int(time.time()), "changes": changes}]}).encode())

        latencies: list[float] = []
        statuses: list[int] = []
        lock = threading.Lock()
        queue = list(enumerate(bodies))

        def deliver() -> None:
            with httpx.Client(timeout=60) as client:
                while True:
                    with lock:
                        if not queue:
                            return
                        _, body = queue.pop()
                    t0 = time.perf_counter()
                    answer = client.post(url, content=body, headers={SIGNATURE_HEADER: signature_header(body, APP_SECRET), "Content-Type": "application/json"})
                    with lock:
                        latencies.append(time.perf_counter() - t0)
                        statuses.append(answer.status_code)

        cpu0 = _cpu_seconds(proc.pid)
        t0 = time.perf_counter()
        threads = [threading.Thread(target=deliver) for _ in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        cpu = _cpu_seconds(proc.pid) - cpu0
        rss_peak = _rss_peak(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)

    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(f"serve-expiry-notices ({ctx.settings.resolved_database_url.split(':')[0]}): ready in {ready:.1f} s, {args.credentials} credentials")
    print(f"{len(bodies)} signed deliveries x {args.changes} changes from {args.clients} clients in {elapsed:.1f} s: {len(bodies) / elapsed:.0f} deliveries/s")
    print(f"latency p50 {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms")
    print(f"server CPU: {cpu:.1f} s in all, {cpu / len(bodies) * 1000:.0f} ms per delivery; load average {os.getloadavg()[0]:.1f}")
    print(f"answers: {', '.join(f'{s}: {statuses.count(s)}' for s in sorted(set(statuses)))}")
    print(f"server peak RSS: {rss_idle / 2**20:.0f} MiB idle -> {rss_peak / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
