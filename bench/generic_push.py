"""Generic Importer push speed: ferry's importer (and the engine) against a plain keep-alive httpx loop.

Starts the reference destination as its own process (``ferry serve-destination``), then sends the
same kind of items (small files, multipart to ``/blobs``, as a folder source sends them) to it in several ways and prints items/s for each and
the ratio to the faster plain loop (issue 11's goal: ferry >= 0.8x):

* plain httpx loop: one ``httpx.Client`` (keep-alive), bodies built beforehand, one POST after
  the other; once with httpx's default transport and once with TCP_NODELAY;
* GenericImporter: ``import_page`` in pages of 200, one request at a time and ``--concurrency``
  at once (serialising, multipart streaming, hashing, outcomes);
* engine: ``run_job`` without Prefect (plain steps) from a folder of as many files to the same
  destination: ledger intents and outcomes, cursors, the lookup-backed exactly-once path. Timed
  over its page steps (export, convert, import), not the job's set-up and end (the run report
  imports Prefect once per process; bench/compare.py measures whole commands).

Every run sends new items (names carry the run), so the destination stores each one.

    .venv/bin/python bench/generic_push.py --items 1000 --size 2048 --concurrency 4 --repeat 3
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TOKEN = "bench-" + uuid.uuid4().hex


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_destination(root: Path):
    import httpx

    port = free_port()
    env = {**os.environ, "FERRY_BENCH_TOKEN": TOKEN, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "ferry", "serve-destination", str(root), "--port", str(port), "--static-token-env", "FERRY_BENCH_TOKEN"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    origin = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(origin + "/", timeout=2).status_code == 200:
                return process, origin
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the reference destination did not start")


def files(run: str, count: int, size: int):
    """``count`` File items in ten folders (what a folder source sends to ``/blobs``)."""
    from connectors.models import File

    when = datetime(2024, 1, 1, tzinfo=UTC)
    return [
        File(id=f"{run}-{n}", folder=f"/{run}/d{n % 10}", name=f"f{n:05d}.bin", modified=when, size=size, ref=str(n))
        for n in range(count)
    ]  # fmt: skip


def payload(item, size: int) -> bytes:
    return (item.id.encode() * (size // len(item.id) + 1))[:size]


def plain_loop(base: str, items, size: int, *, nodelay: bool) -> float:
    """Items/s of a sequential keep-alive httpx loop with bodies built beforehand."""
    import httpx

    from connectors.generic.multipart import ByteSource, MultipartBody
    from connectors.generic.wire import envelope_bytes
    from connectors.http import nodelay_transport

    requests = []
    for item in items:
        data = payload(item, size)
        body = MultipartBody(envelope_bytes(item), item.mime_type, ByteSource(item.id, len(data), lambda d=data: io.BytesIO(d)))
        requests.append((b"".join(body), body.content_type))
    headers = {"Authorization": f"Bearer {TOKEN}", "X-DTP-Export-Service": "bench", "X-DTP-Job-Id": str(uuid.uuid4())}
    transport = nodelay_transport() if nodelay else None
    with httpx.Client(transport=transport) as client:
        started = time.perf_counter()
        for content, content_type in requests:
            answer = client.post(base + "/blobs", content=content, headers={**headers, "Content-Type": content_type})
            assert answer.status_code == 201, answer.text
        return len(requests) / (time.perf_counter() - started)


def importer_push(base: str, items, size: int, *, concurrency: int) -> float:
    from connectors.auth import StaticTokenSource
    from connectors.base import ImportContext, Outcome
    from connectors.generic.client import GenericClient
    from connectors.generic.importer import GenericImporter
    from connectors.http import HttpSettings

    client = GenericClient(base, StaticTokenSource(TOKEN), settings=HttpSettings(connections=max(2, concurrency)))
    ctx = ImportContext(open_bytes=lambda item: io.BytesIO(payload(item, size)), job_id=str(uuid.uuid4()), export_service="bench")
    with GenericImporter(client, concurrency=concurrency, lookup=True) as importer:
        started = time.perf_counter()
        for start in range(0, len(items), 200):
            for outcome in importer.import_page(items[start : start + 200], ctx):
                assert outcome.status is Outcome.IMPORTED, outcome.error
        return len(items) / (time.perf_counter() - started)


def engine_push(tmp: Path, origin: str, count: int, size: int, concurrency: int) -> tuple[float, int]:
    """Items/s of run_job (no Prefect) from a folder of ``count`` files; returns (rate, items)."""
    import httpx

    from connectors.oauth import OAuthClient, authorize_interactively, build_client_config, discover
    from dataclasses import replace

    from flows.context import open_context
    from flows.engine import PLAIN_STEPS, run_job
    from flows.requests import create_job

    source = tmp / "engine-src"
    for n in range(count):
        folder = source / f"d{n % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{n:05d}.bin").write_bytes(bytes([n % 256]) * size)
    ctx = open_context(data_dir=tmp / "data")
    config = build_client_config(client_id="ferry", metadata=discover(origin))
    tokens = authorize_interactively(OAuthClient(config), open_url=lambda url: httpx.get(url, follow_redirects=True), timeout=30)
    credential = ctx.credentials.create("generic", tokens, config).id
    job = create_job(ctx, f"folder:{source}", f"generic:{origin}/dtp", ["blobs"], destination_credential_id=credential,
                     options={"generic": {"concurrency": str(concurrency)}})  # fmt: skip
    spent = [0.0]

    def timed(step):
        def run(*args):
            started = time.perf_counter()
            try:
                return step(*args)
            finally:
                spent[0] += time.perf_counter() - started

        return run

    steps = replace(PLAIN_STEPS, export=timed(PLAIN_STEPS.export), convert=timed(PLAIN_STEPS.convert), import_=timed(PLAIN_STEPS.import_))
    summary = run_job(ctx, job.id, steps)
    assert summary.state == "COMPLETE" and summary.failed == 0, summary
    return summary.imported / spent[0], summary.imported  # files and their ten folders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--size", type=int, default=2048, help="bytes per file")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--no-engine", action="store_true", help="skip the engine row")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; each way's best is printed")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="ferry-bench-push-"))
    process, origin = start_destination(tmp / "received")
    base = origin + "/dtp"
    label = f"GenericImporter, {args.concurrency} at once"
    ways = {
        "plain httpx loop (default transport)": lambda run: plain_loop(base, files(run, args.items, args.size), args.size, nodelay=False),
        "plain httpx loop (TCP_NODELAY)": lambda run: plain_loop(base, files(run, args.items, args.size), args.size, nodelay=True),
        "GenericImporter, 1 at a time": lambda run: importer_push(base, files(run, args.items, args.size), args.size, concurrency=1),
        label: lambda run: importer_push(base, files(run, args.items, args.size), args.size, concurrency=args.concurrency),
    }
    if not args.no_engine:
        ways[f"engine (run_job, ledger, {args.concurrency} at once)"] = (
            lambda run: engine_push(tmp / run, origin, args.items, args.size, args.concurrency)[0]
        )
    best: dict[str, float] = {}
    try:
        plain_loop(base, files("warm", 50, args.size), args.size, nodelay=True)  # warm the server up
        for round_ in range(args.repeat):  # rounds interleave the ways, so load from elsewhere hits all alike
            for n, (name, way) in enumerate(ways.items()):
                best[name] = max(best.get(name, 0.0), way(f"r{round_}w{n}"))
    finally:
        process.terminate()
        process.wait(timeout=30)
    names = list(ways)
    best_plain = max(best[names[0]], best[names[1]])
    print(f"{args.items} files of {args.size} bytes to the reference Generic Importer ({origin}, own process), "
          f"{os.cpu_count()} cores, best of {args.repeat}")  # fmt: skip
    print(f"{'how':48} {'items/s':>9} {'vs plain':>9}")
    for name in names:
        print(f"{name:48} {best[name]:9.1f} {best[name] / best_plain:8.2f}x")


if __name__ == "__main__":
    main()
