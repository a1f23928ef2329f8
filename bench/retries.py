"""How the engine rides out a throttling, flaky destination: figures, not assertions.

Runs the engine (no Prefect: flows.engine.PLAIN_STEPS, the real clock) from a folder of small
files to the reference Generic Importer (in this process) while the destination answers some
requests 429 with Retry-After and some 503, and prints what the engine did: attempts, waits
(each never shorter than Retry-After), repeats seen by the destination, and the outcome.

    .venv/bin/python bench/retries.py --files 60 --rate-limited 4 --retry-after 2 --server-errors 6
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=60)
    parser.add_argument("--rate-limited", type=int, default=4, help="requests answered 429")
    parser.add_argument("--retry-after", default="2", help="Retry-After value of those answers")
    parser.add_argument("--server-errors", type=int, default=6, help="requests answered 503")
    args = parser.parse_args()

    from connectors.oauth import build_client_config, discover
    from ferry.servers.destination.app import create_app
    from ferry.servers.threaded import ThreadedServer
    from ferry.servers.destination.tokens import TokenRegistry
    from flows.context import open_context
    from flows.engine import run_job
    from flows.requests import create_job
    from flows.runtime import open_runtime

    tmp = Path(tempfile.mkdtemp(prefix="ferry-bench-retries-"))
    source = tmp / "src"
    for n in range(args.files):
        (source / f"d{n % 3}").mkdir(parents=True, exist_ok=True)
        (source / f"d{n % 3}" / f"f{n:03d}.bin").write_bytes(bytes([n % 256]) * 2000)
    registry = TokenRegistry(access_lifetime=3600)
    app = create_app(str(tmp / "received"), registry=registry, client_id="ferry", client_secret="s")
    with ThreadedServer(app) as server:
        ctx = open_context(data_dir=tmp / "data")
        client = build_client_config(client_id="ferry", client_secret="s", metadata=discover(server.url))
        credential = ctx.credentials.create("generic", {**registry.issue("alice", client_id="ferry"), "token_type": "Bearer"}, client).id
        job = create_job(ctx, f"folder:{source}", f"generic:{server.url}/dtp", destination_credential_id=credential)
        knobs = app.state.importer.knobs
        knobs.rate_limit_next, knobs.retry_after, knobs.server_errors_next = args.rate_limited, args.retry_after, args.server_errors
        runtime = open_runtime(ctx, job.id)
        started = time.monotonic()
        summary = run_job(ctx, job.id)
        elapsed = time.monotonic() - started
        api = app.state.importer
        statuses = [r.status for r in api.received]
    waits = runtime.budget.log
    print(f"{args.files} files to the reference Generic Importer; injected {args.rate_limited} x 429 (Retry-After {args.retry_after}) and {args.server_errors} x 503")
    print(f"outcome: {summary.state}, imported {summary.imported}, failed {summary.failed}, repeats seen by the destination {len(api.repeats)}")
    print(f"requests: {len(statuses)} ({statuses.count(429)} x 429, {statuses.count(503)} x 503, {statuses.count(201)} x 201)")
    print(f"engine retries: {len(waits)}, waited {sum(w for w, _ in waits):.2f} s in all, run took {elapsed:.2f} s")
    for seconds, reason in waits:
        print(f"  waited {seconds:5.2f} s  <- {reason[:110]}")


if __name__ == "__main__":
    main()
